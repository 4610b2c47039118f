"""`make bench`: every benchmark of rekap, each beside a baseline measured in
the same run (the machine is small and noisy: ratios, never absolute asserts).

    python -m bench                  # all, full size
    python -m bench --quick          # all, small sizes (minutes)
    python -m bench --only intake    # one of: intake, recap, workbook

Each module exposes run(quick: bool) -> dict. The combined JSON is printed
and kept in bench/results/latest.json.
"""

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

BENCHES = {"intake": "bench.intake_bench", "recap": "bench.recap_bench", "workbook": "bench.workbook_bench"}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a quick look")
    parser.add_argument("--only", choices=sorted(BENCHES), action="append", help="run only these")
    args = parser.parse_args()
    results = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpus": os.cpu_count(),
               "load_average_before": os.getloadavg()}
    for name in args.only or BENCHES:
        print(f"== bench {name}", file=sys.stderr, flush=True)
        module = importlib.import_module(BENCHES[name])
        started = time.monotonic()
        results[name] = module.run(quick=args.quick)
        results[name]["bench_seconds"] = round(time.monotonic() - started, 1)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    text = json.dumps(results, indent=2, default=str)
    (out / "latest.json").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
