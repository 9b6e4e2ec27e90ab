"""Scheduled runs through the CLI, against the API emulator with the simulated kubelet.

`sparkhelm run --schedule` installs a CronJob with the embedded Helm engine; the harness's CronJob and
Job controllers (tests/harness/controllers.py) start runs when a test ticks the clock, the simulated
kubelet plays each run's driver. Then list, status, logs, gc and delete are what they should be for
a schedule: the runs belong to it, gc leaves a live schedule alone, delete removes all of it.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

import pytest

from sparkhelm.spec.naming import AppNames
from tests.conftest import VALUES_DIR, Cli
from tests.harness import DriverScript, RunningCluster
from tests.harness.controllers import CRONJOBS, JOBS, BatchControllers

PI = str(VALUES_DIR / "pyspark-pi.yaml")
NS = "default"
T0 = datetime.datetime(2026, 3, 1, 2, 0, tzinfo=datetime.UTC)


@pytest.fixture
def batch(cluster: RunningCluster) -> Iterator[BatchControllers]:
    controllers = BatchControllers(cluster)
    yield controllers
    assert controllers.errors == []
    controllers.close()


def live(cluster: RunningCluster, res: Any, namespace: str = NS) -> list[dict[str, Any]]:
    """Live objects of a resource the harness's RESOURCES table does not name (CronJobs, Jobs)."""

    async def read() -> list[dict[str, Any]]:
        async with cluster.emulator._lock:
            return [o.raw for (r, ns, _), o in cluster.emulator._objects.items()
                    if r == res and ns == namespace and not o.deleted]

    return sorted(cluster.call(read()), key=lambda o: o["metadata"]["name"])


def pods(cluster: RunningCluster, role: str) -> list[dict[str, Any]]:
    return [p for p in (cluster.get("Pod", n) for n in cluster.names("Pod")) if p and p["metadata"]["labels"].get("spark-role") == role]


def one_line_error(result: Any, code: int = 2) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sparkhelm: error: ") and "Traceback" not in result.stderr
    return lines[0]


def schedule(cli: Cli, name: str, *extra: str) -> Any:
    result = cli("run", "-f", PI, "--name", name, "--schedule", "*/10 * * * *", *extra)
    assert result.exit_code == 0, result.stderr
    return result


def finished_runs(cluster: RunningCluster, count: int) -> list[dict[str, Any]]:
    """Wait until `count` runs' driver pods have ended; return them, oldest first."""
    def ended() -> list[dict[str, Any]]:
        return [p for p in pods(cluster, "driver") if p["status"].get("phase") in ("Succeeded", "Failed")]

    cluster.wait_for(lambda: len(ended()) >= count)
    return sorted(ended(), key=lambda p: p["metadata"]["labels"]["batch.kubernetes.io/job-name"])


# --- run --schedule ------------------------------------------------------------------------------


def test_run_schedule_installs_a_cronjob_and_no_driver_pod(cluster: RunningCluster, cli: Cli) -> None:
    result = schedule(cli, "nightly", "--time-zone", "Europe/Paris", "--set", "schedule.concurrencyPolicy=Allow")
    assert "schedule:   */10 * * * * (Europe/Paris)" in result.stdout
    next_run = next(line for line in result.stdout.splitlines() if line.startswith("next run:   "))
    assert next_run.endswith(("+01:00", "+02:00")), next_run  # Paris time
    assert "sparkhelm status nightly -n default --kube-context emulator" in result.stdout
    (cron,) = live(cluster, CRONJOBS)
    assert cron["metadata"]["name"] == AppNames("nightly").cron_job
    assert cron["spec"]["schedule"] == "*/10 * * * *" and cron["spec"]["timeZone"] == "Europe/Paris"
    assert cron["spec"]["concurrencyPolicy"] == "Allow"
    assert cluster.names("Pod") == []  # nothing runs until the schedule fires
    assert "nightly-driver-svc" not in cluster.names("Service")


def test_a_comma_in_the_schedule_survives_the_set_syntax(cluster: RunningCluster, cli: Cli) -> None:
    schedule_text = "0 2,14 * * MON-FRI"
    result = cli("run", "-f", PI, "--name", "twice", "--schedule", schedule_text)
    assert result.exit_code == 0, result.stderr
    assert live(cluster, CRONJOBS)[0]["spec"]["schedule"] == schedule_text


@pytest.mark.parametrize(("args", "words"), [
    (["--schedule", "0 2 * * 7"], ["--schedule '0 2 * * 7'", "0 (Sunday) to 6"]),
    (["--schedule", "0 0 L * *"], ["--schedule '0 0 L * *'", "'L'"]),
    (["--schedule", "0 2 * *"], ["4 field(s)"]),
    (["--schedule", "TZ=UTC 0 2 * * *"], ["time zone", "--time-zone"]),
    (["--schedule", "@DAILY"], ["not a macro"]),
    (["--schedule", "5-1 * * * *"], ["high to low"]),
    (["--schedule", "@daily", "--time-zone", "Mars/Olympus"], ["--time-zone 'Mars/Olympus'", "IANA"]),
    (["--schedule", "@daily", "--wait"], ["--schedule starts its runs later", "--wait"]),
    (["--set-string", "schedule.cron=@daily", "--logs"], ["schedule.cron '@daily'", "--logs"]),
    (["--set-string", "schedule.cron=0 0 15W * *"], ["schedule.cron '0 0 15W * *'"]),
    (["--set", "schedule.cron=@daily", "--set", "driver.restartPolicy=OnFailure"], ["driver.restartPolicy", "schedule.retries"]),
    (["--set", "schedule.cron=@daily", "--set", "connect.enabled=true"], ["connect.enabled"]),
])
def test_a_bad_schedule_is_exit_2_before_anything_is_sent(cluster: RunningCluster, cli: Cli, args: list[str], words: list[str]) -> None:
    line = one_line_error(cli("run", "-f", PI, "--name", "bad", *args))
    assert all(word in line for word in words), line
    assert [m for m, p in cluster.requests() if m in ("POST", "PUT", "PATCH", "DELETE") and "selfsubject" not in p] == []


# --- runs, list, status, logs ------------------------------------------------------------------


def test_runs_belong_to_their_schedule_in_list_and_status(cluster: RunningCluster, cli: Cli, batch: BatchControllers) -> None:
    schedule(cli, "nightly", "--set", "schedule.concurrencyPolicy=Allow")
    cron = AppNames("nightly").cron_job
    first = batch.tick(NS, cron, T0)
    second = batch.tick(NS, cron, T0 + datetime.timedelta(minutes=10))
    assert (first, second) == (f"{cron}-{int(T0.timestamp()) // 60}", f"{cron}-{int(T0.timestamp()) // 60 + 10}")
    runs = finished_runs(cluster, 2)
    assert [r["metadata"]["ownerReferences"][0]["name"] for r in runs] == [first, second]
    cluster.wait_for(lambda: all(j["status"].get("succeeded") == 1 for j in live(cluster, JOBS)))

    before = len(cluster.requests())
    listed = cli("list", "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    assert len(cluster.requests()) - before == 3  # driver pods, ConfigMaps, CronJobs: O(1) however many runs
    (app,) = json.loads(listed.stdout)  # the runs are not apps of their own
    assert app["kind"] == "schedule" and app["name"] == "nightly" and app["phase"] == "Scheduled"
    assert app["schedule"] == "*/10 * * * *" and app["suspend"] is False
    assert app["last_schedule"] == "2026-03-01T02:10:00Z"
    assert app["last_run"] == runs[1]["metadata"]["name"] and app["last_run_phase"] == "Succeeded"
    table = cli("list").stdout
    assert "SCHEDULE" in table and "nightly" in table and "*/10 * * * *" in table and runs[1]["metadata"]["name"] in table

    state = cli("status", "nightly", "-o", "json")
    assert state.exit_code == 0, state.stderr
    data = json.loads(state.stdout)
    assert [r["driver_pod"] for r in data["runs"]] == [runs[1]["metadata"]["name"], runs[0]["metadata"]["name"]]
    assert {r["phase"] for r in data["runs"]} == {"Succeeded"} and data["driver_pod"] == runs[1]["metadata"]["name"]
    text = cli("status", "nightly").stdout
    assert "kind:" in text and "schedule" in text and f"1. {runs[1]['metadata']['name']}  Succeeded" in text


def test_logs_of_a_schedule_are_its_latest_runs_or_the_one_asked_for(cluster: RunningCluster, cli: Cli,
                                                                     batch: BatchControllers) -> None:
    schedule(cli, "nightly", "--set", "schedule.concurrencyPolicy=Allow")
    cron = AppNames("nightly").cron_job
    batch.tick(NS, cron, T0)
    batch.tick(NS, cron, T0 + datetime.timedelta(minutes=10))
    old, new = (r["metadata"]["name"] for r in finished_runs(cluster, 2))
    cluster.emulator.logs[(NS, old)] = "the first run\n"
    cluster.emulator.logs[(NS, new)] = "the second run\n"
    assert cli("logs", "nightly").stdout == "the second run\n"
    assert cli("logs", "nightly", "--previous").stdout == "the first run\n"
    assert cli("logs", "nightly", "--run", "2").stdout == "the first run\n"
    assert cli("logs", "nightly", "--run", old).stdout == "the first run\n"
    job = cluster.get("Pod", new)["metadata"]["labels"]["batch.kubernetes.io/job-name"]  # type: ignore[index]
    assert cli("logs", "nightly", "--run", job).stdout == "the second run\n"
    assert "2 run(s) kept" in one_line_error(cli("logs", "nightly", "--run", "3"), 1)
    assert "give one of them" in one_line_error(cli("logs", "nightly", "--run", "1", "--previous"))


def test_run_and_previous_are_refused_for_an_app_of_one_run(cluster: RunningCluster, cli: Cli) -> None:
    assert cli("run", "-f", PI, "--name", "once", "--wait").exit_code == 0
    assert "not a scheduled app" in one_line_error(cli("logs", "once", "--previous"))
    assert "Pi is roughly" in cli("logs", "once").stdout


# --- gc and delete -----------------------------------------------------------------------------


def test_gc_never_collects_a_live_schedule_but_collects_finished_apps(cluster: RunningCluster, cli: Cli,
                                                                       batch: BatchControllers) -> None:
    schedule(cli, "nightly")
    batch.tick(NS, AppNames("nightly").cron_job, T0)
    finished_runs(cluster, 1)
    assert cli("run", "-f", PI, "--name", "once", "--wait").exit_code == 0
    result = cli("gc", "--older-than", "0s")
    assert result.exit_code == 0, result.stderr
    assert "deleted default/once" in result.stdout and "nightly" not in result.stdout
    assert [c["metadata"]["name"] for c in live(cluster, CRONJOBS)] == [AppNames("nightly").cron_job]
    assert len(live(cluster, JOBS)) == 1 and len(pods(cluster, "driver")) == 1  # the run is the Job's to delete


def test_delete_removes_the_schedule_its_runs_and_their_executors(cluster: RunningCluster, cli: Cli,
                                                                  batch: BatchControllers) -> None:
    cluster.kubelet.default = DriverScript(outcome="Running")  # a run still computing, executors up
    schedule(cli, "nightly")
    batch.tick(NS, AppNames("nightly").cron_job, T0)
    cluster.wait_for(lambda: len(pods(cluster, "executor")) == 2)
    result = cli("delete", "nightly", "--wait")
    assert result.exit_code == 0, result.stderr
    assert live(cluster, CRONJOBS) == [] and live(cluster, JOBS) == []
    assert pods(cluster, "driver") == [] and pods(cluster, "executor") == []
    assert cluster.names("ConfigMap") == [] and cluster.names("Secret") == []
    assert cli("status", "nightly").exit_code == 1


# --- the harness's controllers, as the tests above rely on them --------------------------------


def test_forbid_skips_a_tick_while_a_run_is_active_and_suspend_skips_all(cluster: RunningCluster, cli: Cli,
                                                                           batch: BatchControllers) -> None:
    cluster.kubelet.default = DriverScript(outcome="Running")
    schedule(cli, "nightly")  # concurrencyPolicy Forbid, the chart's default
    cron = AppNames("nightly").cron_job
    assert batch.tick(NS, cron, T0) is not None
    cluster.wait_for(lambda: len(pods(cluster, "driver")) == 1)
    assert batch.tick(NS, cron, T0 + datetime.timedelta(minutes=10)) is None
    assert len(live(cluster, JOBS)) == 1
    suspended = live(cluster, CRONJOBS)[0]
    suspended["spec"]["suspend"] = True

    async def store() -> None:
        async with cluster.emulator._lock:
            await cluster.emulator._store(CRONJOBS, NS, suspended, "MODIFIED")

    cluster.call(store())
    assert json.loads(cli("list", "-o", "json").stdout)[0]["phase"] == "Suspended"


def test_ttl_and_history_limits_delete_finished_runs_with_their_pods(cluster: RunningCluster, cli: Cli,
                                                                     batch: BatchControllers) -> None:
    schedule(cli, "nightly", "--set", "schedule.successfulJobsHistoryLimit=1", "--set", "ttl=2s")
    cron = AppNames("nightly").cron_job
    (job_template,) = [c["spec"]["jobTemplate"]["spec"] for c in live(cluster, CRONJOBS)]
    assert job_template["ttlSecondsAfterFinished"] == 2
    batch.tick(NS, cron, T0)
    finished_runs(cluster, 1)
    batch.tick(NS, cron, T0 + datetime.timedelta(minutes=10))
    cluster.wait_for(lambda: len([j for j in live(cluster, JOBS) if j["status"].get("succeeded")]) >= 1)
    # the history limit keeps one successful run: the older Job went, its driver pod with it
    cluster.wait_for(lambda: len(live(cluster, JOBS)) <= 1 and len(pods(cluster, "driver")) <= 1)
    cluster.wait_for(lambda: live(cluster, JOBS) == [] and pods(cluster, "driver") == [], timeout=10)  # then the ttl
    assert [c["metadata"]["name"] for c in live(cluster, CRONJOBS)] == [cron]  # the schedule stays


# --- how apps are read from their objects (no cluster) ------------------------------------------


def _driver(name: str, phase: str, created: str, *, job: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NS, "creationTimestamp": created,
                            "labels": {"app-name": "nightly", "spark-role": "driver"}}
    if job:
        meta["ownerReferences"] = [{"kind": "Job", "name": job, "uid": f"uid-{job}"}]
    state = {"terminated": {"exitCode": 0, "finishedAt": created}} if phase in ("Succeeded", "Failed") else {"running": {}}
    return {"metadata": meta, "status": {"phase": phase, "containerStatuses": [{"name": "driver", "state": state}]}}


def _cron(suspend: bool = False) -> dict[str, Any]:
    return {"metadata": {"name": "nightly-cron", "namespace": NS, "creationTimestamp": "2026-03-01T00:00:00Z",
                         "labels": {"app-name": "nightly"}, "annotations": {"sparkhelm.io/ttl": "1h"}},
            "spec": {"schedule": "@daily", "suspend": suspend, "timeZone": "UTC",
                     "jobTemplate": {"spec": {"template": {"spec": {"priorityClassName": "routine"}}}}},
            "status": {"lastScheduleTime": "2026-03-02T00:00:00Z"}}


def test_a_schedules_runs_make_one_app_that_is_never_done() -> None:
    from sparkhelm.kube.apps import summarize_all

    runs = [_driver("nightly-cron-1-a", "Succeeded", "2026-03-01T00:00:05Z", job="nightly-cron-1"),
            _driver("nightly-cron-2-b", "Failed", "2026-03-02T00:00:05Z", job="nightly-cron-2")]
    (app,) = summarize_all(runs, schedules=[_cron()])
    assert (app.kind, app.phase, app.done, app.last_run, app.last_run_phase) == ("schedule", "Scheduled", False, "nightly-cron-2-b", "Failed")
    assert (app.priority_class, app.ttl, app.time_zone, app.last_schedule) == ("routine", "1h", "UTC", "2026-03-02T00:00:00Z")
    (suspended,) = summarize_all(runs, schedules=[_cron(suspend=True)])
    assert suspended.phase == "Suspended" and suspended.suspend is True


def test_runs_whose_schedule_is_gone_stand_for_their_app_until_all_ended() -> None:
    """A CronJob deleted with its runs orphaned: the runs make an app that gc collects once none still runs."""
    from sparkhelm.kube.apps import summarize_all

    ended = _driver("nightly-cron-2-b", "Succeeded", "2026-03-02T00:00:05Z", job="nightly-cron-2")
    running = _driver("nightly-cron-1-a", "Running", "2026-03-01T00:00:05Z", job="nightly-cron-1")
    (app,) = summarize_all([ended, running])
    assert (app.kind, app.phase, app.done) == ("app", "Running", False)
    (app,) = summarize_all([ended])
    assert (app.kind, app.phase, app.done) == ("app", "Succeeded", True)
    # an app's own driver (no Job) next to a schedule of another name stays an app of its own
    own = _driver("once-driver", "Running", "2026-03-01T00:00:05Z")
    own["metadata"]["labels"]["app-name"] = "once"
    assert sorted((a.name, a.kind) for a in summarize_all([own, ended], schedules=[_cron()])) == [("nightly", "schedule"), ("once", "app")]
