"""Read what runs: the apps of a namespace, one app's status, a driver's or an executor's log."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from sparkhelm.errors import NotFoundError, UserError
from sparkhelm.kube.apps import (
    AppStatus,
    AppSummary,
    executors_by_phase,
    orphan,
    summarize,
    summarize_all,
    ui_url,
)
from sparkhelm.kube.cluster import Cluster
from sparkhelm.spec.naming import DRIVER_SELECTOR, AppNames, validate_app_name

if TYPE_CHECKING:
    from sparkhelm.kube.connection import Connection, KubeTarget

#: The leftovers that reveal an app whose driver pod is gone: its ConfigMap (every render has exactly one).
LEFTOVER_SELECTOR = "app.kubernetes.io/name=spark-client-app,app.kubernetes.io/component=config"


def list_apps(
    *, kube: KubeTarget | Connection | Cluster | None = None, all_namespaces: bool = False
) -> list[AppSummary]:
    """The apps of this chart in the namespace (or all namespaces): two LISTs, driver pods and ConfigMaps."""
    cluster = Cluster.of(kube)
    pods = cluster.objects("Pod", DRIVER_SELECTOR, everywhere=all_namespaces)
    leftovers = cluster.objects("ConfigMap", LEFTOVER_SELECTOR, everywhere=all_namespaces)
    return summarize_all(pods, leftovers)


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
    return AppStatus(
        app=summarize(pod), driver_pod=names.driver_pod, executors=executors_by_phase(executors), ui=ui_url(ingress)
    )


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
