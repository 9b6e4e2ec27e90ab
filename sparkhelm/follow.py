"""Follow a driver pod to its end: wait (watching, not polling), stream its log, archive the record.

The exit code of `run --wait` is the driver's: 0 when the pod Succeeded, 1 when it Failed. A wait
that runs out of time is a failure too (1), but the app keeps running: it is the caller's wait
that ended, so the message says how to look at it or delete it.
"""

from __future__ import annotations

import datetime
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparkhelm.apps import TERMINAL, AppSummary, summarize
from sparkhelm.cluster import Cluster
from sparkhelm.durations import format_duration
from sparkhelm.errors import EngineError

Obj = dict[str, Any]
FAILURE_TAIL_LINES = 20


class WaitTimeoutError(EngineError):
    """The driver did not end within --timeout (it keeps running)."""


class DriverGoneError(EngineError):
    """The driver pod was deleted while we were following it."""


@dataclass
class Outcome:
    """How the driver ended."""

    app: AppSummary
    pod: Obj
    log_tail: str = ""

    @property
    def succeeded(self) -> bool:
        """The driver pod Succeeded: spark-submit exited 0."""
        return self.app.phase == "Succeeded"


class Follower:
    """Waits for one driver, reporting progress through `notice` and log lines through `echo`."""

    def __init__(
        self,
        cluster: Cluster,
        app: str,
        namespace: str,
        *,
        timeout: float | None,
        echo: Callable[[str], None],
        notice: Callable[[str], None],
    ) -> None:
        self.cluster = cluster
        self.app = app
        self.namespace = namespace
        self.pod_name = f"{app}-driver"
        self.deadline = time.monotonic() + timeout if timeout else math.inf
        self.timeout = timeout
        self.echo = echo
        self.notice = notice
        self._last_notice = ""

    def _remaining(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            assert self.timeout is not None
            pod = self.cluster.pod(self.pod_name, self.namespace)
            phase = summarize(pod).phase if pod else "gone"
            raise WaitTimeoutError(
                f"{self.app} is still {phase} after {format_duration(self.timeout)}; it keeps running: see "
                f"'sparkhelm status {self.app} -n {self.namespace}', or stop it with "
                f"'sparkhelm delete {self.app} -n {self.namespace}'"
            )
        return min(remaining, 300.0)

    def _report(self, pod: Obj) -> None:
        app = summarize(pod)
        text = f"{app.phase}" + (f": {app.reason}" if app.reason and app.phase == "Pending" else "")
        if text != self._last_notice:
            self.notice(f"driver {self.pod_name}: {text}")
            self._last_notice = text

    def wait_until(self, done: Callable[[Obj], bool]) -> Obj:
        """Watch the driver until `done(pod)`; a closed watch is reopened until the deadline."""
        while True:
            pod = self.cluster.pod(self.pod_name, self.namespace)
            if pod is None:
                raise DriverGoneError(f"the driver pod {self.pod_name} of {self.app} was deleted before it finished")
            self._report(pod)
            if done(pod):
                return pod
            for changed in self.cluster.watch_pod(self.pod_name, self.namespace, self._remaining()):
                if changed is None:
                    raise DriverGoneError(
                        f"the driver pod {self.pod_name} of {self.app} was deleted before it finished"
                    )
                self._report(changed)
                if done(changed):
                    return changed
            self._remaining()

    def run(self, *, logs: bool) -> Outcome:
        """Follow to the end; with `logs`, stream the driver log as soon as its container starts."""
        if logs:
            self.wait_until(lambda pod: summarize(pod).phase != "Pending")
            for line in self.cluster.follow_log(self.pod_name, self.namespace):
                self.echo(line)
        pod = self.wait_until(lambda pod: summarize(pod).phase in TERMINAL)
        outcome = Outcome(app=summarize(pod), pod=pod)
        if not outcome.succeeded and not logs:
            outcome.log_tail = self.cluster.log(self.pod_name, self.namespace, tail=FAILURE_TAIL_LINES)
        return outcome


def archive(cluster: Cluster, outcome: Outcome, directory: Path) -> list[Path]:
    """Save the driver log and the final status under DIR/<app>/, so a run leaves a record after cleanup."""
    app = outcome.app
    target = directory / app.name
    target.mkdir(parents=True, exist_ok=True)
    log_path = target / "driver.log"
    log_path.write_text(cluster.log(f"{app.name}-driver", app.namespace), encoding="utf-8")
    status_path = target / "status.json"
    record = {
        "app": app.to_dict(),
        "archived": datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "driverPodStatus": outcome.pod.get("status") or {},
    }
    status_path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return [log_path, status_path]
