from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from sparkhelm import api, chartfiles
from sparkhelm import values as values_mod
from sparkhelm.engine.embedded import EmbeddedEngine
from sparkhelm.engine.manifests import parse_manifest

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "spark-client-app"
VALUES_DIR = ROOT / "values"
PI = "local:///opt/spark/examples/src/main/python/pi.py"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests use the source-tree chart and the embedded engine, whatever the machine has."""
    monkeypatch.delenv("SPARKHELM_CHART", raising=False)
    monkeypatch.setenv("SPARKHELM_ENGINE", "embedded")


def write_values(tmp_path: Path, data: Any, name: str = "values.yaml") -> Path:
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def render_objects(tmp_path: Path, data: dict[str, Any], *, name: str = "my-app", namespace: str = "spark-jobs",
                   files: list[Path] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    """Render through the API with the embedded engine; return (objects, effective values, manifest)."""
    paths = list(files or [])
    if data:
        paths.append(write_values(tmp_path, data))
    inputs = api.Inputs(values_files=paths, name=name, chart=CHART)
    app, rendered = api.render(inputs, namespace=namespace, engine=EmbeddedEngine())
    effective = values_mod.coalesce(chartfiles.default_values(CHART), app.values)
    return parse_manifest(rendered.manifest), effective, rendered.manifest


class Cli:
    """Runs the real Typer app in-process and keeps stdout and stderr apart."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str | Path) -> Any:
        from sparkhelm.cli import app_for

        argv = [str(a) for a in args]
        return self.runner.invoke(app_for(argv), argv)  # what the console script runs


@pytest.fixture
def cli() -> Cli:
    return Cli()


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An emulated API server (kmock + tests/harness) that KUBECONFIG points at; closed after the test."""
    from tests.harness import RunningCluster

    running = RunningCluster(tmp_path)
    monkeypatch.setenv("KUBECONFIG", str(running.kubeconfig))
    monkeypatch.delenv("HELM_DRIVER", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    yield running
    running.close()
