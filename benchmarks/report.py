"""Benchmark results and RESULTS.md: one row per measurement, with its budget when it has one."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: RESULTS.md keeps what follows this line when it is rewritten (the hand-written history).
HISTORY_MARKER = "<!-- history: kept when the benchmarks rewrite this file -->"


@dataclass(frozen=True)
class Result:
    """One measurement; `budget` is the upper bound it must meet (same unit), if any."""

    name: str
    value: float
    unit: str
    budget: float | None = None
    detail: str = ""

    @property
    def verdict(self) -> str:
        """The verdict against the budget: met, MISSED, or "-" without one."""
        if self.budget is None:
            return "-"
        return "met" if self.value <= self.budget else "MISSED"


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall times of `repeat` calls, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def median(values: list[float]) -> float:
    """The median (statistics.median, named for the reader of the benchmark code)."""
    return statistics.median(values)


def machine() -> list[str]:
    """What the figures were measured on."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        kib = int(meminfo.read_text().split("MemTotal:", 1)[1].split()[0])
        memory = f", {kib / 1024 / 1024:.1f} GiB RAM"
    from importlib.metadata import version

    packages = ", ".join(f"{name} {version(name)}" for name in ("helm-python-sdk", "typer", "kubernetes", "pyyaml"))
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores{memory}",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()} ({sys.executable})",
        f"- {packages}",
    ]


def write(path: Path, results: list[Result], *, quick: bool, seconds: float) -> None:
    """Write RESULTS.md: machine, table, then the history kept from the previous file."""
    history = ""
    if path.is_file() and HISTORY_MARKER in path.read_text():
        history = path.read_text().split(HISTORY_MARKER, 1)[1]
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m benchmarks`" + (" --quick (smoke sizes: not figures to quote)" if quick else "")
        + f" on {time.strftime('%Y-%m-%d %H:%M %Z')}, in {seconds:.0f} s.",
        "",
        "## Machine",
        "",
        *machine(),
        "",
        "## Figures",
        "",
        "| measurement | value | budget | verdict | how |",
        "|---|---:|---:|---|---|",
    ]
    for r in results:
        budget = f"<= {r.budget:g} {r.unit}" if r.budget is not None else ""
        lines.append(f"| {r.name} | {r.value:.3g} {r.unit} | {budget} | {r.verdict} | {r.detail} |")
    lines += ["", HISTORY_MARKER]
    path.write_text("\n".join(lines) + (history if history else "\n"))
