"""The real kubectl 1.31 and 1.37 against the emulated API server, on apps `sparkhelm run` installed.

What an ops user types to look at a Spark app: list drivers by label, read logs, `get all`, check
RBAC with `auth can-i`, watch pods, and `kubectl apply` a `sparkhelm template`. Each of these
failed against the emulator before it served what a real API server serves (Table responses,
discovery without subresource categories, protobuf access reviews, watch streams typed JSON that
end on time, Services with a cluster IP); the tests pin kubectl's own output.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import VALUES_DIR, Cli
from tests.harness import DriverScript, RunningCluster
from tests.tools import client_env, run, tool

PI = str(VALUES_DIR / "pyspark-pi.yaml")
Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(params=["kubectl31", "kubectl37"])
def kubectl_bin(request: pytest.FixtureRequest) -> Path:
    return tool(request.param)


@pytest.fixture
def kubectl(kubectl_bin: Path, cluster: RunningCluster, tmp_path: Path) -> Kubectl:
    env = client_env(tmp_path / "home", cluster.kubeconfig)

    def call(*args: str, timeout: float = 60, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run(kubectl_bin, *args, env=env, timeout=timeout, stdin=stdin)

    return call


def table(output: str) -> tuple[list[str], dict[str, list[str]]]:
    """kubectl's table: the header cells and the rows by name (columns are split on 2+ spaces)."""
    lines = [line for line in output.splitlines() if line.strip()]
    header = re.split(r"\s{2,}", lines[0].strip())
    rows = {cells[0]: cells for cells in (re.split(r"\s{2,}", line.strip()) for line in lines[1:])}
    return header, rows


def run_apps(cluster: RunningCluster, cli: Cli) -> None:
    """`done-app` ran to completion (sparkhelm run --wait); `live-app` is running with 2 executors."""
    result = cli("run", "-f", PI, "--name", "done-app", "--wait")
    assert result.exit_code == 0, result.stderr
    cluster.kubelet.scripts["live-app"] = DriverScript(outcome="Running")
    result = cli("run", "-f", PI, "--name", "live-app")
    assert result.exit_code == 0, result.stderr
    cluster.wait_for(lambda: len([n for n in cluster.names("Pod") if n.startswith("live-app-exec-")]) == 2)


def test_get_pods_by_label_shows_the_servers_columns(cluster: RunningCluster, cli: Cli, kubectl: Kubectl) -> None:
    run_apps(cluster, cli)
    result = kubectl("get", "pods", "-l", "spark-role=driver")
    assert result.returncode == 0, result.stderr
    header, rows = table(result.stdout)
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert sorted(rows) == ["done-app-driver", "live-app-driver"], "executors are not drivers"
    assert rows["done-app-driver"][1:4] == ["0/1", "Completed", "0"]
    assert rows["live-app-driver"][1:4] == ["1/1", "Running", "0"]
    assert re.fullmatch(r"\d+s", rows["live-app-driver"][4])

    wide = kubectl("get", "pods", "-l", "app-name=live-app,spark-role=executor", "-o", "wide")
    assert wide.returncode == 0, wide.stderr
    header, rows = table(wide.stdout)
    assert header[:6] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP"]
    assert sorted(rows) == ["live-app-exec-1", "live-app-exec-2"]


def test_logs_of_a_driver(cluster: RunningCluster, cli: Cli, kubectl: Kubectl) -> None:
    run_apps(cluster, cli)
    result = kubectl("logs", "done-app-driver")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Pi is roughly 3.14159\nSparkContext stopped\n"
    missing = kubectl("logs", "nope-driver")
    assert missing.returncode == 1
    assert 'pods "nope-driver" not found' in missing.stderr


def test_get_all_lists_the_apps_pods_and_services(cluster: RunningCluster, cli: Cli, kubectl: Kubectl) -> None:
    run_apps(cluster, cli)
    result = kubectl("get", "all", "-l", "app-name=done-app")
    assert result.returncode == 0, result.stderr
    blocks = result.stdout.strip().split("\n\n")
    pods_header, pods = table(blocks[0])
    assert pods_header[:3] == ["NAME", "READY", "STATUS"] and list(pods) == ["pod/done-app-driver"]
    svc_header, services = table(blocks[1])
    assert svc_header == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert services["service/done-app-driver-svc"][1:5] == ["ClusterIP", "None", "<none>", "7078/TCP,7079/TCP"]
    ui = services["service/done-app-ui-svc"]
    assert ui[1] == "ClusterIP" and re.fullmatch(r"10\.96\.\d+\.\d+", ui[2]) and ui[4] == "4040/TCP"
    assert len(blocks) == 2, "no workload controllers in an app"


def test_auth_can_i_reads_kubectls_access_review(cluster: RunningCluster, kubectl: Kubectl) -> None:
    allowed = kubectl("auth", "can-i", "create", "pods")
    assert (allowed.returncode, allowed.stdout.strip()) == (0, "yes"), allowed.stderr
    cluster.emulator.denied.add(("create", "pods", "spark"))
    denied = kubectl("auth", "can-i", "create", "pods", "-n", "spark")
    assert (denied.returncode, denied.stdout.strip()) == (1, "no - denied by the test's RBAC"), denied.stderr
    assert kubectl("auth", "can-i", "create", "pods", "-n", "default").stdout.strip() == "yes"
    reviews = [p for m, p in cluster.requests() if m == "POST" and "selfsubjectaccessreviews" in p]
    assert len(reviews) == 3


def test_get_pods_watch_prints_each_change_and_ends(
    cluster: RunningCluster, cli: Cli, kubectl_bin: Path, tmp_path: Path
) -> None:
    env = client_env(tmp_path / "home", cluster.kubeconfig)
    watcher = subprocess.Popen(
        [str(kubectl_bin), "get", "pods", "-l", "app-name=w-app,spark-role=driver", "-w", "--request-timeout=8s"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        cluster.wait_for(lambda: any(m == "GET" and "watch=true" in p for m, p in cluster.requests()), timeout=30)
        result = cli("run", "-f", PI, "--name", "w-app", "--wait")
        assert result.exit_code == 0, result.stderr
        out, err = watcher.communicate(timeout=60)  # --request-timeout ends the watch
    finally:
        watcher.kill()
    assert watcher.returncode == 0, err
    lines = [re.split(r"\s{2,}", line.strip()) for line in out.splitlines() if line.strip()]
    assert lines[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert all(line[0] == "w-app-driver" for line in lines[1:]), "one header, then one line per event"
    statuses = [line[2] for line in lines[1:]]
    assert statuses[0] == "Pending" and statuses[-1] == "Completed" and "Running" in statuses
    assert statuses.index("Running") < statuses.index("Completed")


def test_a_watch_ends_after_its_timeout_seconds(cluster: RunningCluster, cli: Cli, kubectl: Kubectl) -> None:
    """client-go's reflectors ask for timeoutSeconds and restart the watch when the server ends it."""
    cluster.kubelet.scripts["t-app"] = DriverScript(outcome="Running")
    assert cli("run", "-f", PI, "--name", "t-app").exit_code == 0
    result = kubectl("get", "--raw", "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1"
                     "&labelSelector=spark-role%3Ddriver", timeout=30)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "t-app-driver")]


def test_a_watch_resumes_from_a_resource_version(cluster: RunningCluster, kubectl: Kubectl) -> None:
    """A watch from the resourceVersion of a LIST gets the changes made since, as clients that list then
    watch (kubectl, client-go reflectors, Helm 4's watcher) rely on: nothing between the two is lost."""
    cluster.seed({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "r-driver", "labels": {"spark-role": "driver"}},
                  "spec": {"containers": [{"name": "driver", "image": "spark"}]}, "status": {"phase": "Pending"}},
                 quiet=True)
    listed = kubectl("get", "--raw", "/api/v1/namespaces/default/pods?labelSelector=spark-role%3Ddriver")
    version = json.loads(listed.stdout)["metadata"]["resourceVersion"]
    pod = cluster.get("Pod", "r-driver")
    assert pod is not None
    pod["status"] = {"phase": "Running"}
    cluster.replace(pod)
    result = kubectl("get", "--raw", f"/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1"
                     f"&resourceVersion={version}&labelSelector=spark-role%3Ddriver", timeout=30)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e["type"], e["object"]["status"]["phase"]) for e in events] == [("MODIFIED", "Running")]


def test_apply_of_sparkhelm_template(cluster: RunningCluster, cli: Cli, kubectl: Kubectl) -> None:
    rendered = cli("template", "-f", PI, "--name", "applied", "-n", "default")
    assert rendered.exit_code == 0, rendered.stderr
    documents = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    result = kubectl("apply", "-f", "-", stdin=rendered.stdout)
    assert result.returncode == 0, result.stderr
    created = sorted(result.stdout.splitlines())
    expected = sorted(f"{_kubectl_kind(d)}/{d['metadata']['name']} created" for d in documents)
    assert created == expected
    pod: dict[str, Any] | None = cluster.get("Pod", "applied-driver")
    assert pod is not None
    applied = json.loads(pod["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert applied["spec"]["containers"][0]["image"] == documents_by_kind(documents)["Pod"]["spec"]["containers"][0]["image"]
    again = kubectl("apply", "-f", "-", stdin=rendered.stdout)
    assert again.returncode == 0, again.stderr
    assert sorted(again.stdout.splitlines()) == [line.replace(" created", " unchanged") for line in expected]


def documents_by_kind(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in documents}


def _kubectl_kind(document: dict[str, Any]) -> str:
    """How kubectl names a kind in its messages: lower case, with the group (pod, role.rbac.authorization.k8s.io)."""
    group = document["apiVersion"].rpartition("/")[0]
    return document["kind"].lower() + (f".{group}" if group else "")


def test_kubectl_runs_once_discovery_is_aggregated(cluster: RunningCluster, kubectl: Kubectl) -> None:
    """A 1.30+ API server answers discovery in two requests; kubectl then asks no group-version."""
    before = len(cluster.requests())
    result = kubectl("get", "pods")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "No resources found in default namespace."
    paths = [p.split("?")[0] for _, p in cluster.requests()[before:]]
    assert paths == ["/api", "/apis", "/api/v1/namespaces/default/pods"]


def test_version_reports_the_emulated_server(kubectl: Kubectl) -> None:
    result = kubectl("version", "-o", "json")
    assert json.loads(result.stdout)["serverVersion"]["gitVersion"] == "v1.37.0"


def test_the_emulated_version_is_configurable(kubectl_bin: Path, tmp_path: Path) -> None:
    older = RunningCluster(tmp_path, version=("1", "31"))
    try:
        env = client_env(tmp_path / "home", older.kubeconfig)
        result = run(kubectl_bin, "version", "-o", "json", env=env)
        assert json.loads(result.stdout)["serverVersion"]["gitVersion"] == "v1.31.0"
        document = run(kubectl_bin, "get", "--raw", "/openapi/v3/api/v1", env=env)
        assert json.loads(document.stdout)["info"]["version"] == "v1.31.0"
    finally:
        older.close()
