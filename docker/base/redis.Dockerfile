# Stand-in for redis:7-bookworm, built from Debian packages only (redis 7.0).
# Like the official image: runs as user redis in /data (a volume), protected
# mode off (the container network is the boundary), so
# `redis-server --appendonly yes` keeps its AOF in the volume.
ARG BASE_IMAGE=rekap-base/debian:bookworm
FROM ${BASE_IMAGE}
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends redis-server redis-tools; \
    rm -rf /var/lib/apt/lists/*; \
    mkdir -p /data; chown redis:redis /data; \
    redis-server --version
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /data
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
LABEL org.opencontainers.image.description="rekap stand-in for redis:7-bookworm (Debian redis-server 7.0)"
