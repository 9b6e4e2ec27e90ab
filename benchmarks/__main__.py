"""The benchmark suite of the performance issue: every goal a row measured side by side with the real binaries.

    .venv/bin/python -m benchmarks            # full sizes (about 15 minutes on 2 cores), writes benchmarks/RESULTS.md
    .venv/bin/python -m benchmarks --quick    # smoke sizes, as CI runs it (figures not to quote)

Run from the repository root: the emulated API server runs in its own process from `tests.harness`.
Needs the real helm 4.3, helm 3.17 and kubectl 1.37 under $SPARKHELM_TOOLS (scripts/fetch_tools.py)
and GNU time. Each row is a ratio of medians of alternated runs (A B A B ...) or a count, printed
MET or MISSED against its budget. The exit code is 0 either way: timings on a shared machine are
evidence for a reader, not a gate (CI only checks that the suite runs and writes every row).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import batch, common, fleet, paper, startup, submit, throughput
from benchmarks.report import Part, line, render, write

#: name: (full, quick)
SIZES = {
    "rounds": (21, 3),  # alternated runs of each command, goals 1 and 3
    "anatomy": (11, 2),
    "submissions": (15, 2),  # goal 2
    "memory": (5, 1),
    "throughput_apps": (500, 12),
    "fleet_apps": (5000, 120),
    "fleet_rounds": (7, 2),
    "batch_apps": (1000, 20),
    "batch_repeat": (5, 1),
}
CLIENTS = (1, 4, 16)

HOW = """\
- Every measured process runs without `PYTHONDONTWRITEBYTECODE` (this machine's shells set it; then every
  Python start compiles sparkhelm's sources again), after `python -m compileall -q sparkhelm` once.
- Times are wall-clock (`time.perf_counter`) around whole processes; the commands of a row run in turn,
  A B A B ..., after one unmeasured round, and a row compares their medians.
- The emulated API server (`tests.harness.RunningCluster`, kmock) runs in its own process
  (`python -m benchmarks.server`), like a real API server; requests are counted from its log, and its own
  CPU time is read from it. The same emulator serves both sides of a row.
- Peak memory: GNU time's peak RSS of the process (`/usr/bin/time -f %M`) and a 2 ms sample of the RSS
  summed over the whole process tree from /proc; the larger of the two.
- Client CPU: RUSAGE_CHILDREN for processes the suite runs; `time.process_time` inside the one process of
  the Python API rows.
- Helm gets the values `sparkhelm values` computes, so both render and install the same objects
  (`template` rows check that the objects are equal before timing)."""


def main() -> int:
    """Run every goal, print each row, write RESULTS.md."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke sizes (CI): checks the suite runs")
    parser.add_argument("--output", type=Path, default=None,
                        help="results file (default: benchmarks/RESULTS.md; with --quick, none unless given)")
    args = parser.parse_args()
    size = {name: pair[1] if args.quick else pair[0] for name, pair in SIZES.items()}
    output = args.output or (None if args.quick else Path(__file__).parent / "RESULTS.md")
    try:
        tools = common.tools()
    except common.SetupError as exc:
        sys.stderr.write(f"benchmarks: error: {exc}\n")
        return 2
    common.compile_sources()

    began = time.perf_counter()
    parts: list[Part] = []
    facts: dict[str, float] = {}
    goals: list[Callable[[], Part]] = [
        lambda: startup.measure(tools, size["rounds"], size["anatomy"]),
        lambda: submit.measure(tools, size["submissions"], size["memory"], size["rounds"]),
        lambda: throughput.measure(size["throughput_apps"], CLIENTS),
        lambda: fleet.measure(tools, size["fleet_apps"], size["fleet_rounds"]),
        lambda: batch.measure(size["batch_apps"], size["batch_repeat"], facts.get("template_ms")),
    ]
    for goal in goals:
        part = goal()
        parts.append(part)
        facts.update(part.facts)
        for row in part.rows:
            print(line(row), flush=True)
    sections = {"How the figures are measured": HOW}
    for part in parts:
        sections.update(part.sections)
    sections["The throughput bound on a real API server (on paper)"] = paper.throughput_bound(facts)
    sections["History: the issue's figures and now"] = paper.history(facts)
    rows = [row for part in parts for row in part.rows]
    if output is not None:
        versions = common.tool_versions(tools)
        write(output, render(rows, sections, quick=args.quick, seconds=time.perf_counter() - began, tools=versions))
        print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
