# Docker targets for rekap; the main Makefile does `include mk/docker.mk`.
# See docs/docker.md.
#
#   make up               build and start the stack, wait until intake and export are healthy
#   make down             stop it (make down DOWN_VOLUMES=1 also drops the data volumes)
#   make images-offline   stand-in base images from Debian packages (no registry needed)
#   make compose-smoke    up on other ports under another project name, /readyz, down -v
#   make loadtest         up, then the `loadtest` service: every Jombang TPS through the intake,
#                         the JSON report on stdout and in $(LOADTEST_REPORT) (LOADTEST_ARGS="--tps 300")
#   make docker-image     just build the rekap image;  make docker-engine: start the engine
#
# OFFLINE=1 (the default here: no image registry is reachable) builds on the
# stand-in base images; OFFLINE=0 uses python:3.11-slim-bookworm,
# postgres:16-bookworm and redis:7-bookworm from a registry.

DOCKER_MK_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
# Re-invoke make on the Makefile that included this fragment.
_DOCKER_MAKE := $(MAKE) --no-print-directory -f $(abspath $(firstword $(MAKEFILE_LIST)))

# `docker compose` (v2) when the plugin answers, else docker-compose (1.29).
# Probed once, on first use (not on every make run).
COMPOSE ?= $(eval COMPOSE := $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose))$(COMPOSE)
COMPOSE_PROJECT ?= rekap
DC = $(COMPOSE) -p $(COMPOSE_PROJECT) -f $(DOCKER_MK_ROOT)/docker-compose.yml --profile loadtest

OFFLINE ?= 1
DOWN_VOLUMES ?= 0
UP_TIMEOUT ?= 300
# Services `make up` waits for (healthy); the worker and beat have health checks too.
UP_WAIT ?= intake export

ifeq ($(OFFLINE),1)
PYTHON_IMAGE ?= rekap-base/python:3.11
POSTGRES_IMAGE ?= rekap-base/postgres:15
REDIS_IMAGE ?= rekap-base/redis:7
_DOCKER_BASE_DEPS := images-offline
else
_DOCKER_BASE_DEPS :=
endif
export PYTHON_IMAGE POSTGRES_IMAGE REDIS_IMAGE

SMOKE_PROJECT ?= rekap-smoke
SMOKE_INTAKE_PORT ?= 18001
SMOKE_EXPORT_PORT ?= 18002

# `make loadtest LOADTEST_ARGS="--tps 300 --users 16"`: extra `rekap loadtest` options.
LOADTEST_ARGS ?=
LOADTEST_REPORT ?= out/loadtest-$(COMPOSE_PROJECT).json

.PHONY: docker-engine images-offline docker-image up down compose-smoke loadtest

docker-engine:
	@bash $(DOCKER_MK_ROOT)/docker/ensure-engine.sh

images-offline: docker-engine
	@bash $(DOCKER_MK_ROOT)/docker/offline-images.sh

# The app image (one build: every rekap service uses the same image).
docker-image: docker-engine $(_DOCKER_BASE_DEPS)
	@echo "[docker] building the rekap image on $${PYTHON_IMAGE:-python:3.11-slim-bookworm} ($(COMPOSE))"
	$(DC) build migrate

up: docker-image
	@echo "[docker] starting project $(COMPOSE_PROJECT): postgres $${POSTGRES_IMAGE:-postgres:16-bookworm}, redis $${REDIS_IMAGE:-redis:7-bookworm}"
	@$(DC) up -d --no-build --remove-orphans postgres redis migrate intake recap-worker export-worker recap-beat export \
	  || { echo "[docker] up failed; logs:"; $(DC) ps; $(DC) logs --no-color --tail=60 migrate postgres redis; exit 1; }
	@COMPOSE="$(DC)" bash $(DOCKER_MK_ROOT)/docker/wait-healthy.sh -t $(UP_TIMEOUT) $(UP_WAIT)
	@echo "[docker] up: intake http://127.0.0.1:$${INTAKE_HOST_PORT:-8001}  export http://127.0.0.1:$${EXPORT_HOST_PORT:-8002}"

down: docker-engine
	$(DC) down --remove-orphans $(if $(filter 1,$(DOWN_VOLUMES)),-v)

# The report (stdout of the container) is kept in $(LOADTEST_REPORT) and printed;
# progress goes to stderr. Exit status: the load test's (non-zero on an unexpected
# answer, a recap that never became exact, or `"exact": false`).
loadtest: up
	@mkdir -p $(dir $(LOADTEST_REPORT))
	@echo "[loadtest] project $(COMPOSE_PROJECT): rekap loadtest $(LOADTEST_ARGS)" >&2
	@rc=0; $(DC) run --rm -T --no-deps -e LOADTEST_ARGS="$(LOADTEST_ARGS)" loadtest > $(LOADTEST_REPORT).tmp || rc=$$?; \
	  mv $(LOADTEST_REPORT).tmp $(LOADTEST_REPORT); cat $(LOADTEST_REPORT); \
	  echo "[loadtest] report: $(LOADTEST_REPORT) (exit $$rc)" >&2; exit $$rc

# Its own project name and ports, so it neither touches nor collides with `make up`.
compose-smoke:
	@set -e; \
	export INTAKE_HOST_PORT=$(SMOKE_INTAKE_PORT) EXPORT_HOST_PORT=$(SMOKE_EXPORT_PORT); \
	trap 'rc=$$?; [ $$rc -eq 0 ] || $(_DOCKER_MAKE) -s _smoke-logs COMPOSE_PROJECT=$(SMOKE_PROJECT); \
	      $(_DOCKER_MAKE) down COMPOSE_PROJECT=$(SMOKE_PROJECT) DOWN_VOLUMES=1; exit $$rc' EXIT; \
	$(_DOCKER_MAKE) up COMPOSE_PROJECT=$(SMOKE_PROJECT); \
	for url in http://127.0.0.1:$(SMOKE_INTAKE_PORT)/readyz http://127.0.0.1:$(SMOKE_EXPORT_PORT)/readyz; do \
	  echo "[compose-smoke] GET $$url"; curl -fsS --max-time 10 "$$url"; echo; \
	done; \
	echo "[compose-smoke] OK"

.PHONY: _smoke-logs
_smoke-logs:
	@echo "----- compose-smoke failed: logs -----"; $(DC) ps; $(DC) logs --no-color --tail=80
