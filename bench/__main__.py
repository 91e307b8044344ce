"""`make bench`: every benchmark in turn, each printing its figures."""

import subprocess
import sys

BENCHMARKS = (
    "bench.intake",
    "bench.registry",
    "bench.end_to_end",
    "bench.event_auth",
    "bench.console",
    "bench.report",
    "bench.public_check",
)

if __name__ == "__main__":
    for module in BENCHMARKS:
        print(f"\n=== {module} ===", flush=True)
        subprocess.run([sys.executable, "-m", module, *sys.argv[1:]], check=False)
