"""`sparkhelm run` as one sequence: submit, then (when asked) follow to the end, archive the log, delete.

One `Cluster` (the connection resolved once, one client) serves the whole sequence. With `retries`,
an attempt that failed for a reason of the cluster's (evicted, node lost, image pull, no capacity
before `start_timeout`) is deleted and submitted again after a backoff; an application's own
failure is retried only when `retry_app_failures` says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sparkhelm.engine import Engine, engine_of
from sparkhelm.errors import DriverGoneError
from sparkhelm.kube.cluster import Cluster
from sparkhelm.ops.submit import Submission, submit
from sparkhelm.spec.inputs import Inputs

if TYPE_CHECKING:
    from sparkhelm.kube.connection import Connection, KubeTarget
    from sparkhelm.ops.follow import Outcome
    from sparkhelm.ops.remove import Removal

#: Why a pod failed when the node, not the application, ended it (the pod's own status.reason).
NODE_REASONS = frozenset({"Evicted", "NodeLost", "NodeShutdown", "Shutdown", "Terminated", "UnexpectedAdmissionError"})
#: Why a driver could not start that a later attempt may not meet (a registry hiccup, no capacity yet).
TRANSIENT_START = frozenset({"ImagePullBackOff", "ErrImagePull", "StartTimeout"})
MAX_BACKOFF = 300.0


@dataclass(frozen=True)
class Attempt:
    """One attempt of a run that was retried: how it ended, and why it was tried again."""

    app_name: str
    outcome: Outcome | None
    why: str


@dataclass(frozen=True)
class RunResult:
    """What `run` did: the submission, and with `wait` how the driver ended and what was kept or removed."""

    submission: Submission
    outcome: Outcome | None = None
    archived: list[Path] = field(default_factory=list)
    removal: Removal | None = None
    #: Earlier attempts that were retried (the last one is `submission`/`outcome`).
    retried: list[Attempt] = field(default_factory=list)

    @property
    def succeeded(self) -> bool | None:
        """True or False once the driver ended (`wait`); None when `run` did not wait."""
        return None if self.outcome is None else self.outcome.succeeded

    @property
    def deleted(self) -> bool:
        """The app was deleted after it ended (`cleanup`), and nothing of it is left."""
        return self.removal is not None and self.removal.done


def retry_reason(outcome: Outcome, *, app_failures: bool = False) -> str | None:
    """Why an outcome deserves another attempt, or None: the cluster's failures, the app's only when asked."""
    app = outcome.app
    if outcome.succeeded:
        return None
    if not outcome.started:
        return app.reason if app.reason in TRANSIENT_START else None
    if app.reason in NODE_REASONS:
        return app.reason
    if app_failures:
        return f"exit code {app.exit_code}" if app.exit_code is not None else app.reason or app.phase
    return None


def run(
    inputs: Inputs,
    *,
    kube: KubeTarget | Connection | Cluster | None = None,
    engine: Engine | str = "auto",
    wait: bool = False,
    logs: bool = False,
    timeout: float | None = None,
    start_timeout: float | None = None,
    cleanup: bool = False,
    archive_logs: str | Path | None = None,
    retries: int = 0,
    retry_backoff: float = 10.0,
    retry_app_failures: bool = False,
    echo: Callable[[str], None] = print,
    notice: Callable[[str], None] = print,
    submitted: Callable[[Submission], None] | None = None,
) -> RunResult:
    """`sparkhelm run` as a function: submit; with `wait` (implied by the other options) follow to the end.

    `logs` sends the driver log to `echo` line by line; progress lines go to `notice`; `submitted`
    is called with each submission before any waiting. A driver that fails (or cannot start) is a
    result (`succeeded` is False), not an exception; `WaitTimeoutError` says the wait ran out while
    the app keeps running (`timeout` bounds all attempts together). With `cleanup` the app is
    deleted after it ends, once its log is archived when `archive_logs` names a directory.
    """
    from sparkhelm.ops.follow import archive, follow
    from sparkhelm.ops.remove import delete

    following = wait or logs or cleanup or archive_logs is not None or retries > 0 or start_timeout is not None
    if following:
        _refuse_following_a_schedule(inputs)
    cluster = Cluster.of(kube)
    chosen = engine_of(engine)
    deadline: float | None = None  # set when the first wait starts: `timeout` bounds every wait together
    backoff = retry_backoff
    retried: list[Attempt] = []
    attempt = 1
    while True:
        submission = submit(inputs, kube=cluster, engine=chosen)
        if submitted is not None:
            submitted(submission)
        if not following:
            return RunResult(submission)
        if deadline is None and timeout:
            deadline = time.monotonic() + timeout
        try:
            outcome: Outcome | None = follow(
                submission,
                cluster=cluster,
                logs=logs,
                timeout=timeout,
                start_timeout=start_timeout,
                deadline=deadline,
                echo=echo,
                notice=notice,
            )
        except DriverGoneError:
            if attempt > retries:
                raise
            outcome = None
        archived = (
            archive(cluster, outcome, Path(archive_logs), attempt=attempt if retries else 0)
            if archive_logs is not None and outcome is not None
            else []
        )
        why = (
            "the driver pod was deleted (node lost?)"
            if outcome is None
            else retry_reason(outcome, app_failures=retry_app_failures)
        )
        if outcome is not None and (why is None or attempt > retries):
            removal = delete([submission.app_name], kube=cluster, engine=chosen)[0] if cleanup else None
            return RunResult(submission, outcome, archived, removal, retried)
        assert why is not None
        delete([submission.app_name], kube=cluster, engine=chosen, wait=120.0)  # the name may be used again
        retried.append(Attempt(submission.app_name, outcome, why))
        pause = backoff if deadline is None else min(backoff, max(deadline - time.monotonic(), 0))
        notice(
            f"attempt {attempt} of {submission.app_name} failed ({why}); retrying in {pause:.0f}s "
            f"(attempt {attempt + 1} of {retries + 1})"
        )
        time.sleep(pause)
        backoff = min(backoff * 2, MAX_BACKOFF)
        attempt += 1
        # The same inputs: a generated name is generated anew, an exact one (--name) is used again.


def _refuse_following_a_schedule(inputs: Inputs) -> None:
    """A scheduled app runs later, once per run: there is no one driver to wait for, follow or clean up after."""
    from sparkhelm.errors import UserError
    from sparkhelm.ops.render import compute_values

    cron = (compute_values(inputs).values.get("schedule") or {}).get("cron")
    if cron:
        raise UserError(
            f"schedule.cron {cron!r}: a scheduled app starts its runs later, so --wait, --logs, --timeout, "
            "--cleanup, --archive-logs, --retries and --start-timeout do not apply (the Job's retries value "
            "does that per run); drop them, and follow the runs with 'sparkhelm status' "
            "and 'sparkhelm logs'"
        )
