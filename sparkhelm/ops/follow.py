"""Follow a driver pod to its end: wait (watching, not polling), stream its log, archive the record.

The exit code of `run --wait` is the driver's: 0 when the pod Succeeded, 1 when it Failed. A driver
that can never start (an image that cannot be pulled, a Secret that does not exist) ends the wait at
once with that reason. A wait that runs out of time is a failure too (1), but the app keeps running:
it is the caller's wait that ended, so the message says how to look at it or delete it. Every wait,
log streams included, holds the deadline: no request outlives it by more than about a second.
"""

from __future__ import annotations

import datetime
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkhelm.errors import DriverGoneError, WaitTimeoutError
from sparkhelm.kube.apps import FATAL_WAITING, TERMINAL, AppSummary, summarize, waiting
from sparkhelm.kube.cluster import Cluster
from sparkhelm.spec.durations import format_duration
from sparkhelm.spec.naming import AppNames

if TYPE_CHECKING:
    from sparkhelm.ops.submit import Submission

Obj = dict[str, Any]
FAILURE_TAIL_LINES = 20
CANNOT_START = "CannotStart"
START_TIMEOUT = "StartTimeout"


@dataclass
class Outcome:
    """How the driver ended: Succeeded, Failed, or CannotStart (it stays Pending for a reason waiting cannot fix)."""

    app: AppSummary
    pod: Obj
    log_tail: str = ""

    @property
    def succeeded(self) -> bool:
        """The driver pod Succeeded: spark-submit exited 0."""
        return self.app.phase == "Succeeded"

    @property
    def started(self) -> bool:
        """The driver ran at all (False for CannotStart)."""
        return self.app.phase != CANNOT_START


class Follower:
    """Waits for one driver, reporting progress through `notice` and log lines through `echo`."""

    def __init__(
        self,
        cluster: Cluster,
        app: str,
        *,
        timeout: float | None,
        echo: Callable[[str], None],
        notice: Callable[[str], None],
        start_timeout: float | None = None,
        deadline: float | None = None,
    ) -> None:
        self.cluster = cluster
        self.app = app
        self.pod_name = AppNames(app).driver_pod
        # `deadline` (monotonic) when the wait shares one with earlier attempts; else `timeout` from now.
        self.deadline = deadline if deadline is not None else time.monotonic() + timeout if timeout else math.inf
        self.timeout = timeout
        #: A driver still Pending at this time cannot start (--start-timeout): capacity, quota, a queue.
        self.start_deadline = time.monotonic() + start_timeout if start_timeout else math.inf
        self.start_timeout = start_timeout
        self.echo = echo
        self.notice = notice
        self._last_notice = ""

    def _check_deadline(self) -> None:
        if time.monotonic() < self.deadline:
            return
        assert self.timeout is not None
        pod = self.cluster.pod(self.pod_name)
        phase = summarize(pod).phase if pod else "gone"
        where = f"-n {self.cluster.namespace}"
        raise WaitTimeoutError(
            f"{self.app} is still {phase} after {format_duration(self.timeout)}; it keeps running: see "
            f"'sparkhelm status {self.app} {where}', or stop it with 'sparkhelm delete {self.app} {where}'"
        )

    def _report(self, pod: Obj) -> None:
        app = summarize(pod)
        text = f"{app.phase}" + (f": {app.reason}" if app.reason and app.phase == "Pending" else "")
        if text != self._last_notice:
            self.notice(f"driver {self.pod_name}: {text}")
            self._last_notice = text

    def _gone(self) -> DriverGoneError:
        return DriverGoneError(f"the driver pod {self.pod_name} of {self.app} was deleted before it finished")

    def cannot_start(self, pod: Obj) -> bool:
        """The driver can never start (a fatal wait), or was still Pending at the start deadline."""
        if summarize(pod).phase != "Pending":
            return False
        return waiting(pod)[0] in FATAL_WAITING or time.monotonic() >= self.start_deadline

    def wait_until(self, done: Callable[[Obj], bool]) -> Obj:
        """Watch the driver until `done(pod)` or it cannot start; a closed watch is reopened until the deadline."""
        pod = self.cluster.pod(self.pod_name)
        while True:
            if pod is None:
                raise self._gone()
            self._report(pod)
            if done(pod) or self.cannot_start(pod):
                return pod
            self._check_deadline()
            pending = summarize(pod).phase == "Pending"
            until = min(self.deadline, self.start_deadline) if pending else self.deadline
            for changed in self.cluster.watch_pod(self.pod_name, deadline=until):
                if changed is None:
                    raise self._gone()
                self._report(changed)
                if done(changed) or self.cannot_start(changed):
                    return changed
            self._check_deadline()
            pod = self.cluster.pod(self.pod_name)  # the watch ended: re-read, then watch again

    def run(self, *, logs: bool) -> Outcome:
        """Follow to the end; with `logs`, stream the driver log as soon as its container starts."""
        if logs:
            pod = self.wait_until(lambda pod: summarize(pod).phase != "Pending")
            if not self.cannot_start(pod):
                for line in self.cluster.follow_log(self.pod_name, deadline=self.deadline):
                    self.echo(line)
                self._check_deadline()
        pod = self.wait_until(lambda pod: summarize(pod).phase in TERMINAL)
        if self.cannot_start(pod):
            reason, message = waiting(pod)
            if reason not in FATAL_WAITING:  # the start deadline passed: say so, with the scheduler's reason
                assert self.start_timeout is not None
                waited = format_duration(self.start_timeout)
                message = f"still Pending after {waited}" + (f": {reason} {message}".rstrip() if reason else "")
                reason = START_TIMEOUT
            app = summarize(pod)._replace(phase=CANNOT_START, reason=reason, message=message)
            return Outcome(app=app, pod=pod)
        outcome = Outcome(app=summarize(pod), pod=pod)
        if not outcome.succeeded and not logs:
            outcome.log_tail = self.cluster.log(self.pod_name, tail=FAILURE_TAIL_LINES)
        return outcome


def follow(
    submission: Submission,
    *,
    cluster: Cluster | None = None,
    logs: bool = False,
    timeout: float | None = None,
    start_timeout: float | None = None,
    deadline: float | None = None,
    echo: Callable[[str], None] = print,
    notice: Callable[[str], None] = print,
) -> Outcome:
    """Wait for the driver to end (streaming its log with `logs`), on the cluster the submission went to.

    `start_timeout`: a driver still Pending after that many seconds is an outcome that cannot start
    (reason StartTimeout, with the scheduler's reason); it is left in place for the caller to delete.
    """
    cluster = cluster or Cluster(submission.connection.with_namespace(submission.namespace))
    follower = Follower(
        cluster,
        submission.app_name,
        timeout=timeout,
        echo=echo,
        notice=notice,
        start_timeout=start_timeout,
        deadline=deadline,
    )
    return follower.run(logs=logs)


def archive(
    cluster: Cluster, outcome: Outcome, directory: Path, *, attempt: int = 0, with_log: bool | None = None
) -> list[Path]:
    """Save the driver log and the final status under DIR/<app>/ (DIR/<app>/attempt-N/ for a retried run).

    A run leaves a record after cleanup, and every attempt of a retried run its own.
    """
    app = outcome.app
    target = directory / app.name / (f"attempt-{attempt}" if attempt else "")
    target.mkdir(parents=True, exist_ok=True)
    log_path = target / "driver.log"
    with_log = outcome.started if with_log is None else with_log
    log = cluster.log(AppNames(app.name).driver_pod, namespace=app.namespace) if with_log else ""
    log_path.write_text(log, encoding="utf-8")
    status_path = target / "status.json"
    record = {
        "app": app.to_dict(),
        "archived": datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "driverPodStatus": outcome.pod.get("status") or {},
    }
    status_path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return [log_path, status_path]
