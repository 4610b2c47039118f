# Reliability targets; the main Makefile includes this file (`-include mk/reliability.mk`).
#
#   make fuzz           schemathesis against intake and export on the real stack, thousands of
#                       generated requests (FUZZ_EXAMPLES per operation, token, mode and path kind;
#                       `make test` runs 4): no 5xx, documented status codes
#   make faults         the fault-injection tests alone (SIGKILL intake and beat mid-burst,
#                       duplicate and out-of-order rollup tasks, a photo store that cannot write)

FUZZ_EXAMPLES ?= 40

.PHONY: fuzz faults

fuzz: install  ## fuzz both APIs (schemathesis, thousands of requests): no 5xx
	REKAP_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q -s -p no:cacheprovider tests/fuzz

faults: install  ## fault injection: kills, duplicate tasks, unwritable photo store; recap stays exact
	$(BIN)/pytest -q -s -p no:cacheprovider tests/integration/test_faults.py
