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
    summarize,
    summarize_all,
    ui_url,
)
from sparkhelm.kube.cluster import Cluster
from sparkhelm.kube.resources import kind
from sparkhelm.spec.naming import CHART_SELECTOR, DRIVER_SELECTOR, AppNames, validate_app_name

if TYPE_CHECKING:
    from sparkhelm.kube.connection import Connection, KubeTarget

#: The leftovers that reveal an app whose driver pod is gone: its ConfigMap (every render has exactly one).
LEFTOVER_SELECTOR = "app.kubernetes.io/name=spark-client-app,app.kubernetes.io/component=config"
#: The executor pods of every app (what says whether a Spark Connect server is working).
EXECUTOR_SELECTOR = f"{CHART_SELECTOR},spark-role=executor"


def list_apps(
    *, kube: KubeTarget | Connection | Cluster | None = None, all_namespaces: bool = False
) -> list[AppSummary]:
    """The apps of this chart in the namespace (or all namespaces): two LISTs, driver pods and ConfigMaps.

    When Spark Connect servers are among them, three more (executor pods, and the kubelet's `Started`
    and `Killing` events) say which servers are busy and since when the others are idle
    (`kube.apps.connect_activity`): five at most, for any number of apps.
    """
    cluster = Cluster.of(kube)
    pods = cluster.objects("Pod", DRIVER_SELECTOR, everywhere=all_namespaces)
    leftovers = cluster.objects("ConfigMap", LEFTOVER_SELECTOR, everywhere=all_namespaces)
    apps = summarize_all(pods, leftovers)
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
    """Driver phase, executors by phase, times, exit code, failure line and UI URL of one app."""
    validate_app_name(app_name, source="APP")
    cluster = Cluster.of(kube)
    names = AppNames(app_name)
    pod = cluster.require_pod(names.driver_pod, f"app {app_name}")
    executors = cluster.objects("Pod", names.executor_selector)
    ingress = cluster.get("Ingress", names.ui_ingress)
    app = summarize(pod)
    if app.connect is not None:
        connect_activity([app], executors, _executor_events(cluster))
    return AppStatus(app=app, driver_pod=names.driver_pod, executors=executors_by_phase(executors), ui=ui_url(ingress))


def _log_pod(names: AppNames, executor: str | None) -> str:
    if executor is None:
        return names.driver_pod
    if executor.isdigit():
        return names.executor_pod(executor)
    if executor.startswith(names.executor_pod("")):
        return executor
    raise UserError(
        f"--executor {executor!r}: give the executor ID (1, 2, ...) or its pod name {names.executor_pod('N')}"
    )


def logs(
    app_name: str,
    *,
    kube: KubeTarget | Connection | Cluster | None = None,
    follow_log: bool = False,
    executor: str | None = None,
    echo: Callable[[str], None] = print,
) -> None:
    """Print the driver's (or an executor's) log; with `follow_log`, until the container ends."""
    validate_app_name(app_name, source="APP")
    names = AppNames(app_name)
    pod = _log_pod(names, executor)
    cluster = Cluster.of(kube)
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
        waiting.wait_until(lambda state: summarize(state).phase != "Pending")
    for line in cluster.follow_log(pod, deadline=math.inf):
        echo(line)
