from __future__ import annotations

import contextlib
import io
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sparkhelm.chart import files as chartfiles
from sparkhelm.engine.embedded import EmbeddedEngine
from sparkhelm.engine.manifests import parse_manifest
from sparkhelm.ops.render import render
from sparkhelm.spec.inputs import Inputs
from sparkhelm.spec.layers import coalesce

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "spark-client-app"
VALUES_DIR = ROOT / "values"
PI = "local:///opt/spark/examples/src/main/python/pi.py"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests use the source-tree chart and the embedded engine, whatever the machine has, and a cache of their own."""
    monkeypatch.delenv("SPARKHELM_CHART", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
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
    inputs = Inputs(values_files=paths, name=name, chart=CHART)
    app, rendered = render(inputs, namespace=namespace, engine=EmbeddedEngine())
    effective = coalesce(chartfiles.default_values(CHART), app.values)
    return parse_manifest(rendered.manifest), effective, rendered.manifest


@dataclass
class CliResult:
    """What one in-process command line did."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Cli:
    """Runs `sparkhelm.cli.main` in-process (what the console script runs), stdout and stderr apart."""

    def __call__(self, *args: str | Path, input: str = "") -> CliResult:  # noqa: A002 - like subprocess.run
        from sparkhelm.cli import main

        out, err = io.StringIO(), io.StringIO()
        stdin = sys.stdin
        sys.stdin = io.StringIO(input)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main([str(a) for a in args])
                except SystemExit as exc:  # argparse exits on --help and usage errors
                    code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.stdin = stdin
        return CliResult(code, out.getvalue(), err.getvalue())


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
