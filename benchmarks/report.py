"""Rows and RESULTS.md: one table of MET/MISSED rows with their figures, then the sections that explain them."""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path


@dataclass(frozen=True)
class Row:
    """One goal of the performance issue: a value against its budget.

    `at_most`: the value must not exceed the budget (ratios, requests, ms); else it must reach it
    (throughput). `figures`: the side-by-side measurements the value comes from.
    """

    goal: str
    name: str
    value: float
    unit: str
    budget: float
    figures: str
    at_most: bool = True

    @property
    def met(self) -> bool:
        """Whether the budget is met."""
        return self.value <= self.budget if self.at_most else self.value >= self.budget

    @property
    def verdict(self) -> str:
        """MET or MISSED."""
        return "MET" if self.met else "MISSED"

    def shown(self) -> str:
        """The value with its unit; with a third decimal when two would round it onto its budget."""
        number = _number(self.value)
        if number == _number(self.budget) and self.value != self.budget:
            number = f"{self.value:.3f}"
        return f"{number}{self.unit}" if self.unit == "x" else f"{number} {self.unit}"

    def budget_shown(self) -> str:
        """The budget with its direction."""
        unit = self.unit if self.unit == "x" else f" {self.unit}"
        return f"{'<=' if self.at_most else '>='} {_number(self.budget)}{unit}"


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


@dataclass
class Part:
    """What one benchmark module measured: its rows, and markdown for the sections of RESULTS.md."""

    rows: list[Row] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)
    #: figures other modules use (the history table, the throughput bound), by name
    facts: dict[str, float] = field(default_factory=dict)


#: The order of the sections after the table (a module fills the ones it measured).
SECTION_ORDER = [
    "How the figures are measured",
    "Where the time of `template` goes",
    "Submission: requests and memory",
    "Reads: list, status, logs",
    "Throughput",
    "The throughput bound on a real API server (on paper)",
    "Reads at scale",
    "Batch rendering",
    "History: the issue's figures and now",
]


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
    one, five, fifteen = os.getloadavg()
    load = f", load average at the end {one:.1f} {five:.1f} {fifteen:.1f}"
    packages = ", ".join(f"{name} {version(name)}" for name in ("helm-python-sdk", "pyyaml", "kmock"))
    return [
        f"- {cpu}, {os.cpu_count()} cores{memory}{load} (a machine shared with other work: compare rows, "
        "which are measured side by side, rather than runs)",
        f"- {platform.platform()}; Python {platform.python_version()}; {packages}",
    ]


def render(rows: list[Row], sections: dict[str, str], *, quick: bool, seconds: float, tools: str) -> str:
    """The whole RESULTS.md."""
    met = sum(row.met for row in rows)
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m benchmarks`" + (" --quick (smoke sizes: figures not to quote)" if quick else "")
        + f" on {time.strftime('%Y-%m-%d %H:%M %Z')} in {seconds:.0f} s: {met} of {len(rows)} budgets met. "
        f"Every comparison is measured side by side in the same run against {tools}.",
        "",
        *machine(),
        "",
        "| goal | measurement | value | budget | verdict | figures |",
        "|---|---|---:|---:|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row.goal} | {row.name} | {row.shown()} | {row.budget_shown()} | **{row.verdict}** "
                     f"| {row.figures} |")
    for title in SECTION_ORDER + sorted(set(sections) - set(SECTION_ORDER)):
        if title in sections:
            lines += ["", f"## {title}", "", sections[title].strip()]
    return "\n".join(lines) + "\n"


def write(path: Path, text: str) -> None:
    """Write RESULTS.md."""
    path.write_text(text)


def line(row: Row) -> str:
    """One row as a line of the console output."""
    return f"{row.verdict:>6}  [{row.goal}] {row.name}: {row.shown()} (budget {row.budget_shown()}; {row.figures})"


def python_version() -> str:
    """The interpreter, for the sections."""
    return f"Python {sys.version.split()[0]}"
