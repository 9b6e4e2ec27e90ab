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
        return dict(self._asdict())


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
