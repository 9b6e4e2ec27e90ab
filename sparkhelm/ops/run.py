"""`sparkhelm run` as one sequence: submit, then (when asked) follow to the end, archive the log, delete.

One `Cluster` (the connection resolved once, one client) serves the whole sequence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sparkhelm.engine import Engine, engine_of
from sparkhelm.kube.cluster import Cluster
from sparkhelm.ops.submit import Submission, submit
from sparkhelm.spec.inputs import Inputs

if TYPE_CHECKING:
    from sparkhelm.kube.connection import Connection, KubeTarget
    from sparkhelm.ops.follow import Outcome
    from sparkhelm.ops.remove import Removal


@dataclass(frozen=True)
class RunResult:
    """What `run` did: the submission, and with `wait` how the driver ended and what was kept or removed."""

    submission: Submission
    outcome: Outcome | None = None
    archived: list[Path] = field(default_factory=list)
    removal: Removal | None = None

    @property
    def succeeded(self) -> bool | None:
        """True or False once the driver ended (`wait`); None when `run` did not wait."""
        return None if self.outcome is None else self.outcome.succeeded

    @property
    def deleted(self) -> bool:
        """The app was deleted after it ended (`cleanup`), and nothing of it is left."""
        return self.removal is not None and self.removal.done


def run(
    inputs: Inputs,
    *,
    kube: KubeTarget | Connection | Cluster | None = None,
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

    `logs` sends the driver log to `echo` line by line; progress lines go to `notice`; `submitted`
    is called with the submission before any waiting. A driver that fails (or cannot start) is a
    result (`succeeded` is False), not an exception; `WaitTimeoutError` says the wait ran out while
    the app keeps running. With `cleanup` the app is deleted after it ends, once its log is archived
    when `archive_logs` names a directory.
    """
    from sparkhelm.ops.follow import archive, follow
    from sparkhelm.ops.remove import delete

    following = wait or logs or cleanup or archive_logs is not None
    if following:
        _refuse_following_a_schedule(inputs)
    cluster = Cluster.of(kube)
    chosen = engine_of(engine)
    submission = submit(inputs, kube=cluster, engine=chosen)
    if submitted is not None:
        submitted(submission)
    if not following:
        return RunResult(submission)
    outcome = follow(submission, cluster=cluster, logs=logs, timeout=timeout, echo=echo, notice=notice)
    archived = archive(cluster, outcome, Path(archive_logs)) if archive_logs is not None else []
    removal = delete([submission.app_name], kube=cluster, engine=chosen)[0] if cleanup else None
    return RunResult(submission, outcome, archived, removal)


def _refuse_following_a_schedule(inputs: Inputs) -> None:
    """A scheduled app runs later, once per run: there is no one driver to wait for, follow or clean up after."""
    from sparkhelm.errors import UserError
    from sparkhelm.ops.render import compute_values

    cron = (compute_values(inputs).values.get("schedule") or {}).get("cron")
    if cron:
        raise UserError(
            f"schedule.cron {cron!r}: a scheduled app starts its runs later, so --wait, --logs, --timeout, "
            "--cleanup and --archive-logs do not apply; drop them, and follow the runs with 'sparkhelm status' "
            "and 'sparkhelm logs'"
        )
