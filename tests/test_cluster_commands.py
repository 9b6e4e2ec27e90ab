"""run / list / status / logs / delete / gc / ui against the emulated API server.

Every request goes over HTTP to tests/harness (kmock's KubernetesEmulator, completed): the real
`kubernetes` client and the real embedded Helm SDK install, read and uninstall there. Nothing in
the client or the engines is patched.
"""

from __future__ import annotations

import datetime
import http.server
import json
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import VALUES_DIR, Cli, write_values
from tests.harness import DriverScript, RunningCluster
from tests.harness.emulator import PODS

PI = str(VALUES_DIR / "pyspark-pi.yaml")
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def writes(cluster: RunningCluster) -> list[tuple[str, str]]:
    """Requests that change state (access reviews are questions, not writes)."""
    return [(m, p) for m, p in cluster.requests() if m in WRITES and "selfsubject" not in p]


def one_line_error(result: Any, code: int) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sparkhelm: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def run_app(cli: Cli, name: str, *extra: str) -> Any:
    result = cli("run", "-f", PI, "--name", name, *extra)
    assert result.exit_code == 0, result.stderr
    return result


def age_app(cluster: RunningCluster, name: str, namespace: str, hours: float) -> None:
    """Pretend the driver ended `hours` ago."""
    pod = cluster.get("Pod", f"{name}-driver", namespace)
    assert pod is not None
    ended = datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(hours=hours)
    stamp = ended.strftime("%Y-%m-%dT%H:%M:%SZ")
    for status in pod["status"]["containerStatuses"]:
        status["state"]["terminated"]["finishedAt"] = stamp
    pod["metadata"]["creationTimestamp"] = stamp
    cluster.replace(pod)


# --- run ---------------------------------------------------------------------------------------


def test_run_wait_logs_gives_sparks_result_and_streams_the_log(cluster: RunningCluster, cli: Cli) -> None:
    result = cli("run", "-f", PI, "--name", "pi-ok", "--wait", "--logs")
    assert result.exit_code == 0, result.stderr
    assert "app:        pi-ok" in result.stdout
    assert "driver pod: pi-ok-driver" in result.stdout
    # The commands name the cluster the app went to (namespace and context), not whatever is current later.
    assert "sparkhelm ui pi-ok -n default --kube-context emulator" in result.stdout
    assert "sparkhelm logs pi-ok -n default --kube-context emulator -f" in result.stdout
    assert "Pi is roughly 3.14159" in result.stdout
    assert "driver pi-ok-driver: Succeeded" in result.stderr
    made = writes(cluster)
    assert made[0] == ("POST", "/api/v1/namespaces/default/secrets")  # Helm's release record, pending-install
    assert ("POST", "/api/v1/namespaces/default/pods") in made  # the driver pod
    assert ("PUT", "/api/v1/namespaces/default/secrets/sh.helm.release.v1.pi-ok.v1") in made  # deployed
    assert cluster.names("Secret") == ["pi-ok-rpc-secret", "sh.helm.release.v1.pi-ok.v1"]  # the app's RPC secret, the release


def test_run_of_a_failed_app_exits_1_with_the_termination_message(cluster: RunningCluster, cli: Cli) -> None:
    cluster.kubelet.scripts["pi-bad"] = DriverScript(
        outcome="Failed", exit_code=3, message="java.lang.OutOfMemoryError: Java heap space",
        log=["starting", "Exception in thread main java.lang.OutOfMemoryError"],
    )
    result = cli("run", "-f", PI, "--name", "pi-bad", "--wait")
    assert result.exit_code == 1
    assert "sparkhelm: error: pi-bad failed (exit code 3): java.lang.OutOfMemoryError: Java heap space" in result.stderr
    assert "Exception in thread main java.lang.OutOfMemoryError" in result.stderr  # the last log lines


def test_run_cleanup_and_archive_leave_a_record_and_no_objects(cluster: RunningCluster, cli: Cli,
                                                               tmp_path: Path) -> None:
    archive = tmp_path / "runs"
    result = cli("run", "-f", PI, "--name", "pi-tidy", "--cleanup", "--archive-logs", archive)
    assert result.exit_code == 0, result.stderr
    assert "Pi is roughly 3.14159" in (archive / "pi-tidy" / "driver.log").read_text()
    record = json.loads((archive / "pi-tidy" / "status.json").read_text())
    assert record["app"]["phase"] == "Succeeded" and record["app"]["exit_code"] == 0
    assert cluster.names("Pod") == []
    assert cluster.names("Secret") == []
    assert cluster.names("ConfigMap") == []
    assert cluster.names("Service") == []


def test_wait_timeout_exits_1_and_leaves_the_app_running(cluster: RunningCluster, cli: Cli) -> None:
    cluster.kubelet.scripts["pi-queued"] = DriverScript(outcome="Pending")
    result = cli("run", "-f", PI, "--name", "pi-queued", "--wait", "--timeout", "1s")
    assert result.exit_code == 1
    progress, error = result.stderr.strip().splitlines()
    assert progress == "driver pi-queued-driver: Pending: Unschedulable 0/3 nodes are available: 3 Insufficient cpu."
    assert error.startswith("sparkhelm: error: pi-queued is still Pending after 1s; it keeps running")
    assert cluster.get("Pod", "pi-queued-driver") is not None


def test_ctrl_c_stops_following_and_says_how_to_delete(cluster: RunningCluster, cli: Cli,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from sparkhelm.ops import follow

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(follow, "follow", interrupted)
    result = cli("run", "-f", PI, "--name", "pi-int", "--wait")
    assert result.exit_code == 130
    assert "stopped following pi-int; it keeps running" in result.stderr
    assert "sparkhelm delete pi-int -n default" in result.stderr


def test_bad_input_reaches_no_cluster(cluster: RunningCluster, cli: Cli, tmp_path: Path) -> None:
    bad = write_values(tmp_path, {"driver": {"memory": "lots"}})
    one_line_error(cli("run", "-f", PI, "-f", bad, "--name", "pi-x", "--wait"), 2)
    one_line_error(cli("run", "-f", PI, "--name", "Not_A_Name"), 2)
    one_line_error(cli("run", "-f", PI, "--timeout", "soon", "--wait"), 2)
    assert cluster.requests() == []


# --- pre-flight checks -------------------------------------------------------------------------


def test_missing_namespace_is_refused_before_any_write(cluster: RunningCluster, cli: Cli) -> None:
    line = one_line_error(cli("run", "-f", PI, "--name", "pi-ns", "-n", "nowhere"), 2)
    assert "namespace nowhere does not exist" in line
    assert writes(cluster) == []


def test_missing_service_account_is_refused(cluster: RunningCluster, cli: Cli) -> None:
    result = cli("run", "-f", PI, "--name", "pi-sa", "--set", "serviceAccount.create=false",
                 "--set", "serviceAccount.name=ghost", "--set", "rbac.create=false")
    assert "service account ghost does not exist in namespace default" in one_line_error(result, 2)
    assert writes(cluster) == []


def test_missing_executor_service_account_is_refused(cluster: RunningCluster, cli: Cli) -> None:
    args = ("run", "-f", PI, "--name", "pi-esa", "--set", "executor.serviceAccount.create=false",
            "--set", "executor.serviceAccount.name=spark-exec")
    line = one_line_error(cli(*args), 2)
    assert "executor.serviceAccount.name: service account spark-exec does not exist in namespace default" in line
    assert writes(cluster) == []
    cluster.seed({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "spark-exec", "namespace": "default"}})
    run_app(cli, "pi-esa", *args[5:])
    assert cluster.names("ServiceAccount") == ["default", "pi-esa-driver", "spark-exec"]


def test_volcano_needs_its_podgroups_and_gets_one(cluster: RunningCluster, cli: Cli) -> None:
    args = ("--set", "scheduler.name=volcano", "--set", "volcano.podGroup.queue=team-a")
    line = one_line_error(cli("run", "-f", PI, "--name", "pi-vc", *args), 2)
    assert "cluster serves no Volcano podgroups (scheduling.volcano.sh/v1beta1)" in line and "volcano.podGroup.enabled=false" in line
    assert writes(cluster) == []
    cluster.install_volcano()
    run_app(cli, "pi-vc", *args)
    group = cluster.get("PodGroup", "pi-vc-podgroup")
    assert group is not None and group["spec"] == {"minMember": 1, "queue": "team-a"}
    driver = cluster.get("Pod", "pi-vc-driver")
    assert driver is not None and driver["metadata"]["annotations"]["scheduling.k8s.io/group-name"] == "pi-vc-podgroup"
    assert sorted(cluster.names("NetworkPolicy")) == ["pi-vc-driver-netpol", "pi-vc-exec-netpol"]


def test_missing_priority_class_is_refused_and_existing_one_accepted(cluster: RunningCluster, cli: Cli) -> None:
    result = cli("run", "-f", PI, "--name", "pi-pc", "--set", "priorityClassName=urgent")
    assert "priority class urgent does not exist" in one_line_error(result, 2)
    assert writes(cluster) == []
    cluster.seed({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "urgent"},
                  "value": 1000})
    run_app(cli, "pi-pc", "--set", "priorityClassName=urgent")
    assert cluster.get("Pod", "pi-pc-driver")["spec"]["priorityClassName"] == "urgent"


def test_an_existing_priority_class_is_asked_once_then_cached_a_missing_one_never(cluster: RunningCluster,
                                                                                  cli: Cli) -> None:
    path = "/apis/scheduling.k8s.io/v1/priorityclasses/batch-low"
    for name in ("pi-pq-1", "pi-pq-2"):  # missing: asked each time, refused each time
        assert "priority class batch-low does not exist" in one_line_error(
            cli("run", "-f", PI, "--name", name, "--set", "priorityClassName=batch-low"), 2)
    assert [p for _, p in cluster.requests()].count(path) == 2
    cluster.seed({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "batch-low"},
                  "value": 10})
    for name in ("pi-pq-1", "pi-pq-2"):  # then it exists: the first submission asks, the second reads the cache
        run_app(cli, name, "--set", "priorityClassName=batch-low")
    assert [p for _, p in cluster.requests()].count(path) == 3


def test_inventories_list_metadata_only_and_still_find_everything(cluster: RunningCluster, cli: Cli) -> None:
    """ConfigMaps (orphans) and every LIST of delete's inventory ask for PartialObjectMetadataList.

    Whole objects only where their contents are read: driver pods and CronJobs (status), and the records of
    the one release being uninstalled (its manifest).
    """
    run_app(cli, "pi-meta", "--wait")
    cluster.call(cluster.emulator._remove(PODS, "default", "pi-meta-driver"))  # an orphan: found by its ConfigMap
    before = len(cluster.accepts())
    assert "pi-meta   Orphaned" in cli("list").stdout
    assert cli("delete", "pi-meta").stdout.strip() == "deleted pi-meta"
    lists = [(urllib.parse.unquote(path), accept) for method, path, accept in cluster.accepts()[before:]
             if method == "GET" and "labelSelector=" in path]
    metadata = {path.split("?")[0] for path, accept in lists if "as=PartialObjectMetadataList" in accept}
    whole = {path.split("?")[0] + (" (release records)" if "owner=helm,name=pi-meta" in path else "")
             for path, accept in lists if "as=PartialObjectMetadataList" not in accept}
    assert "/api/v1/namespaces/default/configmaps" in metadata and "/api/v1/namespaces/default/secrets" in metadata
    assert whole == {"/api/v1/namespaces/default/pods", "/apis/batch/v1/namespaces/default/cronjobs",
                     "/api/v1/namespaces/default/secrets (release records)"}, whole
    assert cluster.names("ConfigMap") == [] and cluster.names("Secret") == [] and cluster.names("Service") == []


def test_forbidden_priority_class_read_is_a_warning(cluster: RunningCluster, cli: Cli) -> None:
    cluster.emulator.denied.add(("get", "priorityclasses", ""))
    result = run_app(cli, "pi-pcw", "--set", "priorityClassName=urgent")
    assert "sparkhelm: warning: cannot read priority class urgent (forbidden); not checked" in result.stderr


def test_missing_ingress_class_is_refused(cluster: RunningCluster, cli: Cli) -> None:
    result = cli("run", "-f", PI, "--name", "pi-ing", "--set", "ui.ingress.enabled=true",
                 "--set", "ui.ingress.className=nginx", "--set", "ui.ingress.host=spark.example.com")
    assert "ingress class nginx does not exist" in one_line_error(result, 2)
    cluster.seed({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "nginx"},
                  "spec": {"controller": "k8s.io/ingress-nginx"}})
    result = run_app(cli, "pi-ing", "--set", "ui.ingress.enabled=true", "--set", "ui.ingress.className=nginx",
                     "--set", "ui.ingress.host=spark.example.com")
    assert "ui:         http://spark.example.com/pi-ing/" in result.stdout
    assert cli("status", "pi-ing", "-o", "json").stdout.count("http://spark.example.com/pi-ing/") == 1


def test_rbac_denial_is_refused_with_the_permission_and_a_way_out(cluster: RunningCluster, cli: Cli) -> None:
    cluster.emulator.denied.add(("create", "roles", "default"))
    line = one_line_error(cli("run", "-f", PI, "--name", "pi-rbac"), 2)
    assert "you may not create roles.rbac.authorization.k8s.io in namespace default" in line
    assert "rbac.create=false" in line
    assert writes(cluster) == []


def test_a_role_granting_what_the_caller_lacks_is_refused(cluster: RunningCluster, cli: Cli) -> None:
    cluster.emulator.denied.add(("deletecollection", "pods", "default"))
    line = one_line_error(cli("run", "-f", PI, "--name", "pi-esc"), 2)
    assert "you may not deletecollection pods in namespace default" in line


def test_a_name_in_use_is_never_upgraded(cluster: RunningCluster, cli: Cli) -> None:
    run_app(cli, "pi-same")
    before = cluster.get("Pod", "pi-same-driver")
    line = one_line_error(cli("run", "-f", PI, "--name", "pi-same", "--set", "driver.cores=2"), 2)
    assert "app name pi-same is already in use in namespace default" in line
    after = cluster.get("Pod", "pi-same-driver")
    assert after["spec"] == before["spec"] and after["metadata"]["uid"] == before["metadata"]["uid"]
    assert cluster.names("Secret") == ["pi-same-rpc-secret", "sh.helm.release.v1.pi-same.v1"]


def test_an_install_that_fails_part_way_leaves_nothing_behind(cluster: RunningCluster, cli: Cli) -> None:
    cluster.emulator.rejected.add("pods")  # an admission webhook: RBAC allowed it, the pod is still refused
    result = cli("run", "-f", PI, "--name", "pi-half")
    line = one_line_error(result, 1)
    assert "admission webhook" in line and "the partial install was removed" in line
    methods = {m for m, _ in writes(cluster)}
    assert {"POST", "DELETE"} <= methods  # it did write, then removed what it wrote
    for kind in ("Pod", "Secret", "ConfigMap", "Service", "ServiceAccount", "Role", "RoleBinding"):
        assert cluster.names(kind) == ([] if kind != "ServiceAccount" else ["default"]), kind


def test_unreachable_cluster_is_one_line(tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "gone",
              "clusters": [{"name": "gone", "cluster": {"server": "http://127.0.0.1:9"}}],
              "users": [{"name": "u", "user": {}}],
              "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}]}
    path = write_values(tmp_path, config, "kubeconfig")
    monkeypatch.setenv("KUBECONFIG", str(path))
    for args in (("list",), ("status", "pi"), ("run", "-f", PI, "--name", "pi")):
        line = one_line_error(cli(*args), 1)
        assert "cannot reach the Kubernetes API at http://127.0.0.1:9" in line


def test_missing_kubeconfig_is_a_user_error(tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert "no kubeconfig at" in one_line_error(cli("list"), 2)


def test_context_namespace_and_kube_context_flag(cluster: RunningCluster, cli: Cli, tmp_path: Path) -> None:
    config = cluster.kubeconfig_dict("spark")
    config["contexts"].append({"name": "other", "context": {"cluster": "emulator", "user": "tester",
                                                              "namespace": "default"}})
    path = write_values(tmp_path, config, "kubeconfig-2")
    result = cli("run", "-f", PI, "--name", "pi-ctx", "--kubeconfig", path)
    assert "namespace:  spark" in result.stdout  # the context's namespace
    assert cluster.get("Pod", "pi-ctx-driver", "spark") is not None
    assert cli("list", "--kubeconfig", path, "--kube-context", "other").stderr.strip() == "no apps found"
    assert "pi-ctx" in cli("list", "--kubeconfig", path).stdout


# --- list / status / logs ----------------------------------------------------------------------


def test_list_is_one_label_selected_call_and_shows_only_this_charts_apps(cluster: RunningCluster,
                                                                          cli: Cli) -> None:
    cluster.kubelet.scripts["pi-run"] = DriverScript(outcome="Running")
    run_app(cli, "pi-a", "--wait")
    run_app(cli, "pi-run")
    cluster.wait_for(lambda: cluster.get("Pod", "pi-run-exec-2") is not None)  # settled: Running
    cluster.seed({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "other-driver", "namespace": "default",
                                                                   "labels": {"spark-role": "driver"}},
                  "spec": {"containers": [{"name": "x", "image": "x"}]}})
    before = len(cluster.requests())
    result = cli("list", "-o", "json")
    assert result.exit_code == 0, result.stderr
    apps = json.loads(result.stdout)
    assert sorted(a["name"] for a in apps) == ["pi-a", "pi-run"]
    assert {a["name"]: a["phase"] for a in apps}["pi-a"] == "Succeeded"
    assert set(apps[0]) == {"name", "namespace", "phase", "created", "started", "finished", "priority_class",
                            "exit_code", "reason", "message", "failure", "ttl", "kind", "schedule", "time_zone",
                            "suspend", "last_schedule", "last_run", "last_run_phase", "connect"}
    assert {a["kind"] for a in apps} == {"app"}
    new = cluster.requests()[before:]
    # driver pods, the ConfigMaps that reveal orphans, the CronJobs of scheduled apps
    assert [method for method, _ in new] == ["GET", "GET", "GET"]
    queries = [urllib.parse.parse_qs(urllib.parse.urlsplit(path).query) for _, path in new]
    assert queries[0]["labelSelector"] == ["app.kubernetes.io/name=spark-client-app,spark-role=driver"]
    assert queries[1]["labelSelector"] == ["app.kubernetes.io/name=spark-client-app,app.kubernetes.io/component=config"]
    assert new[2][1].startswith("/apis/batch/v1/namespaces/default/cronjobs?")
    assert queries[2]["labelSelector"] == ["app.kubernetes.io/name=spark-client-app"]
    table = cli("list").stdout.splitlines()
    assert table[0].split() == ["NAME", "PHASE", "AGE", "PRIORITY", "CLASS"]
    assert yaml.safe_load(cli("list", "-o", "yaml").stdout) == json.loads(cli("list", "-o", "json").stdout)


def test_list_all_namespaces(cluster: RunningCluster, cli: Cli) -> None:
    run_app(cli, "pi-d")
    run_app(cli, "pi-s", "-n", "spark")
    assert [line.split()[0] for line in cli("list").stdout.splitlines()[1:]] == ["pi-d"]
    rows = [line.split()[:2] for line in cli("list", "-A").stdout.splitlines()[1:]]
    assert rows == [["default", "pi-d"], ["spark", "pi-s"]]
    one_line_error(cli("list", "-o", "csv"), 2)


def test_status_shows_driver_executors_and_exit_code(cluster: RunningCluster, cli: Cli) -> None:
    cluster.kubelet.scripts["pi-live"] = DriverScript(outcome="Running", executors=3)
    run_app(cli, "pi-live")
    cluster.wait_for(lambda: len(cluster.names("Pod")) == 4)
    live = json.loads(cli("status", "pi-live", "-o", "json").stdout)
    assert live["phase"] == "Running" and live["executors"] == {"Running": 3}
    assert live["driver_pod"] == "pi-live-driver" and live["ui"] is None
    run_app(cli, "pi-done", "--wait")
    done = cli("status", "pi-done")
    assert "phase:           Succeeded" in done.stdout
    assert "exit code:       0" in done.stdout
    assert "executors:       none" in done.stdout
    assert "no app pi-none in namespace default" in one_line_error(cli("status", "pi-none"), 1)
    assert "not a valid app name" in one_line_error(cli("status", "Bad_Name"), 2)


def test_logs_of_driver_and_executor_and_follow(cluster: RunningCluster, cli: Cli) -> None:
    run_app(cli, "pi-log", "--wait")
    assert cli("logs", "pi-log").stdout.splitlines() == ["Pi is roughly 3.14159", "SparkContext stopped"]
    cluster.kubelet.scripts["pi-exe"] = DriverScript(outcome="Running", log=["a", "b", "c"], run_for=0.3)
    run_app(cli, "pi-exe")
    cluster.wait_for(lambda: cluster.get("Pod", "pi-exe-exec-1") is not None)
    cluster.emulator.logs[("default", "pi-exe-exec-1")] = "executor 1 started\n"
    assert cli("logs", "pi-exe", "--executor", "1").stdout == "executor 1 started\n"
    assert "no executor pod pi-exe-exec-9" in one_line_error(cli("logs", "pi-exe", "--executor", "9"), 1)
    one_line_error(cli("logs", "pi-exe", "--executor", "x1"), 2)
    cluster.kubelet.scripts["pi-f"] = DriverScript(log=["one", "two", "three"], run_for=0.3)
    run_app(cli, "pi-f")
    assert cli("logs", "pi-f", "-f").stdout.splitlines() == ["one", "two", "three"]


# --- delete / gc -------------------------------------------------------------------------------


def test_delete_takes_executors_with_the_driver_and_says_when_there_is_nothing(cluster: RunningCluster, cli: Cli) -> None:
    cluster.kubelet.scripts["pi-del"] = DriverScript(outcome="Running", executors=2)
    run_app(cli, "pi-del")
    cluster.wait_for(lambda: cluster.get("Pod", "pi-del-exec-2") is not None)
    first = cli("delete", "pi-del")
    assert first.exit_code == 0 and first.stdout.strip() == "deleted pi-del"
    assert cluster.names("Pod") == []  # executors were owned by the driver pod: garbage-collected
    assert cluster.names("Secret") == []
    second = cli("delete", "pi-del", "pi-never")  # like kubectl delete and helm uninstall: nothing there is an error
    assert second.exit_code == 1 and second.stdout == ""
    assert second.stderr.splitlines() == ["sparkhelm: error: no app pi-del in namespace default",
                                          "sparkhelm: error: no app pi-never in namespace default"]
    tolerant = cli("delete", "pi-del", "--ignore-not-found")
    assert tolerant.exit_code == 0 and tolerant.stdout.splitlines() == ["pi-del was already gone"]
    one_line_error(cli("delete"), 2)
    one_line_error(cli("delete", "pi-x", "--all-finished"), 2)


def test_delete_all_finished_keeps_running_apps(cluster: RunningCluster, cli: Cli) -> None:
    cluster.kubelet.scripts["pi-keep"] = DriverScript(outcome="Running")
    cluster.kubelet.scripts["pi-fail"] = DriverScript(outcome="Failed")
    run_app(cli, "pi-keep")
    run_app(cli, "pi-end", "--wait")
    cli("run", "-f", PI, "--name", "pi-fail", "--wait")
    result = cli("delete", "--all-finished")
    assert sorted(result.stdout.splitlines()) == ["deleted pi-end", "deleted pi-fail"]
    assert cluster.names("Secret") == ["pi-keep-rpc-secret", "sh.helm.release.v1.pi-keep.v1"]


def test_gc_removes_only_apps_finished_long_enough_ago(cluster: RunningCluster, cli: Cli) -> None:
    cluster.kubelet.scripts["pi-running"] = DriverScript(outcome="Running")
    for name in ("pi-old", "pi-new"):
        run_app(cli, name, "--wait")
    run_app(cli, "pi-running")
    age_app(cluster, "pi-old", "default", hours=3)
    dry = cli("gc", "--older-than", "2h", "--dry-run")
    assert dry.stdout.splitlines() == ["would delete default/pi-old (Succeeded)"]
    assert len(cluster.names("Secret")) == 6  # a release record and an RPC secret per app
    real = cli("gc", "--older-than", "2h")
    assert real.stdout.splitlines() == ["deleted default/pi-old (Succeeded)"]
    assert cluster.names("Secret") == ["pi-new-rpc-secret", "pi-running-rpc-secret", "sh.helm.release.v1.pi-new.v1",
                                       "sh.helm.release.v1.pi-running.v1"]
    assert "no apps ended more than 2h ago" in cli("gc", "--older-than", "2h").stderr
    one_line_error(cli("gc", "--older-than", "two hours"), 2)


# --- ui ----------------------------------------------------------------------------------------


class _FakeSparkUi(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = f"<title>Spark Jobs</title> path={self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_ui_forwards_a_local_port_to_the_driver_ui(cluster: RunningCluster, cli: Cli) -> None:
    from sparkhelm import api

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeSparkUi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cluster.kubelet.scripts["pi-ui"] = DriverScript(outcome="Running")
    run_app(cli, "pi-ui")
    cluster.wait_for(lambda: (cluster.get("Pod", "pi-ui-driver") or {}).get("status", {}).get("phase") == "Running")
    cluster.emulator.forwards[("default", "pi-ui-driver", 4040)] = ("127.0.0.1", server.server_address[1])
    forwarder = api.open_ui("pi-ui", local_port=0)
    threading.Thread(target=forwarder.serve_forever, daemon=True).start()
    try:
        for _ in range(2):  # each browser connection gets its own port-forward stream
            with urllib.request.urlopen(forwarder.url + "jobs/", timeout=10) as response:
                assert response.read() == b"<title>Spark Jobs</title> path=/jobs/"
    finally:
        forwarder.stop()
        server.shutdown()
    portforwards = [p for m, p in cluster.requests() if "/portforward" in p]
    assert len(portforwards) == 2 and all("ports=4040" in p for p in portforwards)


def test_ui_of_a_finished_app_says_why_not(cluster: RunningCluster, cli: Cli) -> None:
    run_app(cli, "pi-gone", "--wait")
    assert "pi-gone is Succeeded: the Spark UI exists only while the driver runs" in one_line_error(
        cli("ui", "pi-gone"), 1
    )


def test_a_kubeconfig_list_is_merged_like_kubectl(cluster: RunningCluster, cli: Cli, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    extra = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    first = write_values(tmp_path, extra, "kubeconfig-extra")
    monkeypatch.setenv("KUBECONFIG", f"{first}:{cluster.kubeconfig}")
    result = cli("run", "-f", PI, "--name", "pi-merge")
    assert result.exit_code == 0, result.stderr
    assert cluster.names("Secret") == ["pi-merge-rpc-secret", "sh.helm.release.v1.pi-merge.v1"]
    assert cli("delete", "pi-merge").stdout.strip() == "deleted pi-merge"


def test_gc_honours_each_apps_own_ttl(cluster: RunningCluster, cli: Cli) -> None:
    """`ttl` (the chart writes it as sparkhelm.io/ttl) wins over --older-than, in both directions."""
    run_app(cli, "pi-short", "--set", "ttl=1s", "--wait")
    run_app(cli, "pi-plain", "--wait")
    run_app(cli, "pi-long", "--set", "ttl=3d", "--wait")
    age_app(cluster, "pi-long", "default", hours=5)
    time.sleep(1.2)
    result = cli("gc", "--older-than", "2h")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["deleted default/pi-short (Succeeded)"]
    assert cluster.get("Pod", "pi-plain-driver") is not None and cluster.get("Pod", "pi-long-driver") is not None
    assert "pi-long" not in cli("gc", "--older-than", "1h", "--dry-run").stdout  # 5h old, but its ttl is 3d


def test_a_submission_costs_the_writes_and_four_reads(cluster: RunningCluster, cli: Cli) -> None:
    """The direct installer: one rules review for every permission, no discovery, no per-object GET."""
    before = len(cluster.requests())
    run_app(cli, "pi-count")
    made = cluster.requests()[before:]
    writes_ = [(m, p) for m, p in made if m in WRITES and "selfsubject" not in p]
    reads = [(m, p) for m, p in made if (m, p) not in writes_]
    # every object once (the RPC Secret among them), and the release record twice (pending, deployed)
    assert [w for w in writes_ if w[0] != "POST"] == [("PUT", "/api/v1/namespaces/default/secrets/sh.helm.release.v1.pi-count.v1")]
    assert sum(p == "/api/v1/namespaces/default/secrets" for _, p in writes_) == 2
    assert len(made) <= len(writes_) + 4, reads  # namespace, release records, the app's ConfigMap, rules review
    assert sum("selfsubjectaccessreviews" in p for _, p in made) == 0


def test_gc_archives_logs_before_deleting(cluster: RunningCluster, cli: Cli, tmp_path: Path) -> None:
    run_app(cli, "pi-kept", "--wait")
    age_app(cluster, "pi-kept", "default", hours=3)
    result = cli("gc", "--archive-logs", tmp_path / "gc")
    assert result.exit_code == 0 and result.stdout.strip() == "deleted default/pi-kept (Succeeded)", result.stderr
    record = tmp_path / "gc" / "default" / "pi-kept"
    assert "Pi is roughly 3.14159" in (record / "driver.log").read_text()
    assert json.loads((record / "status.json").read_text())["app"]["phase"] == "Succeeded"
    assert cluster.get("Pod", "pi-kept-driver") is None


def test_discovery_of_an_optional_api_is_asked_once_then_cached(cluster: RunningCluster, cli: Cli) -> None:
    cluster.install_volcano()
    run_app(cli, "pi-vol-1", "--set", "scheduler.name=volcano")
    run_app(cli, "pi-vol-2", "--set", "scheduler.name=volcano")
    asked = [p for m, p in cluster.requests() if p.startswith("/apis/scheduling.volcano.sh/v1beta1?") or
             p == "/apis/scheduling.volcano.sh/v1beta1"]
    assert len(asked) == 1  # the second submission read ~/.cache/sparkhelm/cluster
