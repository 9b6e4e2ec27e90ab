"""Raw Helm 3.17 and Helm 4.3 against the emulated API server: what an ops team runs without sparkhelm.

`helm install` of the chart with values, `list`, `status`, `get values`, `uninstall`; and `helm install
--wait` (what Helmfile's `wait: true` passes) on a bare driver Pod, with the harness's simulated
kubelet playing the driver: these tests pin what each Helm does with a driver that runs, one that
never gets scheduled, and one that had already finished when Helm first looked.
"""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHART, VALUES_DIR
from tests.harness import DriverScript, RunningCluster
from tests.harness.emulator import now
from tests.tools import client_env, run, tool

PI = VALUES_DIR / "pyspark-pi.yaml"
Helm = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(params=["helm3", "helm4"])
def helm_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def helm(helm_name: str, cluster: RunningCluster, tmp_path: Path) -> Helm:
    binary = tool(helm_name)
    env = client_env(tmp_path / "home", cluster.kubeconfig)

    def call(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return run(binary, *args, env=env, timeout=timeout)

    return call


def release_record(cluster: RunningCluster, name: str, namespace: str) -> dict[str, Any]:
    """Helm's release record as stored in its Secret (sent as protobuf by both Helms)."""
    secret = cluster.get("Secret", f"sh.helm.release.v1.{name}.v1", namespace)
    assert secret is not None, f"no release Secret for {name}"
    assert secret["type"] == "helm.sh/release.v1"
    assert secret["metadata"]["labels"]["owner"] == "helm"
    record: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(secret["data"]["release"]))))
    return record


def test_install_list_status_get_values_uninstall(cluster: RunningCluster, helm: Helm, helm_name: str) -> None:
    name, ns = f"ops-{helm_name}", "spark"
    installed = helm("install", name, CHART, "-n", ns, "-f", PI, "--set", "executor.instances=3")
    assert installed.returncode == 0, installed.stderr
    assert f"Spark application {name} submitted in namespace {ns} (client mode)." in installed.stdout
    assert cluster.get("Pod", f"{name}-driver", ns) is not None
    ui = cluster.get("Service", f"{name}-ui-svc", ns)
    assert ui is not None and ui["spec"]["clusterIP"].startswith("10.96.")
    record = release_record(cluster, name, ns)
    assert record["info"]["status"] == "deployed" and record["config"]["executor"]["instances"] == 3

    listed = helm("list", "-n", ns, "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert [(r["name"], r["status"], r["chart"].rsplit("-", 1)[0]) for r in json.loads(listed.stdout)] == [
        (name, "deployed", "spark-client-app")
    ]
    status = helm("status", name, "-n", ns, "-o", "json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["info"]["status"] == "deployed"
    values = helm("get", "values", name, "-n", ns, "-o", "json")
    assert values.returncode == 0, values.stderr
    supplied = json.loads(values.stdout)
    assert supplied["executor"] == {"instances": 3, "cores": 1, "memory": "512m"}
    assert supplied["app"]["mainApplicationFile"] == "local:///opt/spark/examples/src/main/python/pi.py"

    removed = helm("uninstall", name, "-n", ns)
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == f'release "{name}" uninstalled'
    assert cluster.names("Pod", ns) == [] and cluster.names("Secret", ns) == []
    assert cluster.names("Service", ns) == [] and cluster.names("ConfigMap", ns) == []
    assert json.loads(helm("list", "-n", ns, "-o", "json").stdout) == []


def test_helm_uses_aggregated_discovery(tmp_path: Path, helm_name: str) -> None:
    """Against a 1.30+ server a helm install asks no per-group-version discovery (about 25 requests fewer)."""
    binary = tool(helm_name)
    counts = {}
    for aggregated in (True, False):
        folder = tmp_path / f"aggregated-{aggregated}"
        folder.mkdir()
        cluster = RunningCluster(folder, aggregated_discovery=aggregated)
        try:
            env = client_env(tmp_path / "home", cluster.kubeconfig)
            result = run(binary, "install", "disc", CHART, "-f", PI, env=env)
            assert result.returncode == 0, result.stderr
            paths = [p.split("?")[0] for _, p in cluster.requests()]
            group_versions = [p for p in paths if p == "/api/v1" or (p.startswith("/apis/") and p.count("/") == 3)]
            counts[aggregated] = (len(paths), len(group_versions))
        finally:
            cluster.close()
    print(f"{helm_name} install: requests with aggregated discovery {counts[True]}, without {counts[False]}")
    assert counts[True][1] == 0, "with aggregated discovery no group-version is asked for"
    assert counts[False][1] >= 20
    assert counts[True][0] <= counts[False][0] - 20


# --- helm install --wait on a bare driver Pod ------------------------------------------------------
# Helm 3 `--wait` and Helm 4 `--wait=legacy` poll for the Pod's Ready condition; Helm 4 `--wait`
# (`--wait=watcher`) reads kstatus through a watch. Helmfile's `wait: true` passes Helm 3's `--wait`.

WAITS = [("helm3", "--wait"), ("helm4", "--wait=watcher"), ("helm4", "--wait=legacy")]


@pytest.fixture(params=WAITS, ids=[f"{h}{w.removeprefix('--wait')}" for h, w in WAITS])
def waiting(request: pytest.FixtureRequest, cluster: RunningCluster, tmp_path: Path) -> tuple[str, str, Path, dict[str, str]]:
    """(helm name, wait flag, binary, environment)."""
    helm_name, flag = request.param
    return helm_name, flag, tool(helm_name), client_env(tmp_path / "home", cluster.kubeconfig)


def _label(helm_name: str, flag: str) -> str:
    return f"{helm_name}-{flag.removeprefix('--wait').lstrip('=') or 'wait'}"


def test_wait_returns_once_the_driver_runs_not_when_the_app_ends(
    cluster: RunningCluster, waiting: tuple[str, str, Path, dict[str, str]]
) -> None:
    """Every strategy returns 0 while the driver is still running (Ready, or kstatus Current):
    `--wait` does not wait for the Spark result."""
    helm_name, flag, binary, env = waiting
    name = f"run-{_label(helm_name, flag)}"
    cluster.kubelet.scripts[name] = DriverScript(outcome="Succeeded", run_for=60)
    result = run(binary, "install", name, CHART, "-f", PI, flag, "--timeout", "60s", env=env)
    assert result.returncode == 0, result.stderr
    pod = cluster.get("Pod", f"{name}-driver")
    assert pod is not None and pod["status"]["phase"] == "Running"
    if flag == "--wait=watcher":  # the watcher lists with WatchList and waits for its bookmark
        assert any("sendInitialEvents=true" in p for _, p in cluster.requests())


def test_wait_on_a_driver_that_is_never_scheduled_fails_at_the_timeout(
    cluster: RunningCluster, waiting: tuple[str, str, Path, dict[str, str]]
) -> None:
    helm_name, flag, binary, env = waiting
    name = f"pend-{_label(helm_name, flag)}"
    cluster.kubelet.scripts[name] = DriverScript(outcome="Pending")
    started = time.monotonic()
    result = run(binary, "install", name, CHART, "-f", PI, flag, "--timeout", "4s", env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    if flag == "--wait=watcher":
        assert result.stderr.strip() == (
            f"Error: INSTALLATION FAILED: resource Pod/default/{name}-driver not ready. status: InProgress, "
            "message: Pod has not been scheduled\ncontext deadline exceeded"
        )
    else:
        assert result.stderr.strip() == "Error: INSTALLATION FAILED: context deadline exceeded"
    record = release_record(cluster, name, "default")
    assert record["info"]["status"] == "failed", "the release stays, marked failed (no --atomic)"
    print(f"{helm_name} {flag} on a Pending driver: exit 1 after {elapsed:.1f}s")


def _finish_without_running(cluster: RunningCluster, name: str, phase: str) -> None:
    """Move a Pending driver straight to a terminal phase: a driver that ran between two of Helm's looks."""
    def unschedulable() -> bool:
        pod = cluster.get("Pod", f"{name}-driver")
        return pod is not None and bool(pod["status"].get("conditions"))

    cluster.wait_for(unschedulable, timeout=30)
    pod = cluster.get("Pod", f"{name}-driver")
    assert pod is not None
    stamp = now()
    pod["status"] = {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": stamp}],
        "containerStatuses": [{"name": pod["spec"]["containers"][0]["name"], "ready": False, "restartCount": 0,
                               "image": "spark", "imageID": "sha256:0",
                               "state": {"terminated": {"exitCode": 0 if phase == "Succeeded" else 1,
                                                        "reason": "Completed" if phase == "Succeeded" else "Error",
                                                        "startedAt": stamp, "finishedAt": stamp}}}],
    }
    cluster.replace(pod)


@pytest.mark.parametrize("phase", ["Succeeded", "Failed"])
def test_wait_on_a_driver_that_already_ended(
    cluster: RunningCluster, waiting: tuple[str, str, Path, dict[str, str]], phase: str
) -> None:
    """The Ready-condition waits (Helm 3 `--wait`, Helm 4 `--wait=legacy`) look for Ready=True, which an
    ended pod never has again: they wait out the timeout and fail even when Spark succeeded. Helm 4's
    watcher takes an ended pod for a settled one: 0 for Succeeded, and 0 for Failed too, so its exit
    code says nothing about the Spark result either."""
    helm_name, flag, binary, env = waiting
    name = f"end-{phase.lower()}-{_label(helm_name, flag)}"
    cluster.kubelet.scripts[name] = DriverScript(outcome="Pending")
    process = subprocess.Popen(
        [str(binary), "install", name, str(CHART), "-f", str(PI), flag, "--timeout", "6s"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _finish_without_running(cluster, name, phase)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    if flag == "--wait=watcher":
        assert process.returncode == 0, err
    else:
        assert (process.returncode, err.strip()) == (1, "Error: INSTALLATION FAILED: context deadline exceeded")
    print(f"{helm_name} {flag} on a driver already {phase}: exit {process.returncode} {err.strip()!r}")
