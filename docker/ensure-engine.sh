#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine (CI calls this).
#
# - installs docker.io, docker-compose and debootstrap from Debian if missing;
# - starts dockerd in the background (log: $DOCKERD_LOG, default
#   /tmp/dockerd.log; pid in /tmp/dockerd.pid) when `docker info` fails;
# - waits until `docker info` works (up to $ENGINE_TIMEOUT s, default 90);
# - exits non-zero, loudly, when the engine truly cannot run here.
# Idempotent: with an engine already up it only says so.
set -Eeuo pipefail

LOG=${DOCKERD_LOG:-/tmp/dockerd.log}
PIDFILE=${DOCKERD_PIDFILE:-/tmp/dockerd.pid}
TIMEOUT=${ENGINE_TIMEOUT:-90}

say() { printf '\033[1m[ensure-engine]\033[0m %s\n' "$*"; }
fail() {
  {
    echo
    echo "########################################################################"
    echo "## [ensure-engine] THE DOCKER ENGINE CANNOT RUN HERE"
    echo "## $*"
    if [ -f "$LOG" ]; then echo "## last lines of $LOG:"; tail -25 "$LOG" | sed 's/^/##   /'; fi
    echo "########################################################################"
  } >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else fail "need root for: $*"
  fi
}

engine_up() { timeout 10 docker info >/dev/null 2>&1; }

# 1. packages
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
  missing+=(docker-compose)
fi
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  say "installing from Debian: $pkgs"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq || fail "apt-get update failed"
  # shellcheck disable=SC2086
  as_root apt-get install -y -qq --no-install-recommends $pkgs iptables >/dev/null \
    || fail "apt-get install $pkgs failed"
fi

# 2. the engine
if engine_up; then
  say "engine is up: $(docker version --format 'server {{.Server.Version}}, client {{.Client.Version}}' 2>/dev/null || echo ok)"
  exit 0
fi

if pid=$(pgrep -x dockerd 2>/dev/null | head -1) && [ -n "$pid" ]; then
  say "dockerd (pid $pid) is running but not answering yet; waiting"
else
  # A stale pid file from a stopped session keeps dockerd from starting.
  for f in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
    if [ -f "$f" ] && ! kill -0 "$(cat "$f" 2>/dev/null)" 2>/dev/null; then
      as_root rm -f "$f"
    fi
  done
  say "starting dockerd in the background (log: $LOG)"
  as_root bash -c "nohup setsid dockerd >>'$LOG' 2>&1 </dev/null & echo \$! > '$PIDFILE'"
  say "dockerd pid $(cat "$PIDFILE" 2>/dev/null || echo '?')"
fi

for _ in $(seq "$TIMEOUT"); do
  if engine_up; then
    say "engine is up: $(docker version --format 'server {{.Server.Version}}, client {{.Client.Version}}' 2>/dev/null || echo ok)"
    exit 0
  fi
  if [ -f "$PIDFILE" ] && ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null && ! pgrep -x dockerd >/dev/null 2>&1; then
    fail "dockerd exited during start-up"
  fi
  sleep 1
done
fail "no answer from 'docker info' after ${TIMEOUT}s"
