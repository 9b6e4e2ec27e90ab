"""The benchmark suite runs (as CI's smoke, without timing assertions) and batch rendering is exact."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sparkhelm import api
from sparkhelm.engine.embedded import EmbeddedEngine
from sparkhelm.errors import UserError
from tests.conftest import ROOT, VALUES_DIR


def test_quick_benchmark_suite_writes_every_figure(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--output", str(results)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    text = results.read_text()
    assert "## Machine" in text and "cores" in text
    for row in ("`sparkhelm --help`, median cold start", "`template` / bare render", "batch render of 20 apps",
                "list over 50 apps", "gc --dry-run over 50 apps", "peak RSS"):
        assert row in text, row
    budget_rows = [line for line in text.splitlines() if line.startswith("| ") and "<= " in line]
    assert len(budget_rows) == 5 and all(("| met |" in r) or ("| MISSED |" in r) for r in budget_rows)
    assert "heavy modules imported: none" in text


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
