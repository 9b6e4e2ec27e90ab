"""The chart's defaults install something that works, with the real Helm 3 and Helm 4 binaries
(SPARKHELM_TOOLS): `helm lint --strict` passes with the defaults and with every ci/ and values/ file,
`helm template` renders the defaults and the Spark Connect server of ci/connect-values.yaml, and
`helm install` of both creates their objects on an emulated API server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import CHART, VALUES_DIR
from tests.tools import tool

HELMS = ["helm3", "helm4"]
PI_PATH = "/opt/spark/examples/src/main/python/pi.py"
VALUES_FILES = sorted((CHART / "ci").glob("*.yaml")) + sorted(VALUES_DIR.glob("*.yaml"))


def _run(helm: str, *args: str | Path, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A helm command with its own config, cache and data directories."""
    environment = {**os.environ, **(env or {}), "HELM_CONFIG_HOME": str(home / "config"),
                   "HELM_CACHE_HOME": str(home / "cache"), "HELM_DATA_HOME": str(home / "data")}
    return subprocess.run([str(tool(helm)), *map(str, args)], capture_output=True, text=True, timeout=300, env=environment)


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize("values", [None, *VALUES_FILES], ids=lambda p: "defaults" if p is None else f"{p.parent.name}/{p.name}")
def test_helm_lint_strict_passes(tmp_path: Path, helm: str, values: Path | None) -> None:
    extra = ["-f", values] if values else []
    result = _run(helm, "lint", "--strict", CHART, *extra, home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout and "[WARNING]" not in result.stdout


@pytest.mark.parametrize("helm", HELMS)
def test_helm_template_renders_the_defaults(tmp_path: Path, helm: str) -> None:
    result = _run(helm, "template", "x", CHART, home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"- \"{PI_PATH}\"" in result.stdout and "kind: Pod" in result.stdout


@pytest.mark.parametrize("helm", HELMS)
def test_helm_install_of_the_defaults_creates_the_sparkpi_driver(tmp_path: Path, helm: str) -> None:
    from tests.harness import RunningCluster

    tool(helm)  # skips before an emulator starts
    cluster = RunningCluster(tmp_path, namespaces=("default", "spark-jobs"))
    try:
        result = _run(helm, "install", "pi-defaults", CHART, "-n", "spark-jobs", home=tmp_path,
                      env={"KUBECONFIG": str(cluster.kubeconfig)})
        assert result.returncode == 0, result.stderr
        assert "STATUS: deployed" in result.stdout
        driver = cluster.get("Pod", "pi-defaults-driver", "spark-jobs")
        assert driver is not None
        container = driver["spec"]["containers"][0]
        assert PI_PATH in container["args"] and container["image"] == "apache/spark:4.3.0"
        assert "pi-defaults-cm" in cluster.names("ConfigMap", "spark-jobs")
    finally:
        cluster.close()


CONNECT_VALUES = CHART / "ci" / "connect-values.yaml"


@pytest.mark.parametrize("helm", HELMS)
def test_helm_template_renders_the_connect_server(tmp_path: Path, helm: str) -> None:
    """ci/connect-values.yaml with a real Helm: the driver runs Spark Connect's server behind its Service."""
    result = _run(helm, "template", "nb", CHART, "-n", "team-a", "-f", CONNECT_VALUES, home=tmp_path)
    assert result.returncode == 0, result.stderr
    objects = {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(result.stdout) if o}
    driver = objects[("Pod", "nb-driver")]["spec"]
    assert driver["containers"][0]["args"][-2:] == ["--class", "org.apache.spark.sql.connect.service.SparkConnectServer"]
    assert driver["containers"][0]["readinessProbe"]["tcpSocket"] == {"port": 15002} and driver["restartPolicy"] == "Always"
    assert objects[("Service", "nb-connect-svc")]["spec"]["ports"][0]["port"] == 15002


@pytest.mark.parametrize("helm", HELMS)
def test_helm_install_of_the_connect_server(tmp_path: Path, helm: str) -> None:
    """The API server (emulated, with Kubernetes' own OpenAPI schemas) takes the connect-mode objects from a real Helm."""
    from tests.harness import RunningCluster

    tool(helm)
    cluster = RunningCluster(tmp_path, namespaces=("default", "team-a"))
    try:
        result = _run(helm, "install", "nb", CHART, "-n", "team-a", "-f", CONNECT_VALUES, home=tmp_path,
                      env={"KUBECONFIG": str(cluster.kubeconfig)})
        assert result.returncode == 0, result.stderr
        assert "sc://nb-connect-svc.team-a.svc:15002" in result.stdout  # NOTES
        assert "nb-connect-svc" in cluster.names("Service", "team-a")
        driver = cluster.get("Pod", "nb-driver", "team-a")
        assert driver is not None and driver["spec"]["containers"][0]["livenessProbe"]["tcpSocket"]["port"] == 15002
    finally:
        cluster.close()
