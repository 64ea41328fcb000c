"""How long the README's main command takes: `guestpass check` against the embedded reference server,
run as a user runs it, each time in a fresh directory (so no previous results order the scenarios).
Prints, per run, the wall time, the processor time of every process it started, the machine's load
average when it began, and the outcome; then the slowest scenarios of the last run.

    python benchmarks/check_duration.py [--runs 3] [-- any guestpass check options, e.g. --workers 0]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(check_options: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="guestpass-check-duration-") as workdir:
        load = os.getloadavg()[0]
        cpu, started = children_cpu(), time.monotonic()
        completed = subprocess.run(
            [sys.executable, "-m", "guestpass.conformance.cli", "check", *check_options],
            capture_output=True,
            text=True,
            cwd=workdir,
            timeout=1800,
        )
        wall, cpu = time.monotonic() - started, children_cpu() - cpu
        results = Path(workdir) / "guestpass-results" / "results.json"
        document = json.loads(results.read_text()) if results.exists() else {}
    footer = next((line for line in reversed(completed.stdout.splitlines()) if " in " in line), "").strip("= ")
    return {"wall": wall, "cpu": cpu, "load": load, "exit": completed.returncode, "footer": footer, "results": document}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slowest", type=int, default=10, help="list this many of the last run's slowest scenarios")
    parser.add_argument("check_options", nargs="*", help="options of guestpass check, after --")
    args = parser.parse_args()
    print(f"guestpass check {' '.join(args.check_options)} on {os.cpu_count()} cores")
    runs = []
    for number in range(1, args.runs + 1):
        run = run_once(args.check_options)
        runs.append(run)
        print(
            f"run {number}: {run['wall']:6.1f} s wall, {run['cpu']:6.1f} s processor time, "
            f"load {run['load']:.2f} before, exit {run['exit']}: {run['footer']}",
            flush=True,
        )
    walls = [run["wall"] for run in runs]
    print(f"median {statistics.median(walls):.1f} s wall (min {min(walls):.1f}, max {max(walls):.1f})")
    scenarios = runs[-1]["results"].get("scenarios", [])
    total = sum(scenario["duration_seconds"] for scenario in scenarios)
    print(f"slowest scenarios of the last run (seconds, an outline's examples together; all: {total:.0f} s):")
    for scenario in sorted(scenarios, key=lambda s: -s["duration_seconds"])[: args.slowest]:
        print(f"  {scenario['duration_seconds']:5.1f}  {scenario['id']}  {scenario['title']}")


if __name__ == "__main__":
    main()
