"""The benchmark suite: `python -m benchmarks` writes benchmarks/RESULTS.md.

    .venv/bin/python -m benchmarks            # full sizes (a few minutes on 2 cores)
    .venv/bin/python -m benchmarks --quick    # smoke sizes, as CI runs it (figures not to quote)

Budgets (issue 6) are checked and shown as met / MISSED; the exit code is 0 either way, because
timings on a shared machine are evidence for a reader, not a gate (CI only runs the smoke).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks import batch, bench_cluster, processes, report

SIZES = {
    # name: (full, quick)
    "help": (21, 3),
    "template": (21, 2),
    "batch_apps": (1000, 20),
    "batch_repeat": (5, 1),
    "cluster_apps": (1000, 50),
    "cluster_repeat": (5, 1),
    "memory": (3, 1),
}


def main() -> None:
    """Run every benchmark, print each row, write the results file."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke sizes (CI): checks the suite runs")
    parser.add_argument("--output", type=Path, default=None,
                        help="results file (default: benchmarks/RESULTS.md; with --quick, none unless given)")
    args = parser.parse_args()
    size = {name: pair[1] if args.quick else pair[0] for name, pair in SIZES.items()}
    output = args.output or (None if args.quick else Path(__file__).parent / "RESULTS.md")

    start = time.perf_counter()
    results: list[report.Result] = []
    steps = [
        lambda: processes.help_cold_start(size["help"]),
        lambda: processes.template_against_bare(size["template"]),
        lambda: batch.batch_render(size["batch_apps"], size["batch_repeat"]),
        lambda: bench_cluster.measure(size["cluster_apps"], min(40, size["cluster_apps"] // 2), size["cluster_repeat"]),
        lambda: processes.memory(size["memory"]),
    ]
    for step in steps:
        for result in step():
            results.append(result)
            line = f"{result.verdict:>6}  {result.name}: {result.value:.3g} {result.unit}  ({result.detail})"
            print(line, flush=True)
    if output is not None:
        report.write(output, results, quick=args.quick, seconds=time.perf_counter() - start)
        print(f"wrote {output}")


if __name__ == "__main__":
    main()
