# Recap targets; the main Makefile includes this file (`-include mk/recap.mk`).
#
#   make chaos          the chaos test with many seeds and longer runs: the real stack,
#                       workers SIGKILLed at random, Redis killed and restarted once per
#                       seed; every seed must end with `rekap verify` exiting 0
#                       (CHAOS_SEEDS=1-20 CHAOS_OPS=4000 by default; `make test` runs 2 short seeds)
#   make bench-recap    the recap benchmark alone (BENCH_ARGS=--quick for one provinsi)

CHAOS_SEEDS ?= 1-20
CHAOS_OPS ?= 4000

.PHONY: chaos bench-recap

chaos: install  ## chaos test, many seeds: nothing lost, nothing counted twice
	REKAP_CHAOS_SEEDS=$(CHAOS_SEEDS) REKAP_CHAOS_OPS=$(CHAOS_OPS) $(BIN)/pytest -q -s -p no:cacheprovider \
		tests/integration/test_chaos.py

bench-recap: install  ## recap lag, throughput, rollups per 1,000 submissions, national rollup
	$(BIN)/python bench/recap_bench.py $(BENCH_ARGS)
