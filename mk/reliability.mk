# Reliability targets; the main Makefile includes this file (`-include mk/reliability.mk`).
#
#   make fuzz           schemathesis against intake and export on the real stack, many thousands of
#                       generated requests (FUZZ_EXAMPLES per operation, token, mode and path kind;
#                       `make test` runs 40, about 3,500 requests): no 5xx, and every answer's status
#                       code, content type and body as the OpenAPI documents say
#   make faults         the fault-injection tests alone (SIGKILL intake and beat mid-burst,
#                       duplicate and out-of-order rollup tasks, a photo store that cannot write)

FUZZ_EXAMPLES ?= 200

.PHONY: fuzz faults

fuzz: install  ## fuzz both APIs (schemathesis, ~17,000 requests): no 5xx, every answer as documented
	REKAP_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q -s -p no:cacheprovider tests/fuzz

faults: install  ## fault injection: kills, duplicate tasks, unwritable photo store; recap stays exact
	$(BIN)/pytest -q -s -p no:cacheprovider tests/integration/test_faults.py
