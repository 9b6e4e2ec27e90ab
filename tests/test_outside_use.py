"""What outside use found: hangs, false success, a dry run that disagreed with the run, forgotten clusters.

Each test here failed on the main branch of the time (see the issue "Fix what outside use found"),
against the emulated API server with real HTTP, the real embedded Helm engine and the real CLI.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sparkhelm import api
from tests.conftest import VALUES_DIR, Cli
from tests.harness import DriverScript, RunningCluster
from tests.harness.emulator import PODS
from tests.tools import client_env, run, tool

PI = str(VALUES_DIR / "pyspark-pi.yaml")


def one_error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("sparkhelm: error: ")]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr
    return errors[0]


# --- 1. --timeout holds in every mode, with a quiet or a chatty driver ---------------------------


@pytest.mark.parametrize("chatty", [False, True], ids=["quiet", "chatty"])
def test_run_logs_timeout_ends_the_wait_within_a_second_or_so(cluster: RunningCluster, cli: Cli, chatty: bool) -> None:
    """A pipeline once hung 14 minutes in `run --logs --timeout 4s`: the log stream had no deadline."""
    lines = [f"line {i}" for i in range(100_000)] if chatty else ["started"]
    cluster.kubelet.scripts["pi-long"] = DriverScript(outcome="Running", log=lines, run_for=600 if chatty else 0.05)
    start = time.monotonic()
    result = cli("run", "-f", PI, "--name", "pi-long", "--logs", "--timeout", "2s")
    elapsed = time.monotonic() - start
    assert result.exit_code == 1
    assert "pi-long is still Running after 2s; it keeps running" in one_error_line(result.stderr)
    assert elapsed < 12, elapsed  # 2 s of waiting plus the install; never the length of the app
    assert ("line 1" in result.stdout) if chatty else ("started" in result.stdout)


def test_api_run_with_logs_honours_its_timeout(cluster: RunningCluster) -> None:
    """The same path from Python (an Airflow task)."""
    cluster.kubelet.scripts["pi-api"] = DriverScript(outcome="Running", log=["x"] * 50_000, run_for=600)
    seen: list[str] = []
    start = time.monotonic()
    with pytest.raises(api.WaitTimeoutError):
        api.run(api.Inputs(values_files=[PI], name="pi-api"), logs=True, timeout=2, echo=seen.append, notice=seen.append)
    assert time.monotonic() - start < 12 and "x" in seen


# --- 2. delete and gc: done only when the objects are gone ----------------------------------------


def _apply_without_helm(cluster: RunningCluster, cli: Cli, name: str) -> list[str]:
    """`sparkhelm template | kubectl apply -f -`: the app's objects with no Helm release record."""
    rendered = cli("template", "-f", PI, "--name", name, "-n", "default")
    objects = [o for o in yaml.safe_load_all(rendered.stdout) if o]
    cluster.seed_many(objects)
    return [f"{o['kind']}/{o['metadata']['name']}" for o in objects]


def test_an_app_without_a_release_is_listed_deleted_and_really_gone(cluster: RunningCluster, cli: Cli) -> None:
    _apply_without_helm(cluster, cli, "applied")
    cluster.wait_for(lambda: (cluster.get("Pod", "applied-driver") or {}).get("status", {}).get("phase") == "Succeeded")
    assert "applied" in cli("list").stdout
    refused = cli("run", "-f", PI, "--name", "applied")
    assert refused.exit_code == 2 and "already in use" in refused.stderr
    deleted = cli("delete", "applied")
    assert deleted.exit_code == 0 and deleted.stdout.strip() == "deleted applied", deleted.stderr
    for kind in ("Pod", "Service", "ConfigMap", "ServiceAccount", "Role", "RoleBinding", "NetworkPolicy"):
        assert [n for n in cluster.names(kind) if n.startswith("applied-")] == [], kind
    again = cli("delete", "applied")
    assert again.exit_code == 1 and "no app applied in namespace default" in again.stderr


def test_gc_deletes_what_it_says_and_nothing_is_left_to_say_twice(cluster: RunningCluster, cli: Cli) -> None:
    """gc once printed "2 finished app(s) deleted" on every run and deleted nothing."""
    _apply_without_helm(cluster, cli, "applied-a")
    _apply_without_helm(cluster, cli, "applied-b")
    cluster.wait_for(lambda: all((cluster.get("Pod", f"applied-{x}-driver") or {}).get("status", {}).get("phase")
                                 == "Succeeded" for x in "ab"))
    first = cli("gc", "--older-than", "0s")
    assert first.exit_code == 0, first.stderr
    assert sorted(first.stdout.splitlines()) == ["deleted default/applied-a (Succeeded)",
                                                 "deleted default/applied-b (Succeeded)"]
    assert cluster.names("ConfigMap") == [] and cluster.names("Pod") == []
    second = cli("gc", "--older-than", "0s")
    assert second.exit_code == 0 and second.stdout == "" and "no apps ended" in second.stderr


def test_an_app_whose_driver_pod_vanished_is_orphaned_listed_and_collected(cluster: RunningCluster, cli: Cli) -> None:
    cluster.kubelet.scripts["lost"] = DriverScript(outcome="Running")
    assert cli("run", "-f", PI, "--name", "lost").exit_code == 0
    cluster.call(cluster.emulator._remove(PODS, "default", "lost-driver"))  # a node lost, a kubectl delete pod
    listed = {a["name"]: a for a in yaml.safe_load(cli("list", "-o", "yaml").stdout)}
    assert listed["lost"]["phase"] == "Orphaned" and listed["lost"]["reason"] == "DriverPodGone"
    assert "lost-driver-svc" in cluster.names("Service")  # the leftovers a user would otherwise never see
    shown = cli("status", "lost")
    assert shown.exit_code == 0 and "Orphaned (DriverPodGone)" in shown.stdout
    collected = cli("gc", "--older-than", "0s")
    assert collected.stdout.strip() == "deleted default/lost (Orphaned)", collected.stderr
    assert [n for n in cluster.names("Service") if n.startswith("lost-")] == []
    assert cluster.names("Secret") == []  # the release went too


def test_a_release_stored_by_another_driver_is_deleted_with_its_app(cluster: RunningCluster, cli: Cli,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELM_DRIVER", "configmap")
    assert cli("run", "-f", PI, "--name", "cm-stored", "--wait").exit_code == 0
    assert [n for n in cluster.names("ConfigMap") if n.startswith("sh.helm.release")] == ["sh.helm.release.v1.cm-stored.v1"]
    monkeypatch.delenv("HELM_DRIVER")  # the deleting user's Helm looks in Secrets and finds no release
    deleted = cli("delete", "cm-stored")
    assert deleted.exit_code == 0 and deleted.stdout.strip() == "deleted cm-stored", deleted.stderr
    assert cluster.names("ConfigMap") == [] and cluster.names("Pod") == []


# --- 3. and 4. one cluster, resolved once, as the dry run says ----------------------------------


def test_dry_run_names_the_namespace_the_run_uses(cluster: RunningCluster, cli: Cli, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    kubeconfig = tmp_path / "spark-context"
    kubeconfig.write_text(yaml.safe_dump(cluster.kubeconfig_dict("spark")))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    planned = cli("run", "-f", PI, "--name", "where", "--dry-run")
    assert "namespace: spark (context emulator)" in planned.stdout.splitlines(), planned.stdout
    done = cli("run", "-f", PI, "--name", "where")
    assert "namespace:  spark" in done.stdout and cluster.get("Pod", "where-driver", "spark") is not None


def test_dry_run_without_any_kubeconfig_still_plans(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    planned = cli("run", "-f", PI, "--name", "nowhere", "--dry-run", "-n", "jobs")
    assert planned.exit_code == 0 and "namespace: jobs (-n/--namespace)" in planned.stdout


def test_a_submission_carries_its_cluster(cluster: RunningCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """api.follow(submission) once fell back to the default kubeconfig."""
    elsewhere = tmp_path / "bogus"
    elsewhere.write_text(yaml.safe_dump({**cluster.kubeconfig_dict("default"),
                                         "clusters": [{"name": "emulator", "cluster": {"server": "http://127.0.0.1:9"}}]}))
    monkeypatch.setenv("KUBECONFIG", str(elsewhere))
    submission = api.submit(api.Inputs(values_files=[PI], name="carried"),
                            kube=api.KubeTarget(kubeconfig=str(cluster.kubeconfig)))
    outcome = api.follow(submission, timeout=30, echo=lambda _: None, notice=lambda _: None)
    assert outcome.succeeded and submission.connection.server == cluster.url


def test_one_run_resolves_the_connection_once_and_makes_one_client(cluster: RunningCluster,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from sparkhelm.kube import client as client_module
    from sparkhelm.kube import cluster as cluster_module

    resolutions: list[object] = []
    clients: list[object] = []
    real_resolve, real_client = cluster_module.resolve, client_module.Client
    monkeypatch.setattr(cluster_module, "resolve", lambda target: resolutions.append(target) or real_resolve(target))

    class Counted(real_client):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            clients.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(client_module, "Client", Counted)
    result = api.run(api.Inputs(values_files=[PI], name="once"), wait=True, cleanup=True,
                     archive_logs=str(cluster.kubeconfig.parent / "archive"), echo=lambda _: None, notice=lambda _: None)
    assert result.succeeded and result.deleted
    assert len(resolutions) == 1 and len(clients) == 1


# --- 9. a driver that cannot start ends the wait at once, with the reason ----------------------------


@pytest.mark.parametrize(("reason", "message"), [
    ("ImagePullBackOff", 'Back-off pulling image "apache/spark:nope"'),
    ("CreateContainerConfigError", 'secret "s3-creds" not found'),
])
def test_a_driver_that_cannot_start_fails_the_wait_promptly(cluster: RunningCluster, cli: Cli, reason: str,
                                                            message: str) -> None:
    cluster.kubelet.scripts["stuck"] = DriverScript(outcome="Waiting", waiting=(reason, message))
    start = time.monotonic()
    result = cli("run", "-f", PI, "--name", "stuck", "--wait", "--timeout", "10m")
    assert result.exit_code == 1 and time.monotonic() - start < 15
    line = one_error_line(result.stderr)
    assert f"stuck cannot start ({reason}: {message})" in line and "sparkhelm delete stuck" in line
    status = cli("status", "stuck").stdout
    assert reason in status and message in status


def test_a_failed_driver_shows_sparks_exception(cluster: RunningCluster, cli: Cli) -> None:
    last_words = "Traceback (most recent call last):\n  File \"/app/job.py\", line 3\nValueError: no input rows\n"
    cluster.kubelet.scripts["raises"] = DriverScript(outcome="Failed", exit_code=1, message=last_words)
    result = cli("run", "-f", PI, "--name", "raises", "--wait")
    assert "raises failed (exit code 1): ValueError: no input rows" in one_error_line(result.stderr)
    status = cli("status", "raises").stdout
    assert "failure:" in status and "ValueError: no input rows" in status


# --- 13. and 14. the one-line promise ---------------------------------------------------------------


def test_a_malformed_kubeconfig_is_the_users_input(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "config"
    broken.write_text("apiVersion: v1\nclusters:\n  - name: x\n   server: [unclosed\n")
    monkeypatch.setenv("KUBECONFIG", str(broken))
    for argv in (["list"], ["run", "-f", PI, "--name", "k"], ["status", "x"]):
        result = cli(*argv)
        assert result.exit_code == 2, result.stderr
        line = one_error_line(result.stderr)
        assert str(broken) in line and "line 4" in line


def test_no_foreign_log_lines_reach_the_terminal(cluster: RunningCluster, tmp_path: Path) -> None:
    """pyhelm3's `command failed` warning and the Go SDK's klog lines once reached stderr."""
    helm = tool("helm4")
    cluster.emulator.rejected.add("pods")  # an admission webhook refuses the driver pod
    env = client_env(tmp_path / "home", cluster.kubeconfig, SPARKHELM_HELM=str(helm))
    exe = Path(sys.executable).parent / "sparkhelm"
    for engine in ("helm", "embedded"):
        result = run(exe, "run", "-f", PI, "--name", f"refused-{engine}", "--engine", engine, env=env)
        assert result.returncode == 1, result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("sparkhelm: error: "), result.stderr
        assert "admission webhook" in lines[0] and "partial install was removed" in lines[0]
    assert cluster.names("Secret") == []


def test_the_console_script_is_quiet_on_success(cluster: RunningCluster, tmp_path: Path) -> None:
    env = client_env(tmp_path / "home", cluster.kubeconfig, SPARKHELM_ENGINE="embedded")
    exe = Path(sys.executable).parent / "sparkhelm"
    done = subprocess.run([exe, "run", "-f", PI, "--name", "quiet", "--wait"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert all(line.startswith(("driver quiet-driver:", "quiet succeeded")) for line in done.stderr.splitlines()), done.stderr


# --- retries and a start timeout (operations without an operator) --------------------------------------


def test_a_start_timeout_fails_a_queued_driver_with_the_schedulers_reason(cluster: RunningCluster, cli: Cli) -> None:
    cluster.kubelet.scripts["queued"] = DriverScript(outcome="Pending")
    start = time.monotonic()
    result = cli("run", "-f", PI, "--name", "queued", "--start-timeout", "1s", "--timeout", "10m")
    assert result.exit_code == 1 and time.monotonic() - start < 15
    line = one_error_line(result.stderr)
    assert "queued cannot start (StartTimeout: still Pending after 1s: Unschedulable 0/3 nodes are available" in line


def test_retries_resubmit_after_an_eviction_but_not_after_the_apps_own_failure(cluster: RunningCluster, cli: Cli,
                                                                               tmp_path: Path) -> None:
    evicted = DriverScript(outcome="Failed", exit_code=137, pod_reason="Evicted",
                           pod_message="The node was low on resource: memory.")
    cluster.kubelet.scripts["flaky"] = [evicted, DriverScript()]
    result = cli("run", "-f", PI, "--name", "flaky", "--retries", "2", "--retry-backoff", "0s",
                 "--archive-logs", tmp_path / "runs")
    assert result.exit_code == 0, result.stderr
    assert "attempt 1 of flaky failed (Evicted); retrying in 0s (attempt 2 of 3)" in result.stderr
    assert "flaky succeeded" in result.stderr
    assert (tmp_path / "runs" / "flaky" / "attempt-1" / "status.json").is_file()
    assert (tmp_path / "runs" / "flaky" / "attempt-2" / "driver.log").is_file()

    cluster.kubelet.scripts["broken"] = [DriverScript(outcome="Failed", exit_code=1, message="ValueError: bad"),
                                         DriverScript()]
    own = cli("run", "-f", PI, "--name", "broken", "--retries", "2", "--retry-backoff", "0s")
    assert own.exit_code == 1 and "retrying" not in own.stderr
    assert "broken failed (exit code 1): ValueError: bad" in one_error_line(own.stderr)
    assert cli("delete", "broken").exit_code == 0
    cluster.kubelet.scripts["broken"] = [DriverScript(outcome="Failed", exit_code=1, message="ValueError: bad"),
                                         DriverScript()]
    asked = cli("run", "-f", PI, "--name", "broken", "--retries", "1", "--retry-backoff", "0s", "--retry-app-failures")
    assert asked.exit_code == 0 and "failed (exit code 1); retrying" in asked.stderr, asked.stderr
