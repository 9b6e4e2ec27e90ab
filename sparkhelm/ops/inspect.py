"""Read what runs: the apps of a namespace, one app's status, a driver's or an executor's log."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sparkhelm.errors import ForbiddenError, NotFoundError, UserError
from sparkhelm.kube.apps import (
    EXECUTOR_EVENT_SELECTORS,
    AppStatus,
    AppSummary,
    connect_activity,
    executors_by_phase,
    is_run,
    newest_first,
    orphan,
    owned_by,
    run_record,
    summarize,
    summarize_all,
    summarize_schedule,
    ui_url,
)
from sparkhelm.kube.cluster import Cluster
from sparkhelm.kube.resources import kind
from sparkhelm.spec.naming import CHART_SELECTOR, DRIVER_SELECTOR, AppNames, run_executor_pod, validate_app_name

if TYPE_CHECKING:
    from sparkhelm.kube.connection import Connection, KubeTarget

#: The leftovers that reveal an app whose driver pod is gone: its ConfigMap (every render has exactly one).
LEFTOVER_SELECTOR = "app.kubernetes.io/name=spark-client-app,app.kubernetes.io/component=config"
#: The executor pods of every app (what says whether a Spark Connect server is working).
EXECUTOR_SELECTOR = f"{CHART_SELECTOR},spark-role=executor"


def list_apps(
    *, kube: KubeTarget | Connection | Cluster | None = None, all_namespaces: bool = False
) -> list[AppSummary]:
    """The apps of this chart in the namespace (or all namespaces): LISTs of driver pods, ConfigMaps and CronJobs.

    When Spark Connect servers are among them, three more (executor pods, and the kubelet's `Started`
    and `Killing` events) say which servers are busy and since when the others are idle
    (`kube.apps.connect_activity`): six at most, for any number of apps.
    """
    cluster = Cluster.of(kube)
    pods = cluster.objects("Pod", DRIVER_SELECTOR, everywhere=all_namespaces)
    leftovers = cluster.objects("ConfigMap", LEFTOVER_SELECTOR, everywhere=all_namespaces, metadata_only=True)
    schedules = cluster.objects("CronJob", CHART_SELECTOR, everywhere=all_namespaces)
    apps = summarize_all(pods, leftovers, schedules)
    if any(app.connect is not None for app in apps):
        executors = cluster.objects("Pod", EXECUTOR_SELECTOR, everywhere=all_namespaces)
        connect_activity(apps, executors, _executor_events(cluster, everywhere=all_namespaces))
    return apps


def _executor_events(cluster: Cluster, *, everywhere: bool = False) -> list[dict[str, Any]]:
    """The kubelet's events that outlive executor pods (one LIST per reason); none when RBAC hides events."""
    path = kind("Event").path(None if everywhere else cluster.namespace)
    try:
        return [event for selector in EXECUTOR_EVENT_SELECTORS
                for event in cluster.client.list(path, field_selector=selector)]
    except ForbiddenError:
        return []


def finished_apps(
    *, kube: KubeTarget | Connection | Cluster | None = None, all_namespaces: bool = False
) -> list[AppSummary]:
    """Apps whose driver has ended or is gone (for `delete --all-finished`)."""
    return [app for app in list_apps(kube=kube, all_namespaces=all_namespaces) if app.done]


def status(app_name: str, *, kube: KubeTarget | Connection | Cluster | None = None) -> AppStatus:
    """Driver phase, executors by phase, times, exit code, failure line and UI URL of one app.

    An app whose driver pod is gone but whose objects remain is shown as Orphaned (from its ConfigMap).
    """
    validate_app_name(app_name, source="APP")
    cluster = Cluster.of(kube)
    names = AppNames(app_name)
    pod = cluster.pod(names.driver_pod)
    cron_job = cluster.get("CronJob", names.cron_job) if pod is None else None
    if cron_job is not None:
        return _schedule_status(cluster, names, cron_job)
    if pod is None:
        leftover = cluster.get("ConfigMap", names.config_map)
        if leftover is None:
            raise NotFoundError(
                f"no app {app_name} in namespace {cluster.namespace}; 'sparkhelm list -n {cluster.namespace}' "
                "shows the apps"
            )
        return AppStatus(app=orphan(leftover), driver_pod=names.driver_pod, executors={}, ui=None)
    executors = cluster.objects("Pod", names.executor_selector)
    ingress = cluster.get("Ingress", names.ui_ingress)
    app = summarize(pod)
    if app.connect is not None:
        connect_activity([app], executors, _executor_events(cluster))
    return AppStatus(app=app, driver_pod=names.driver_pod, executors=executors_by_phase(executors), ui=ui_url(ingress))


def _schedule_status(cluster: Cluster, names: AppNames, cron_job: dict[str, object]) -> AppStatus:
    """A schedule's status: the CronJob, its runs (newest first), the latest run's executors."""
    runs = newest_first([p for p in cluster.objects("Pod", names.driver_selector) if is_run(p)])
    executors = owned_by(cluster.objects("Pod", names.executor_selector), runs[0]) if runs else []
    return AppStatus(
        app=summarize_schedule(cron_job, runs),
        driver_pod=str(runs[0]["metadata"]["name"]) if runs else "",
        executors=executors_by_phase(executors),
        ui=ui_url(cluster.get("Ingress", names.ui_ingress)),
        runs=[run_record(p) for p in runs],
    )


def _chosen_run(cluster: Cluster, names: AppNames, run: str | None, previous: bool) -> str | None:
    """The driver pod of a schedule's run: the latest, or the one asked for; None when the app is no schedule.

    `run`: 1 = the latest, 2 = the one before, ..., or a run's driver pod or Job name; `previous`: 2.
    """
    if run is not None and previous:
        raise UserError("--run and --previous: give one of them (--previous is --run 2)")
    if cluster.get("CronJob", names.cron_job) is None:
        if run is not None or previous:
            raise UserError(
                f"--run/--previous: {names.app} is not a scheduled app (it has no CronJob {names.cron_job})"
            )
        return None
    runs = newest_first([p for p in cluster.objects("Pod", names.driver_selector) if is_run(p)])
    shown = f"'sparkhelm status {names.app} -n {cluster.namespace}' lists its runs"
    if run is not None and not run.isdigit():
        for pod in runs:
            meta = pod["metadata"]
            if run in (meta["name"], (meta.get("labels") or {}).get("batch.kubernetes.io/job-name")):
                return str(meta["name"])
        raise NotFoundError(f"--run {run!r}: no run of {names.app} has that driver pod or Job name; {shown}")
    index = int(run) if run is not None else (2 if previous else 1)
    if index < 1 or index > len(runs):
        what = "no run yet" if not runs else f"{len(runs)} run(s) kept"
        raise NotFoundError(f"{names.app} has {what}, so no run number {index}; {shown}")
    return str(runs[index - 1]["metadata"]["name"])


def _log_pod(names: AppNames, executor: str | None, run_pod: str | None = None) -> str:
    if executor is None:
        return run_pod or names.driver_pod
    pattern = run_executor_pod(run_pod, "N") if run_pod else names.executor_pod("N")
    if executor.isdigit():
        return run_executor_pod(run_pod, executor) if run_pod else names.executor_pod(executor)
    if executor.startswith(pattern.removesuffix("N")):
        return executor
    raise UserError(f"--executor {executor!r}: give the executor ID (1, 2, ...) or its pod name {pattern}")


def logs(
    app_name: str,
    *,
    kube: KubeTarget | Connection | Cluster | None = None,
    follow_log: bool = False,
    executor: str | None = None,
    echo: Callable[[str], None] = print,
    run: str | None = None,
    previous: bool = False,
) -> None:
    """Print the driver's (or an executor's) log; with `follow_log`, until the container ends.

    For a schedule, the latest run's (`run`: a run number, 1 = latest, or a driver pod or Job name;
    `previous`: the run before the latest).
    """
    validate_app_name(app_name, source="APP")
    names = AppNames(app_name)
    cluster = Cluster.of(kube)
    run_pod = None
    if cluster.pod(names.driver_pod) is None or run is not None or previous:
        run_pod = _chosen_run(cluster, names, run, previous)
    pod = _log_pod(names, executor, run_pod)
    if cluster.pod(pod) is None:
        what = f"executor pod {pod}" if executor else f"app {app_name}"
        raise NotFoundError(
            f"no {what} in namespace {cluster.namespace}; 'sparkhelm status {app_name}' shows what runs"
        )
    if not follow_log:
        for line in cluster.log(pod).splitlines():
            echo(line)
        return
    if executor is None:  # like `run --logs`: wait for the container to start instead of failing
        from sparkhelm.ops.follow import Follower

        waiting = Follower(cluster, app_name, timeout=None, echo=echo, notice=lambda _: None)
        waiting.pod_name = pod  # a scheduled run's driver pod has the name its Job gave it
        waiting.wait_until(lambda state: summarize(state).phase != "Pending")
    for line in cluster.follow_log(pod, deadline=math.inf):
        echo(line)
