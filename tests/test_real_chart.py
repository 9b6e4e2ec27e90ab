"""The chart under the real Helm 3.17 and Helm 4.3: `helm lint --strict` and `helm package`.

Ops teams lint and package the chart with their own helm; every CI values file and every example
values file must pass the strictest lint of both versions, and the packaged chart must render what
the chart directory renders.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import CHART, VALUES_DIR
from tests.tools import client_env, run, tool

HELMS = ["helm3", "helm4"]
VALUES_FILES = sorted((CHART / "ci").glob("*.yaml")) + sorted(VALUES_DIR.glob("*.yaml"))


@pytest.mark.parametrize("helm_name", HELMS)
@pytest.mark.parametrize("values_file", VALUES_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_lint_strict(helm_name: str, values_file: Path, tmp_path: Path) -> None:
    result = run(tool(helm_name), "lint", "--strict", CHART, "-f", values_file, env=client_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout


@pytest.mark.parametrize("helm_name", HELMS)
def test_lint_strict_with_the_charts_own_defaults(helm_name: str, tmp_path: Path) -> None:
    result = run(tool(helm_name), "lint", "--strict", CHART, env=client_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout


@pytest.mark.parametrize("helm_name", HELMS)
def test_packaged_chart_renders_what_the_directory_renders(helm_name: str, tmp_path: Path) -> None:
    helm = tool(helm_name)
    env = client_env(tmp_path / "home")
    meta = yaml.safe_load((CHART / "Chart.yaml").read_text())
    packaged = run(helm, "package", CHART, "--destination", tmp_path, env=env)
    assert packaged.returncode == 0, packaged.stderr
    archive = tmp_path / f"{meta['name']}-{meta['version']}.tgz"
    assert archive.is_file(), packaged.stdout
    shown = run(helm, "show", "chart", archive, env=env)
    assert yaml.safe_load(shown.stdout) == yaml.safe_load(run(helm, "show", "chart", CHART, env=env).stdout)
    for values_file in VALUES_FILES:
        # the RPC secret pinned: without it each render draws its own (the chart's one random output)
        args = ("template", "pkg-app", "-n", "spark-jobs", "-f", values_file,
                "--set", "security.rpc.secret=package-test-secret-0123456789abcdef0123")
        from_dir = run(helm, args[0], args[1], CHART, *args[2:], env=env)
        from_archive = run(helm, args[0], args[1], archive, *args[2:], env=env)
        assert from_dir.returncode == 0, from_dir.stderr
        assert from_archive.stdout == from_dir.stdout, values_file.name
        assert "kind: Pod" in from_archive.stdout
