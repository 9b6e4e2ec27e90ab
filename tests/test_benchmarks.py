"""The benchmark suite runs and writes every row (CI's smoke; no timing is asserted anywhere), its measuring
tools count what they claim to count, and batch rendering is exact."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from benchmarks.common import base_env, peak_memory
from benchmarks.emulator import Emulator
from benchmarks.report import Row
from sparkhelm import api
from sparkhelm.engine.embedded import EmbeddedEngine
from sparkhelm.errors import UserError
from tests.conftest import ROOT, VALUES_DIR
from tests.tools import tool

#: Every row of the suite, by the start of its name, with its goal (the issue's numbering).
ROWS = [
    ("1", "`sparkhelm template -f values/prod.yaml` / `helm template` (Helm 4.3)"),
    ("1", "`sparkhelm template -f values/prod.yaml` / `helm template` (Helm 3.17)"),
    ("1", "`sparkhelm --help` / `helm --help` (Helm 4.3)"),
    ("1", "`sparkhelm --help` / `helm --help` (Helm 3.17)"),
    ("1", "floor: bare `python -c \"import helm_python; load; render\"` / `helm template` (Helm 4.3)"),
    ("1", "floor: bare `python -c \"import helm_python; load; render\"` / `helm template` (Helm 3.17)"),
    ("2", "`sparkhelm run -f values/prod.yaml` / `helm install` (Helm 4.3)"),
    ("2", "`sparkhelm run -f values/prod.yaml` / `helm install` (Helm 3.17)"),
    ("2", "requests per `sparkhelm run`"),
    ("2", "peak memory of `sparkhelm run`'s process tree / `helm install`'s (Helm 4.3)"),
    ("2", "peak memory of `sparkhelm run`'s process tree / `helm install`'s (Helm 3.17)"),
    ("3", "`sparkhelm list` / `kubectl get pods -l spark-role=driver`"),
    ("3", "`sparkhelm status APP` / `kubectl get pod APP-driver`"),
    ("3", "`sparkhelm logs APP` / `kubectl logs APP-driver`"),
    ("4", "apps/minute a 2-core client can submit: `sparkhelm run` as processes"),
    ("4", "apps/minute a 2-core client can submit: `api.submit` on threads"),
    ("5", "requests of `sparkhelm list` over 120 apps"),
    ("5", "requests of `sparkhelm gc --dry-run` over 120 apps"),
    ("5", "`sparkhelm list` / `kubectl get pods -l spark-role=driver` over 120 apps"),
    ("6", "`api.render_many` of 20 apps"),
]
SECTIONS = [
    "How the figures are measured", "Where the time of `template` goes", "Submission: requests and memory",
    "Reads: list, status, logs", "Throughput", "The throughput bound on a real API server (on paper)",
    "Reads at scale", "Batch rendering", "History: the issue's figures and now",
]


def test_quick_benchmark_suite_writes_every_row(tmp_path: Path) -> None:
    tools = {name: tool(name) for name in ("helm4", "helm3", "kubectl37")}
    results = tmp_path / "RESULTS.md"
    env = {**os.environ, "SPARKHELM_TOOLS": str(tools["helm4"].parent.parent)}
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--output", str(results)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    text = results.read_text()
    table = [line for line in text.splitlines() if line.startswith("| ") and "**M" in line]
    assert len(table) == len(ROWS), "\n".join(table)
    for (goal, name), line in zip(ROWS, table, strict=True):
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert cells[0] == goal and cells[1].startswith(name), (goal, name, line)
        assert re.fullmatch(r"[\d,.]+(x| \S+)", cells[2]), line  # a measured value with its unit
        assert re.fullmatch(r"(<=|>=) [\d,.]+(x| \S+)", cells[3]), line  # its budget
        assert cells[4] in ("**MET**", "**MISSED**"), line
    for section in SECTIONS:
        assert f"\n## {section}\n" in text, section
    assert "Helm v4.3" in text and "Helm v3.17" in text and "kubectl v1.37" in text
    # every row was printed as it was measured, too
    assert len([line for line in done.stdout.splitlines() if line.lstrip().startswith(("MET", "MISSED"))]) == len(ROWS)


def test_the_suite_says_what_is_missing_without_the_binaries(tmp_path: Path) -> None:
    env = {**os.environ, "SPARKHELM_TOOLS": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("benchmarks: error: missing ") and "SPARKHELM_TOOLS" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_peak_memory_sees_the_whole_process_tree() -> None:
    """Two helpers of 120 MiB at once: GNU time reports the largest process, the tree sample their sum."""
    child = "import time; block = b'x' * (120 * 1024 * 1024); time.sleep(0.6)"
    parent = (f"import subprocess, sys; helpers = [subprocess.Popen([sys.executable, '-c', {child!r}]) "
              "for _ in range(2)]; [helper.wait() for helper in helpers]")
    measured = peak_memory([sys.executable, "-c", parent], base_env())
    assert measured.processes >= 3
    assert 120 * 1024 < measured.peak_kib < 240 * 1024
    assert measured.tree_kib > 240 * 1024
    assert measured.mib > 240


def test_the_emulator_runs_in_its_own_process_and_counts_requests() -> None:
    with Emulator(kubelet="Running") as emu:
        assert emu.pid != os.getpid()
        before, cpu = emu.count(), emu.cpu()
        for path in ("/api/v1/namespaces/bench/pods?labelSelector=spark-role%3Ddriver", "/api/v1/namespaces/bench"):
            with urllib.request.urlopen(emu.url + path, timeout=10) as answer:
                assert answer.status == 200
        assert emu.requests(before) == [("GET", "/api/v1/namespaces/bench/pods?labelSelector=spark-role%3Ddriver"),
                                        ("GET", "/api/v1/namespaces/bench")]
        assert emu.count() == before + 2
        assert emu.cpu() > cpu


def test_rows_compare_in_the_direction_of_their_budget() -> None:
    slower = Row("1", "ratio", 1.5, "x", 1.4, "")
    faster = Row("4", "rate", 1500.0, "apps/min", 1000.0, "", at_most=False)
    assert (slower.verdict, faster.verdict) == ("MISSED", "MET")
    assert (slower.budget_shown(), faster.budget_shown()) == ("<= 1.40x", ">= 1,000 apps/min")
    assert Row("4", "rate", 999.0, "apps/min", 1000.0, "", at_most=False).verdict == "MISSED"


def test_render_many_matches_one_by_one_renders_in_order() -> None:
    engine = EmbeddedEngine()
    # the RPC secret is generated at random for each render unless given: give it
    inputs = [api.Inputs(values_files=[VALUES_DIR / "prod.yaml"], name=f"batch-{i}",
                         sets=[f"executor.instances={i + 1}", "security.rpc.secret=batch-test-secret-0123456789abcdef0123"])
              for i in range(12)]
    together = api.render_many(inputs, engine=engine, workers=2)
    alone = [api.render(item, engine=engine) for item in inputs]
    assert [app.app_name for app, _ in together] == [f"batch-{i}" for i in range(12)]
    assert [r.manifest for _, r in together] == [r.manifest for _, r in alone]


def test_render_many_raises_the_first_invalid_app() -> None:
    inputs = [api.Inputs(values_files=[VALUES_DIR / "prod.yaml"], name="ok"),
              api.Inputs(values_files=[VALUES_DIR / "prod.yaml"], sets=["executor.instances=many"], name="bad")]
    with pytest.raises(UserError, match="executor.instances"):
        api.render_many(inputs, engine=EmbeddedEngine(), workers=2)
