"""End to end on a real cluster: opt-in, skipped unless SPARKHELM_E2E_KUBECONFIG names a kubeconfig.

    SPARKHELM_E2E_KUBECONFIG=~/.kube/config SPARKHELM_E2E_NAMESPACE=spark-e2e \\
        .venv/bin/python -m pytest -m e2e tests/test_e2e.py

The namespace must exist and the credentials must allow what `sparkhelm run` pre-flight checks.
The Pi example runs to completion; its result is the exit code, and nothing is left behind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import VALUES_DIR, Cli

KUBECONFIG = os.environ.get("SPARKHELM_E2E_KUBECONFIG", "")
NAMESPACE = os.environ.get("SPARKHELM_E2E_NAMESPACE", "default")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not KUBECONFIG, reason="set SPARKHELM_E2E_KUBECONFIG to run against a real cluster"),
]


@pytest.fixture
def real_cluster(monkeypatch: pytest.MonkeyPatch) -> str:
    path = str(Path(KUBECONFIG).expanduser())
    monkeypatch.setenv("KUBECONFIG", path)
    monkeypatch.setenv("SPARKHELM_ENGINE", os.environ.get("SPARKHELM_E2E_ENGINE", "auto"))
    return path


def test_pi_runs_to_success_and_cleans_up(real_cluster: str, cli: Cli, tmp_path: Path) -> None:
    name = f"e2e-pi-{os.getpid()}"
    result = cli("run", "-f", VALUES_DIR / "pyspark-pi.yaml", "--name", name, "-n", NAMESPACE,
                 "--wait", "--logs", "--timeout", "15m", "--cleanup", "--archive-logs", tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "Pi is roughly 3.1" in result.stdout
    record = json.loads((tmp_path / name / "status.json").read_text())
    assert record["app"]["phase"] == "Succeeded"
    assert name not in cli("list", "-n", NAMESPACE).stdout


def test_failed_app_exits_1(real_cluster: str, cli: Cli) -> None:
    name = f"e2e-fail-{os.getpid()}"
    result = cli("run", "-f", VALUES_DIR / "pyspark-pi.yaml", "--name", name, "-n", NAMESPACE,
                 "--set", "app.mainApplicationFile=local:///opt/spark/examples/src/main/python/missing.py",
                 "--wait", "--timeout", "15m", "--cleanup")
    assert result.exit_code == 1
    assert f"{name} failed" in result.stderr
