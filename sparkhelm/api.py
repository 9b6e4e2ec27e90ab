"""sparkhelm as a Python library: what the CLI does, as plain typed functions (docs/python-api.md).

The rule of the architecture holds here: values are computed, the chart renders them, and the
rendered text is returned untouched.

Main entry points: `values`, `explain`, `render` (and `render_many`), `dry_run`, `run` (or
`submit` then `follow`), `status`, `list_apps`, `logs`, `delete`, `gc`. Every error they raise
on purpose is a `sparkhelm.errors.SparkhelmError` whose `exit_code` is the CLI's:
`UserError` (2: bad input, raised before anything reaches a cluster; `NameInUseError` is one),
and `EngineError` (1: Helm or the cluster failed; `NotFoundError`, `ForbiddenError`,
`WaitTimeoutError` and `DriverGoneError` are ones).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkhelm import chartfiles
from sparkhelm import values as values_mod
from sparkhelm.engine import Engine, Rendered, get_engine
from sparkhelm.engine.manifests import parse_manifest
from sparkhelm.errors import SparkhelmError, UserError
from sparkhelm.naming import validate_app_name, validate_namespace
from sparkhelm.target import KubeTarget
from sparkhelm.values import AppValues

if TYPE_CHECKING:
    from sparkhelm.apps import AppStatus, AppSummary
    from sparkhelm.cluster import Cluster
    from sparkhelm.explain import Explained
    from sparkhelm.follow import Outcome
    from sparkhelm.portforward import UiForwarder

DEFAULT_NAMESPACE = "default"
UNINSTALL_WORKERS = 4


@dataclass(frozen=True)
class Inputs:
    """Everything a user gives to describe one application."""

    values_files: Sequence[str | Path] = ()
    sets: Sequence[str] = ()
    set_strings: Sequence[str] = ()
    name: str | None = None
    chart: str | Path | None = None


@dataclass(frozen=True)
class DryRun:
    """What `run` would install: the app, where, and the objects (kind, name) in install order."""

    app_name: str
    namespace: str
    engine: str
    objects: list[tuple[str, str]] = field(default_factory=list)
    notes: str = ""


def _compute(inputs: Inputs) -> tuple[Path, AppValues]:
    chart_dir = chartfiles.resolve_chart_dir(inputs.chart)
    return chart_dir, values_mod.compute(chart_dir, inputs.values_files, inputs.sets, inputs.set_strings, inputs.name)


def compute_values(inputs: Inputs) -> AppValues:
    """The application's values (as `sparkhelm values` prints them), validated."""
    return _compute(inputs)[1]


def values(inputs: Inputs) -> AppValues:
    """The computed values: what `sparkhelm values` prints, and what `helm install -f` needs."""
    return compute_values(inputs)


def explain(inputs: Inputs) -> list[Explained]:
    """Every effective value with its source (chart default, file, flag, computed), in the chart's order."""
    from sparkhelm.explain import explain as explain_values

    chart_dir = chartfiles.resolve_chart_dir(inputs.chart)
    return explain_values(chart_dir, inputs.values_files, inputs.sets, inputs.set_strings, inputs.name)


def render(
    inputs: Inputs, *, namespace: str = DEFAULT_NAMESPACE, engine: Engine | str = "auto"
) -> tuple[AppValues, Rendered]:
    """Compute the values and render the chart with them; the release name is the app-name."""
    validate_namespace(namespace)
    chosen = get_engine(engine) if isinstance(engine, str) else engine
    chart_dir = chartfiles.resolve_chart_dir(inputs.chart)
    # The chart refuses everything sparkhelm's checks refuse, so one render checks the values once,
    # in Helm; ours run only to explain a refusal (Helm's separate schema check cost 5-10 ms).
    app = values_mod.compute(
        chart_dir, inputs.values_files, inputs.sets, inputs.set_strings, inputs.name, check=False
    )
    try:
        return app, chosen.render(chart_dir, app.values, release=app.app_name, namespace=namespace)
    except UserError:
        values_mod.check_computed(chart_dir, app.values)
        raise


def _render_prevalidated(inputs: Inputs, namespace: str, engine: Engine) -> tuple[AppValues, Rendered]:
    """One app of a batch: jsonschema-rs (compiled once, 0.02 ms a check), then the chart without its schema."""
    chart_dir, app = _compute(inputs)
    return app, engine.render(chart_dir, app.values, release=app.app_name, namespace=namespace, prevalidated=True)


def render_many(
    inputs: Iterable[Inputs],
    *,
    namespace: str = DEFAULT_NAMESPACE,
    engine: Engine | str = "auto",
    workers: int | None = None,
) -> list[tuple[AppValues, Rendered]]:
    """Render many applications in one process, in order: for pipelines that template a whole fleet.

    The chart is loaded once; each application's values are computed and rendered on a pool of
    `workers` threads (default: one per CPU). The embedded engine runs Helm's Go code outside the
    GIL, so the threads render in parallel. The first invalid application raises its UserError.
    """
    validate_namespace(namespace)
    chosen = get_engine(engine) if isinstance(engine, str) else engine
    items = list(inputs)
    count = max(1, min(workers or os.cpu_count() or 1, len(items)))

    def one(item: Inputs) -> tuple[AppValues, Rendered]:
        return _render_prevalidated(item, namespace, chosen)

    if count == 1:
        return [one(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor  # deferred: only batches use threads

    with ThreadPoolExecutor(count, thread_name_prefix="sparkhelm-render") as pool:
        return list(pool.map(one, items))


def dry_run(inputs: Inputs, *, namespace: str = DEFAULT_NAMESPACE, engine: Engine | str = "auto") -> DryRun:
    """Everything `run` does before it talks to a cluster."""
    chosen = get_engine(engine) if isinstance(engine, str) else engine
    app, rendered = render(inputs, namespace=namespace, engine=chosen)
    objects = [
        (str(obj.get("kind")), str((obj.get("metadata") or {}).get("name")))
        for obj in parse_manifest(rendered.manifest)
    ]
    return DryRun(app_name=app.app_name, namespace=namespace, engine=chosen.name, objects=objects, notes=rendered.notes)


# --- cluster operations ------------------------------------------------------------------------
# Everything below talks to a cluster. `kubernetes` and the Helm engines are imported inside the
# functions, so importing this module (and `sparkhelm --help`) stays fast.


@dataclass(frozen=True)
class Submission:
    """A submitted app: where it runs and how to reach it."""

    app_name: str
    namespace: str
    driver_pod: str
    ui_url: str | None
    warnings: list[str] = field(default_factory=list)

    @property
    def ui_command(self) -> str:
        """The command that opens the UI through a port-forward."""
        return f"sparkhelm ui {self.app_name} -n {self.namespace}"

    @property
    def logs_command(self) -> str:
        """The command that follows the driver log."""
        return f"sparkhelm logs {self.app_name} -n {self.namespace} -f"


def _cluster(kube: KubeTarget) -> Cluster:
    from sparkhelm.cluster import Cluster

    return Cluster(kube)


def submit(inputs: Inputs, *, kube: KubeTarget | None = None, engine: Engine | str = "auto") -> Submission:
    """Validate, check the cluster, then install the app as a new release.

    Bad input fails before any cluster contact; failed pre-flight checks before any write. An
    install that fails part-way is uninstalled again, so it leaves nothing behind.
    """
    from sparkhelm import preflight
    from sparkhelm.apps import ui_url
    from sparkhelm.engine.failures import NameInUseError, OperationPendingError

    chart_dir, app = _compute(inputs)  # input errors first, without a cluster
    kube = kube or KubeTarget()
    cluster = _cluster(kube)
    namespace = cluster.namespace
    chosen = get_engine(engine) if isinstance(engine, str) else engine
    rendered = chosen.render(chart_dir, app.values, release=app.app_name, namespace=namespace, prevalidated=True)
    objects = parse_manifest(rendered.manifest)
    report = preflight.check(cluster, app=app.app_name, namespace=namespace, values=app.values, objects=objects)
    resolved = KubeTarget(kube.kubeconfig, kube.context, namespace)
    try:
        chosen.install(chart_dir, app.values, release=app.app_name, namespace=namespace, kube=resolved)
    except (NameInUseError, OperationPendingError):
        raise  # somebody else's release: never remove it
    except SparkhelmError as exc:
        try:
            chosen.uninstall(app.app_name, namespace=namespace, kube=resolved)
        except SparkhelmError as cleanup:
            raise type(exc)(f"{exc} (and removing the partial install failed: {cleanup})") from None
        raise type(exc)(f"{exc} (the partial install was removed)") from None
    ingress = next((o for o in objects if o.get("kind") == "Ingress"), None)
    return Submission(
        app_name=app.app_name,
        namespace=namespace,
        driver_pod=f"{app.app_name}-driver",
        ui_url=ui_url(ingress),
        warnings=report.warnings,
    )


def follow(
    submission: Submission,
    *,
    kube: KubeTarget | None = None,
    logs: bool = False,
    timeout: float | None = None,
    echo: Callable[[str], None] = print,
    notice: Callable[[str], None] = print,
) -> Outcome:
    """Wait for the driver to end (streaming its log with `logs`); the outcome says how it ended."""
    from sparkhelm.follow import Follower

    cluster = _cluster(kube or KubeTarget(namespace=submission.namespace))
    follower = Follower(cluster, submission.app_name, submission.namespace, timeout=timeout, echo=echo, notice=notice)
    return follower.run(logs=logs)


@dataclass(frozen=True)
class RunResult:
    """What `run` did: the submission, and with `wait` how the driver ended and what was kept or removed."""

    submission: Submission
    outcome: Outcome | None = None
    archived: list[Path] = field(default_factory=list)
    deleted: bool = False

    @property
    def succeeded(self) -> bool | None:
        """True or False once the driver ended (`wait`); None when `run` did not wait."""
        return None if self.outcome is None else self.outcome.succeeded


def run(
    inputs: Inputs,
    *,
    kube: KubeTarget | None = None,
    engine: Engine | str = "auto",
    wait: bool = False,
    logs: bool = False,
    timeout: float | None = None,
    cleanup: bool = False,
    archive_logs: str | Path | None = None,
    echo: Callable[[str], None] = print,
    notice: Callable[[str], None] = print,
    submitted: Callable[[Submission], None] | None = None,
) -> RunResult:
    """`sparkhelm run` as a function: submit; with `wait` (implied by the other options) follow to the end.

    `logs` sends the driver log to `echo` line by line; progress lines go to `notice`;
    `submitted` is called with the submission before any waiting. A driver that fails is a result
    (`succeeded` is False), not an exception; `WaitTimeoutError` says the wait ran out while the
    app keeps running. With `cleanup` the app is uninstalled after it ends, once its log is
    archived when `archive_logs` names a directory.
    """
    kube = kube or KubeTarget()
    submission = submit(inputs, kube=kube, engine=engine)
    if submitted is not None:
        submitted(submission)
    if not (wait or logs or cleanup or archive_logs is not None):
        return RunResult(submission)
    followed = KubeTarget(kube.kubeconfig, kube.context, submission.namespace)
    outcome = follow(submission, kube=followed, logs=logs, timeout=timeout, echo=echo, notice=notice)
    archived = archive(outcome, archive_logs, kube=followed) if archive_logs is not None else []
    if cleanup:
        delete([submission.app_name], kube=followed, engine=engine)
    return RunResult(submission, outcome, archived, deleted=cleanup)


def archive(outcome: Outcome, directory: str | Path, *, kube: KubeTarget | None = None) -> list[Path]:
    """Save the driver log and final status under `directory`/<app>/."""
    from sparkhelm.follow import archive as write_archive

    return write_archive(_cluster(kube or KubeTarget(namespace=outcome.app.namespace)), outcome, Path(directory))


def list_apps(*, kube: KubeTarget | None = None, all_namespaces: bool = False) -> list[AppSummary]:
    """The apps of this chart in the namespace (or all namespaces): one LIST of driver pods."""
    from sparkhelm.apps import DRIVER_SELECTOR, summarize_all

    cluster = _cluster(kube or KubeTarget())
    return summarize_all(cluster.pods(DRIVER_SELECTOR, None if all_namespaces else cluster.namespace))


def _driver_pod(app_name: str, kube: KubeTarget | None) -> tuple[Cluster, dict[str, Any]]:
    """The cluster and the app's driver pod; an unknown app is NotFoundError naming the namespace."""
    from sparkhelm.cluster import NotFoundError

    validate_app_name(app_name, source="APP")
    cluster = _cluster(kube or KubeTarget())
    namespace = cluster.namespace
    pod = cluster.pod(f"{app_name}-driver", namespace)
    if pod is None:
        raise NotFoundError(
            f"no app {app_name} in namespace {namespace}; 'sparkhelm list -n {namespace}' shows the apps"
        )
    return cluster, pod


def status(app_name: str, *, kube: KubeTarget | None = None) -> AppStatus:
    """Driver phase, executors by phase, times, exit code and UI URL of one app."""
    from sparkhelm.apps import AppStatus, executors_by_phase, summarize, ui_url

    cluster, pod = _driver_pod(app_name, kube)
    namespace = cluster.namespace
    executors = cluster.pods(f"app-name={app_name},spark-role=executor", namespace)
    ingress = cluster.ingress(f"{app_name}-ui-ingress", namespace)
    return AppStatus(
        app=summarize(pod), driver_pod=f"{app_name}-driver", executors=executors_by_phase(executors), ui=ui_url(ingress)
    )


def _log_pod(app_name: str, executor: str | None) -> str:
    if executor is None:
        return f"{app_name}-driver"
    if executor.isdigit():
        return f"{app_name}-exec-{executor}"
    if executor.startswith(f"{app_name}-exec-"):
        return executor
    raise UserError(f"--executor {executor!r}: give the executor ID (1, 2, ...) or its pod name {app_name}-exec-N")


def logs(
    app_name: str,
    *,
    kube: KubeTarget | None = None,
    follow_log: bool = False,
    executor: str | None = None,
    echo: Callable[[str], None] = print,
) -> None:
    """Print the driver's (or an executor's) log; with `follow_log`, until the container ends."""
    from sparkhelm.cluster import NotFoundError

    validate_app_name(app_name, source="APP")
    pod = _log_pod(app_name, executor)
    cluster = _cluster(kube or KubeTarget())
    if cluster.pod(pod, cluster.namespace) is None:
        what = f"executor pod {pod}" if executor else f"app {app_name}"
        raise NotFoundError(
            f"no {what} in namespace {cluster.namespace}; 'sparkhelm status {app_name}' shows what runs"
        )
    if follow_log:
        if executor is None:  # like `run --logs`: wait for the container to start instead of failing
            from sparkhelm.apps import summarize
            from sparkhelm.follow import Follower

            waiting = Follower(cluster, app_name, cluster.namespace, timeout=None, echo=echo, notice=lambda _: None)
            waiting.wait_until(lambda state: summarize(state).phase != "Pending")
        for line in cluster.follow_log(pod, cluster.namespace):
            echo(line)
    else:
        text = cluster.log(pod, cluster.namespace)
        for line in text.splitlines():
            echo(line)


def delete(
    app_names: Sequence[str],
    *,
    kube: KubeTarget | None = None,
    engine: Engine | str = "auto",
    wait: bool = False,
) -> list[tuple[str, bool]]:
    """Uninstall apps; (name, False) for one that was already gone: deleting twice is not an error."""
    for name in app_names:
        validate_app_name(name, source="APP")
    kube = kube or KubeTarget()
    namespace = kube.namespace or _cluster(kube).namespace
    resolved = KubeTarget(kube.kubeconfig, kube.context, namespace)
    chosen = get_engine(engine) if isinstance(engine, str) else engine
    return _uninstall_many(chosen, [(name, namespace) for name in app_names], resolved, wait)


def _uninstall_many(
    engine: Engine, targets: list[tuple[str, str]], kube: KubeTarget, wait: bool
) -> list[tuple[str, bool]]:
    """Uninstall in parallel: releases are independent, and each uninstall is several round trips."""
    from concurrent.futures import ThreadPoolExecutor

    def one(target: tuple[str, str]) -> tuple[str, bool]:
        name, namespace = target
        where = KubeTarget(kube.kubeconfig, kube.context, namespace)
        return name, engine.uninstall(name, namespace=namespace, kube=where, wait=wait)

    with ThreadPoolExecutor(max_workers=UNINSTALL_WORKERS) as pool:
        return list(pool.map(one, targets))


def finished_apps(*, kube: KubeTarget | None = None, all_namespaces: bool = False) -> list[AppSummary]:
    """Apps whose driver has ended (for `delete --all-finished`)."""
    return [app for app in list_apps(kube=kube, all_namespaces=all_namespaces) if app.done]


def gc(
    older_than: float,
    *,
    kube: KubeTarget | None = None,
    engine: Engine | str = "auto",
    dry_run: bool = False,
    all_namespaces: bool = False,
) -> list[AppSummary]:
    """Uninstall apps that finished more than `older_than` seconds ago; returns them (all, with dry_run)."""
    import datetime

    from sparkhelm.apps import collectable

    kube = kube or KubeTarget()
    apps = list_apps(kube=kube, all_namespaces=all_namespaces)
    chosen = collectable(apps, older_than, datetime.datetime.now(tz=datetime.UTC))
    if not dry_run and chosen:
        selected = get_engine(engine) if isinstance(engine, str) else engine
        _uninstall_many(selected, [(app.name, app.namespace) for app in chosen], kube, False)
    return chosen


def open_ui(app_name: str, *, kube: KubeTarget | None = None, local_port: int = 4040) -> UiForwarder:
    """A local listener forwarding to the driver's UI port (call `serve_forever`, then `stop`)."""
    from sparkhelm.portforward import UiForwarder

    cluster, pod = _driver_pod(app_name, kube)
    if (pod.get("status") or {}).get("phase") != "Running":
        phase = (pod.get("status") or {}).get("phase", "Unknown")
        raise SparkhelmError(f"{app_name} is {phase}: the Spark UI exists only while the driver runs")
    ui_port = _ui_port(pod)
    try:
        return UiForwarder(cluster, f"{app_name}-driver", cluster.namespace, ui_port, local_port)
    except OSError as exc:
        raise UserError(f"--port {local_port}: cannot listen on it ({exc.strerror}); pick another or 0") from None


def _ui_port(pod: dict[str, object]) -> int:
    """The driver container's port named spark-ui (4040 unless the values changed it)."""
    spec = pod.get("spec")
    containers = spec.get("containers", []) if isinstance(spec, dict) else []
    for container in containers:
        for port in container.get("ports") or []:
            if port.get("name") == "spark-ui":
                return int(port["containerPort"])
    return 4040
