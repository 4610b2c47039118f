#!/usr/bin/env bash
# Official-image-compatible entrypoint for the postgres stand-in (the parts
# rekap uses). See postgres.Dockerfile.
set -Eeuo pipefail

log() { echo "docker-entrypoint: $*"; }

if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
    echo >&2 "docker-entrypoint: error: database is uninitialized and POSTGRES_PASSWORD is not set"
    echo >&2 "  (set POSTGRES_PASSWORD, or POSTGRES_HOST_AUTH_METHOD=trust for throwaway use)"
    exit 1
  fi
  log "initdb in $PGDATA (user $user, database $db)"
  pwfile=$(mktemp)
  printf '%s\n' "${POSTGRES_PASSWORD:-}" > "$pwfile"
  initdb --pgdata="$PGDATA" --username="$user" --pwfile="$pwfile" \
         --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host="$auth" \
         ${POSTGRES_INITDB_ARGS:-} >/dev/null
  rm -f "$pwfile"
  printf '\nhost all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"
  printf "\nlisten_addresses = '*'\n" >> "$PGDATA/postgresql.conf"

  # Create the database and run init scripts on a socket-only server.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" -w start >/dev/null
  export PGUSER=$user PGHOST=/var/run/postgresql
  if [ "$db" != postgres ]; then
    log "create database $db"
    psql -v ON_ERROR_STOP=1 --dbname postgres --set db="$db" -q <<'SQL'
SELECT format('CREATE DATABASE %I', :'db') \gexec
SQL
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh)  log "running $f"; . "$f" ;;
      *.sql) log "running $f"; psql -v ON_ERROR_STOP=1 --dbname "$db" -f "$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | psql -v ON_ERROR_STOP=1 --dbname "$db" ;;
      *) ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  unset PGUSER PGHOST
  log "init complete; ready for start up"
fi

exec "$@"
