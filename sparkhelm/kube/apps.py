"""What an application is on a cluster, read from its objects: phase, times, exit code, failure, executors, UI.

The driver pod is the app's record (one per release, labelled by the chart), so listing the apps of
a namespace is one LIST of driver pods plus one LIST of the apps' ConfigMaps (every render has one):
an app whose ConfigMap is there but whose driver pod is gone is *orphaned* (its Services, Role...
still stand) and shown as such, so `gc` can collect it. No Helm release decoding, no 256 cap.
These functions take plain JSON dicts, so they are tested without a cluster.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from sparkhelm.spec.naming import AppNames

TERMINAL = ("Succeeded", "Failed")
ORPHANED = "Orphaned"
#: The annotation the chart writes from the `ttl` value: how long after its end an app may stay.
TTL_ANNOTATION = "sparkhelm.io/ttl"
#: Waiting reasons that no amount of waiting fixes: the image cannot be had, or the pod refers to a
#: Secret/ConfigMap (key) that does not exist. `run --wait` ends on them at once.
FATAL_WAITING = frozenset(
    {"ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError"}
)
#: The line of a driver's last words that says why it failed: a Python exception, a JVM exception.
_EXCEPTION = re.compile(r"^(Exception in thread .*|[A-Za-z_][\w.$]*(Exception|Error)\b.*)$")

Obj = dict[str, Any]


def parse_time(value: str | None) -> datetime.datetime | None:
    """An RFC 3339 timestamp from the API, as an aware datetime."""
    if not value:
        return None
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _driver_status(pod: Obj) -> Obj:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    named = [s for s in statuses if s.get("name") == "driver"] or statuses
    return named[0] if named else {}


def _driver_state(pod: Obj) -> Obj:
    return _driver_status(pod).get("state") or {}


def waiting(pod: Obj) -> tuple[str, str]:
    """(reason, message) of a driver that is not running yet: its container's wait, else why it is not scheduled."""
    state = _driver_state(pod)
    if "waiting" in state:
        return str(state["waiting"].get("reason") or ""), str(state["waiting"].get("message") or "")
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return str(condition.get("reason") or ""), str(condition.get("message") or "")
    return "", ""


def failure_line(message: str) -> str:
    """The line of a termination message that names the failure (the last exception), else its last line."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    exceptions = [line for line in lines if _EXCEPTION.match(line)]
    if exceptions:
        return exceptions[-1]
    return lines[-1] if lines else ""


class ConnectInfo:
    """A Spark Connect server as its driver pod shows it: where it listens, whether it serves, whether it works.

    `executors` and `idle_since` come from the app's executor pods and the kubelet's events about them
    (`connect_activity`, which says exactly what is measured); `summarize` alone leaves them at 0 and None.
    A plain class: `connect_activity` fills it in place, and `list` must not pay for `dataclasses`.
    """

    __slots__ = ("url", "port", "ready", "token_secret", "token_key", "executors", "idle_since")

    def __init__(
        self, url: str, port: int, ready: bool, token_secret: str = "", token_key: str = "",
        executors: int = 0, idle_since: str | None = None,
    ) -> None:
        #: The in-cluster URL: sc://<the Connect Service>.<namespace>.svc:<port>.
        self.url = url
        #: The gRPC port of the driver container (and of the Connect Service).
        self.port = port
        #: The driver pod is Ready: its TCP readiness probe reached the server, the Service sends clients to it.
        self.ready = ready
        #: The Secret and key of the pre-shared token the server requires ("" when it requires none).
        self.token_secret = token_secret
        self.token_key = token_key
        #: Executor pods of the app that have not ended: the server is busy while there are any.
        self.executors = executors
        #: Since when the server is idle, as far as the API shows (RFC 3339); None while busy, not ready, or not read.
        self.idle_since = idle_since

    def as_dict(self) -> Obj:
        """The JSON shape of `connect` in `list -o json` and `status -o json`."""
        return {key: getattr(self, key) for key in self.__slots__}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConnectInfo) and self.as_dict() == other.as_dict()

    def __repr__(self) -> str:
        return f"ConnectInfo({self.as_dict()!r})"


class AppSummary(NamedTuple):
    """One line of `sparkhelm list`: an app as its driver pod shows it (or its leftovers, when orphaned)."""

    name: str
    namespace: str
    phase: str
    created: str | None
    started: str | None
    finished: str | None
    priority_class: str
    exit_code: int | None
    reason: str
    message: str
    #: The line that says why the driver failed (Spark's exception), "" otherwise.
    failure: str = ""
    #: The app's own time to live after it ends (the chart's `ttl` value), "" when it has none.
    ttl: str = ""
    #: "app" (one run: a driver pod) or "schedule" (a CronJob whose runs are Jobs; schedule.cron).
    kind: str = "app"
    #: A schedule's cron expression, time zone ("" for the controller's), whether it is suspended.
    schedule: str = ""
    time_zone: str = ""
    suspend: bool | None = None
    #: When the schedule last started a run, that run's driver pod and its phase.
    last_schedule: str | None = None
    last_run: str = ""
    last_run_phase: str = ""
    #: A Spark Connect server (connect mode): how to reach it and whether it is in use; None for batch apps.
    connect: ConnectInfo | None = None

    @property
    def done(self) -> bool:
        """The driver has ended (Succeeded or Failed), or is gone with its app left behind."""
        return self.phase in (*TERMINAL, ORPHANED)

    def age(self, now: datetime.datetime) -> float:
        """Seconds since the app was created."""
        created = parse_time(self.created)
        return (now - created).total_seconds() if created else 0.0

    def finished_for(self, now: datetime.datetime) -> float | None:
        """Seconds since the driver ended (for an orphan: since the app was created); None while it runs."""
        if not self.done:
            return None
        finished = parse_time(self.finished) or parse_time(self.started) or parse_time(self.created)
        return (now - finished).total_seconds() if finished else None

    def to_dict(self) -> Obj:
        """The stable JSON shape of an app (keys are only ever added)."""
        data = dict(self._asdict())
        data["connect"] = self.connect.as_dict() if self.connect is not None else None
        return data


def summarize(pod: Obj) -> AppSummary:
    """The app behind a driver pod."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    labels = meta.get("labels") or {}
    state = _driver_state(pod)
    terminated = state.get("terminated") or {}
    phase = status.get("phase") or "Unknown"
    if meta.get("deletionTimestamp"):
        phase = "Terminating"
    running = state.get("running") or {}
    message = str(terminated.get("message") or status.get("message") or "").strip()
    # The pod's own reason (Evicted, NodeLost: the node's doing) before the container's (Error, OOMKilled).
    reason = status.get("reason") or terminated.get("reason") or " ".join(filter(None, waiting(pod)))
    return AppSummary(
        name=labels.get("app-name") or labels.get("app.kubernetes.io/instance") or meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        phase=phase,
        created=meta.get("creationTimestamp"),
        started=terminated.get("startedAt") or running.get("startedAt") or status.get("startTime"),
        finished=terminated.get("finishedAt"),
        priority_class=(pod.get("spec") or {}).get("priorityClassName") or "",
        exit_code=terminated.get("exitCode"),
        reason=str(reason),
        message=message,
        failure=failure_line(message) if phase == "Failed" else "",
        ttl=str((meta.get("annotations") or {}).get(TTL_ANNOTATION) or ""),
        connect=connect_info(pod),
    )


def orphan(leftover: Obj) -> AppSummary:
    """An app whose driver pod is gone, from one of its remaining objects (its ConfigMap)."""
    meta = leftover.get("metadata") or {}
    labels = meta.get("labels") or {}
    return AppSummary(
        name=labels.get("app-name") or labels.get("app.kubernetes.io/instance") or "",
        namespace=meta.get("namespace", ""),
        phase=ORPHANED,
        created=meta.get("creationTimestamp"),
        started=None,
        finished=None,
        priority_class="",
        exit_code=None,
        reason="DriverPodGone",
        message="the driver pod is gone; the app's other objects remain (sparkhelm delete or gc removes them)",
        ttl=str((meta.get("annotations") or {}).get(TTL_ANNOTATION) or ""),
    )


def is_run(pod: Obj) -> bool:
    """Whether a driver pod is a scheduled run: a Job's pod (the Job controller made it), not an app's own driver."""
    return any(ref.get("kind") == "Job" for ref in (pod.get("metadata") or {}).get("ownerReferences") or [])


def newest_first(pods: Sequence[Obj]) -> list[Obj]:
    """Pods (a schedule's runs) from the newest to the oldest."""

    def created(pod: Obj) -> tuple[str, str]:
        meta = pod.get("metadata") or {}
        return str(meta.get("creationTimestamp") or ""), str(meta.get("name") or "")

    return sorted(pods, key=created, reverse=True)


def summarize_schedule(cron_job: Obj, runs: Sequence[Obj] = ()) -> AppSummary:
    """A scheduled app, from its CronJob and its runs' driver pods: never done itself (gc leaves it alone)."""
    meta = cron_job.get("metadata") or {}
    spec = cron_job.get("spec") or {}
    pod_spec = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    last = newest_first(runs)[0] if runs else None
    suspended = bool(spec.get("suspend"))
    return AppSummary(
        name=(meta.get("labels") or {}).get("app-name") or meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        phase="Suspended" if suspended else "Scheduled",
        created=meta.get("creationTimestamp"),
        started=None,
        finished=None,
        priority_class=pod_spec.get("priorityClassName") or "",
        exit_code=None,
        reason="",
        message="",
        ttl=str((meta.get("annotations") or {}).get(TTL_ANNOTATION) or ""),
        kind="schedule",
        schedule=str(spec.get("schedule") or ""),
        time_zone=str(spec.get("timeZone") or ""),
        suspend=suspended,
        last_schedule=(cron_job.get("status") or {}).get("lastScheduleTime"),
        last_run=str((last.get("metadata") or {}).get("name") or "") if last else "",
        last_run_phase=summarize(last).phase if last else "",
    )


def summarize_all(
    driver_pods: Sequence[Obj], leftovers: Sequence[Obj] = (), schedules: Sequence[Obj] = ()
) -> list[AppSummary]:
    """Apps sorted by namespace, then newest first: one per driver pod, schedule, or leftover without a driver.

    A schedule's runs are not apps of their own. Runs whose CronJob is gone stand for their app (the one
    still running first), so that `gc` collects them once they ended.
    """
    runs: dict[tuple[str, str], list[Obj]] = {}
    singles = []
    for pod in driver_pods:
        if is_run(pod):
            meta = pod.get("metadata") or {}
            runs.setdefault((meta.get("namespace", ""), (meta.get("labels") or {}).get("app-name", "")), []).append(pod)
        else:
            singles.append(pod)
    apps = [summarize(pod) for pod in singles]
    for cron_job in schedules:
        meta = cron_job.get("metadata") or {}
        key = (meta.get("namespace", ""), (meta.get("labels") or {}).get("app-name", ""))
        apps.append(summarize_schedule(cron_job, runs.pop(key, [])))
    for unscheduled in runs.values():
        ordered = newest_first(unscheduled)
        apps.append(summarize(next((p for p in ordered if summarize(p).phase not in TERMINAL), ordered[0])))
    seen = {(a.namespace, a.name) for a in apps}
    for obj in leftovers:
        candidate = orphan(obj)
        if candidate.name and (candidate.namespace, candidate.name) not in seen:
            seen.add((candidate.namespace, candidate.name))
            apps.append(candidate)
    apps.sort(key=lambda a: a.created or "", reverse=True)
    apps.sort(key=lambda a: a.namespace)
    return apps


def collectable(
    apps: list[AppSummary], older_than: float, now: datetime.datetime, *, ttl: Callable[[str], float | None]
) -> list[AppSummary]:
    """Apps done (finished or orphaned) longer than their own TTL, else `older_than`: what `gc` removes.

    `ttl` reads an app's `sparkhelm.io/ttl` text as seconds (None when it cannot: the app keeps
    `older_than`, so a typo never deletes an app early).
    """
    chosen = []
    for app in apps:
        ended = app.finished_for(now)
        limit = ttl(app.ttl) if app.ttl else None
        if ended is not None and ended >= (older_than if limit is None else limit):
            chosen.append(app)
    return chosen


def ui_url(ingress: Obj | None) -> str | None:
    """The browser URL of the Spark UI from the app's Ingress, or None without one."""
    if not ingress:
        return None
    spec = ingress.get("spec") or {}
    rules = spec.get("rules") or [{}]
    host = rules[0].get("host") or ""
    paths = ((rules[0].get("http") or {}).get("paths")) or [{}]
    path = str(paths[0].get("path") or "/").split("(", 1)[0].rstrip("/") + "/"
    if not host:
        balancers = ((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [{}]
        host = balancers[0].get("hostname") or balancers[0].get("ip") or "<ingress-address>"
    tls_hosts = {h for entry in spec.get("tls") or [] for h in entry.get("hosts") or []}
    scheme = "https" if spec.get("tls") and (not tls_hosts or host in tls_hosts) else "http"
    return f"{scheme}://{host}{path}"


class AppStatus(NamedTuple):
    """What `sparkhelm status` shows (for a schedule: its latest run's driver pod and executors, and its runs)."""

    app: AppSummary
    driver_pod: str
    executors: dict[str, int]
    ui: str | None = None
    #: A schedule's runs, newest first (`run_record`s); empty for an app of one run.
    runs: Sequence[Obj] = ()

    def to_dict(self) -> Obj:
        """Stable JSON: the summary keys plus driver_pod, executors (count by phase), ui and runs (a schedule's)."""
        data = self.app.to_dict()
        data.update({"driver_pod": self.driver_pod, "executors": dict(self.executors), "ui": self.ui,
                     "runs": list(self.runs)})
        return data


def run_record(pod: Obj) -> Obj:
    """One run of a schedule, as `status` shows it: its driver pod, phase, times, exit code and failure line."""
    run = summarize(pod)
    return {"driver_pod": (pod.get("metadata") or {}).get("name", ""), "phase": run.phase, "created": run.created,
            "started": run.started, "finished": run.finished, "exit_code": run.exit_code, "failure": run.failure}


def owned_by(pods: Sequence[Obj], owner: Obj) -> list[Obj]:
    """The pods that name `owner` (by uid) in their ownerReferences: a run's executors."""
    uid = (owner.get("metadata") or {}).get("uid")
    return [
        pod for pod in pods
        if any(ref.get("uid") == uid for ref in (pod.get("metadata") or {}).get("ownerReferences") or [])
    ]


def executors_by_phase(pods: list[Obj]) -> dict[str, int]:
    """Executor pods counted by phase."""
    counts = Counter(((pod.get("status") or {}).get("phase") or "Unknown") for pod in pods)
    return dict(sorted(counts.items()))


# --- Spark Connect servers ---------------------------------------------------------------------

#: The driver container's port that marks a Spark Connect server (the chart names it so in connect mode).
CONNECT_PORT_NAME = "spark-connect"
#: The variable the server reads its pre-shared token from (the chart fills it from a Secret).
TOKEN_ENV = "SPARK_CONNECT_AUTHENTICATE_TOKEN"
#: The kubelet's events that outlive an executor pod: it started a container, it stopped a running one.
EXECUTOR_EVENT_REASONS = ("Started", "Killing")
#: Their field selectors, one LIST each (API servers index events by `reason` and `involvedObject.kind`).
EXECUTOR_EVENT_SELECTORS = tuple(f"involvedObject.kind=Pod,reason={reason}" for reason in EXECUTOR_EVENT_REASONS)


def _driver_container(pod: Obj) -> Obj:
    containers = (pod.get("spec") or {}).get("containers") or []
    named = [c for c in containers if c.get("name") == "driver"] or containers
    return named[0] if named else {}


def is_ready(pod: Obj) -> bool:
    """The pod's Ready condition is True (for a Connect server: its readiness probe reached the gRPC port)."""
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def connect_info(pod: Obj) -> ConnectInfo | None:
    """The Spark Connect server a driver pod runs (its container has the port `spark-connect`), or None."""
    container = _driver_container(pod)
    ports = container.get("ports") or []
    port = next((int(p["containerPort"]) for p in ports if p.get("name") == CONNECT_PORT_NAME), None)
    if port is None:
        return None
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    app = labels.get("app-name") or labels.get("app.kubernetes.io/instance") or ""
    secret, key = "", ""
    for var in container.get("env") or []:
        ref = (var.get("valueFrom") or {}).get("secretKeyRef") or {}
        if var.get("name") == TOKEN_ENV and ref:
            secret, key = str(ref.get("name") or ""), str(ref.get("key") or "")
    return ConnectInfo(
        url=f"sc://{AppNames(app).connect_service}.{meta.get('namespace', '')}.svc:{port}",
        port=port,
        ready=is_ready(pod) and not meta.get("deletionTimestamp"),
        token_secret=secret,
        token_key=key,
    )


def crash_looping(pod: Obj) -> bool:
    """The driver container keeps exiting and the kubelet waits before restarting it (CrashLoopBackOff)."""
    reason = ((_driver_status(pod).get("state") or {}).get("waiting") or {}).get("reason")
    return bool(reason == "CrashLoopBackOff")


def last_exit(pod: Obj) -> tuple[int | None, str]:
    """Exit code and failure line of the driver container's previous run (after a restart), else of this one."""
    status = _driver_status(pod)
    previous = (status.get("lastState") or {}).get("terminated")
    terminated = previous or (status.get("state") or {}).get("terminated") or {}
    return terminated.get("exitCode"), failure_line(str(terminated.get("message") or ""))


def _stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _executor_owner(name: str) -> str | None:
    """The app an executor pod name belongs to (as spec.naming.AppNames.executor_pod builds them), or None."""
    app, marker, executor_id = name.rpartition(AppNames("").executor_pod(""))
    return app if marker and executor_id.isdigit() and AppNames(app).executor_pod(executor_id) == name else None


def _ended_at(pod: Obj) -> datetime.datetime | None:
    """When an executor pod stopped working: its container's end, or the moment its deletion was asked for."""
    meta = pod.get("metadata") or {}
    deleting = parse_time(meta.get("deletionTimestamp"))
    if deleting is not None:
        return deleting - datetime.timedelta(seconds=int(meta.get("deletionGracePeriodSeconds") or 0))
    state = _driver_status(pod).get("state") or {}
    return parse_time((state.get("terminated") or {}).get("finishedAt")) or parse_time(
        (pod.get("status") or {}).get("startTime")
    )


def connect_activity(apps: Sequence[AppSummary], executors: Sequence[Obj], events: Sequence[Obj]) -> None:
    """Fill `executors` and `idle_since` of the Connect servers among `apps`, from what the API holds.

    A server is busy while any executor pod of its app has not ended (Pending or Running, not being
    deleted). Otherwise it is idle since the last executor activity the API shows, or since its
    container started when there is none later: the end of an executor pod still listed (its
    container's `finishedAt`, or when its deletion was asked for), and the kubelet's events of the
    app's executor pods, which outlive the pods (`Started`: a container started; `Killing`: a running
    one was stopped, as when Spark deletes an executor that did not exit in time).

    What this cannot see: an executor that dynamic allocation releases usually exits by itself and
    Spark then deletes its pod, which leaves no record of that end; its `Started` event remains. So
    after such a release the idle time counts from the last executor's start: it can be longer than
    the real idle time by up to that executor's lifetime. Events expire (after 1h by default): for a
    server idle for longer, the time counts from its start or from the last executor pod still listed.
    """
    servers = {(a.namespace, a.name): a for a in apps if a.connect is not None}
    if not servers:
        return
    busy: Counter[tuple[str, str]] = Counter()
    latest: dict[tuple[str, str], datetime.datetime] = {}

    def seen(key: tuple[str, str], moment: datetime.datetime | None) -> None:
        if moment is not None and key in servers and (key not in latest or moment > latest[key]):
            latest[key] = moment

    for pod in executors:
        meta = pod.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str((meta.get("labels") or {}).get("app-name") or ""))
        phase = (pod.get("status") or {}).get("phase")
        if phase not in TERMINAL and not meta.get("deletionTimestamp"):
            busy[key] += 1
        else:
            seen(key, _ended_at(pod))
    for event in events:
        involved = event.get("involvedObject") or {}
        app = _executor_owner(str(involved.get("name") or ""))
        if app is None or event.get("reason") not in EXECUTOR_EVENT_REASONS:
            continue
        meta = event.get("metadata") or {}
        key = (str(involved.get("namespace") or meta.get("namespace") or ""), app)
        seen(key, parse_time(event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")))
    for key, server in servers.items():
        info = server.connect
        assert info is not None
        info.executors = busy[key]
        if busy[key] or not info.ready or server.phase != "Running":
            info.idle_since = None
            continue
        seen(key, parse_time(server.started))
        info.idle_since = _stamp(latest[key]) if key in latest else None
