# Stand-in for postgres:16-bookworm, built from Debian packages only.
# Debian bookworm ships PostgreSQL 15, not 16. The entrypoint does what
# rekap uses of the official one: POSTGRES_USER / POSTGRES_PASSWORD /
# POSTGRES_DB create the role and database on first start, data lives in
# $PGDATA (a volume), the server listens on all addresses, password auth
# (scram-sha-256) from the network, pg_isready and psql on PATH, and
# /docker-entrypoint-initdb.d/*.sql|*.sh run once.
ARG BASE_IMAGE=rekap-base/debian:bookworm
FROM ${BASE_IMAGE}
ENV PG_MAJOR=15
RUN set -eux; \
    mkdir -p /etc/postgresql-common; \
    echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf; \
    apt-get update; \
    apt-get install -y --no-install-recommends postgresql-$PG_MAJOR postgresql-client-$PG_MAJOR tzdata; \
    rm -rf /var/lib/apt/lists/*; \
    mkdir -p /var/run/postgresql /var/lib/postgresql/data /docker-entrypoint-initdb.d; \
    chown -R postgres:postgres /var/run/postgresql /var/lib/postgresql; \
    chmod 3777 /var/run/postgresql; chmod 700 /var/lib/postgresql/data
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
LABEL org.opencontainers.image.description="rekap stand-in for postgres:16-bookworm (Debian postgresql-15)"
