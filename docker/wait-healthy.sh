#!/usr/bin/env bash
# Wait until every container of the named compose services is healthy.
#   COMPOSE="docker-compose -p rekap" docker/wait-healthy.sh [-t SECONDS] SERVICE...
# Fails fast (with logs) when a container exits or turns unhealthy, and
# when the one-shot `migrate` service did not exit 0.
set -Eeuo pipefail

COMPOSE=${COMPOSE:-docker-compose}
timeout=300
if [ "${1:-}" = -t ]; then timeout=$2; shift 2; fi
[ $# -gt 0 ] || { echo "usage: $0 [-t SECONDS] SERVICE..." >&2; exit 2; }

say() { printf '\033[1m[wait-healthy]\033[0m %s\n' "$*"; }
show_logs() {
  echo "----- docker ps -----" >&2
  $COMPOSE ps >&2 || true
  echo "----- logs (last 60 lines per service) -----" >&2
  $COMPOSE logs --no-color --tail=60 >&2 || true
}
fail() { printf '\033[1;31m[wait-healthy] FAILED:\033[0m %s\n' "$*" >&2; show_logs; exit 1; }

# The one-shot migration must have succeeded.
if mid=$($COMPOSE ps -a -q migrate 2>/dev/null) && [ -n "$mid" ]; then
  state=$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$mid")
  case $state in
    "exited 0") say "migrate: done" ;;
    exited*) fail "migrate exited with code ${state#exited }" ;;
  esac
fi

say "waiting up to ${timeout}s for: $*"
deadline=$(( $(date +%s) + timeout ))
while :; do
  pending=()
  for svc in "$@"; do
    ids=$($COMPOSE ps -a -q "$svc" 2>/dev/null || true)
    [ -n "$ids" ] || fail "service $svc has no container"
    for id in $ids; do
      read -r status health restarts <<<"$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.RestartCount}}' "$id")"
      case "$status/$health" in
        running/healthy|running/none) ;;
        exited/*|dead/*) fail "$svc ($id) is $status" ;;
        */unhealthy) fail "$svc ($id) is unhealthy: $(docker inspect -f '{{range .State.Health.Log}}{{.Output}}{{end}}' "$id" | tail -1)" ;;
        *) pending+=("$svc:$status/$health${restarts:+ restarts=$restarts}") ;;
      esac
    done
  done
  if [ ${#pending[@]} -eq 0 ]; then
    say "healthy: $*"
    exit 0
  fi
  [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${timeout}s; still waiting for: ${pending[*]}"
  sleep 2
done
