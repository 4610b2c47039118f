#!/bin/sh
# Official-image-compatible entrypoint for the redis stand-in.
set -e
# `docker run img --appendonly yes` or `img /path/redis.conf` -> redis-server ...
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi
if [ "$1" = redis-server ]; then
  # Protected mode refuses clients from other containers when no password
  # is set; the official image compiles it off. Do the same unless asked.
  case " $* " in
    *" --protected-mode "*) ;;
    *) shift; set -- redis-server --protected-mode no "$@" ;;
  esac
  if [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' + 2>/dev/null || true
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
