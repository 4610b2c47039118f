# The short verbs: make demo, make test, make run, make bench.
# Only python3 (3.11+) and make are needed; everything else installs into .venv.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install demo test test-fast test-e2e run bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: install  ## seed Jombang, submit every TPS, recap, verify, write out/rekap-ppwp-3517.xlsx
	$(BIN)/rekap demo

test: install  ## the whole suite: unit, integration (real PostgreSQL, Redis, Celery, HTTP)
	$(BIN)/pytest

test-fast: install  ## pure unit tests only
	$(BIN)/pytest tests/unit

run: install  ## the whole stack in the foreground
	$(BIN)/rekap run

bench: install  ## benchmarks, each against a baseline measured in the same run
	@command -v wrk >/dev/null || apt-get install -y wrk >/dev/null 2>&1 || \
	  (apt-get update >/dev/null && apt-get install -y wrk >/dev/null) || \
	  { echo "make bench needs wrk (Debian package 'wrk') to load the intake"; exit 1; }
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis

test-e2e: install  ## browser tests of the dashboard (installs Debian chromium when missing)
	$(BIN)/pytest tests/e2e

-include mk/docker.mk mk/recap.mk mk/reliability.mk
