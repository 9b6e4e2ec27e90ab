"""What an application is on a cluster, read from its pods: phase, times, exit code, executors, UI.

The driver pod is the app's record (one per release, labelled by the chart), so listing all apps of
a namespace is one LIST of pods with a label selector: no Helm release decoding, no 256 cap.
These functions take plain pod dicts, so they are tested without a cluster.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

CHART_NAME = "spark-client-app"
DRIVER_SELECTOR = f"app.kubernetes.io/name={CHART_NAME},spark-role=driver"
TERMINAL = ("Succeeded", "Failed")

Obj = dict[str, Any]


def parse_time(value: str | None) -> datetime.datetime | None:
    """An RFC 3339 timestamp from the API, as an aware datetime."""
    if not value:
        return None
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _driver_state(pod: Obj) -> Obj:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    named = [s for s in statuses if s.get("name") == "driver"] or statuses
    return (named[0].get("state") or {}) if named else {}


def _waiting_reason(pod: Obj) -> str:
    state = _driver_state(pod)
    if "waiting" in state:
        waiting = state["waiting"]
        return " ".join(filter(None, [waiting.get("reason"), waiting.get("message")]))
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return " ".join(filter(None, [condition.get("reason"), condition.get("message")]))
    return ""


@dataclass
class AppSummary:
    """One line of `sparkhelm list`: an app as its driver pod shows it."""

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

    @property
    def done(self) -> bool:
        """The driver has ended (Succeeded or Failed)."""
        return self.phase in TERMINAL

    def age(self, now: datetime.datetime) -> float:
        """Seconds since the app was created."""
        created = parse_time(self.created)
        return (now - created).total_seconds() if created else 0.0

    def finished_for(self, now: datetime.datetime) -> float | None:
        """Seconds since the driver ended; None while it has not."""
        if not self.done:
            return None
        finished = parse_time(self.finished) or parse_time(self.started) or parse_time(self.created)
        return (now - finished).total_seconds() if finished else None

    def to_dict(self) -> Obj:
        """The stable JSON shape of an app (keys do not change between versions)."""
        return asdict(self)


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
    return AppSummary(
        name=labels.get("app-name") or labels.get("app.kubernetes.io/instance") or meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        phase=phase,
        created=meta.get("creationTimestamp"),
        started=terminated.get("startedAt") or running.get("startedAt") or status.get("startTime"),
        finished=terminated.get("finishedAt"),
        priority_class=(pod.get("spec") or {}).get("priorityClassName") or "",
        exit_code=terminated.get("exitCode"),
        reason=terminated.get("reason") or status.get("reason") or _waiting_reason(pod),
        message=(terminated.get("message") or status.get("message") or "").strip(),
    )


def summarize_all(pods: list[Obj]) -> list[AppSummary]:
    """Apps sorted by namespace, then newest first."""
    apps = [summarize(pod) for pod in pods]
    apps.sort(key=lambda a: a.created or "", reverse=True)
    apps.sort(key=lambda a: a.namespace)
    return apps


def collectable(apps: list[AppSummary], older_than: float, now: datetime.datetime) -> list[AppSummary]:
    """Finished apps whose driver ended more than `older_than` seconds ago (what `gc` removes)."""
    chosen = []
    for app in apps:
        ended = app.finished_for(now)
        if ended is not None and ended >= older_than:
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


@dataclass
class AppStatus:
    """What `sparkhelm status` shows."""

    app: AppSummary
    driver_pod: str
    executors: dict[str, int] = field(default_factory=dict)
    ui: str | None = None

    def to_dict(self) -> Obj:
        """Stable JSON: the summary keys plus driver_pod, executors (count by phase) and ui."""
        data = self.app.to_dict()
        data.update({"driver_pod": self.driver_pod, "executors": dict(self.executors), "ui": self.ui})
        return data


def executors_by_phase(pods: list[Obj]) -> dict[str, int]:
    """Executor pods counted by phase."""
    counts = Counter(((pod.get("status") or {}).get("phase") or "Unknown") for pod in pods)
    return dict(sorted(counts.items()))
