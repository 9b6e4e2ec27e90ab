"""Every error sparkhelm raises on purpose; the CLI turns each into an exit code and one line on stderr.

Exported from the package root (`from sparkhelm import UserError`), so Python callers catch them
without knowing which module raised them. Exit codes: 2 for the user's input (raised before
anything reaches a cluster), 1 for everything that failed at run time, 130 for Ctrl-C.
"""

from __future__ import annotations


class SparkhelmError(Exception):
    """Base of every error sparkhelm reports to its user; `exit_code` is what the CLI exits with."""

    exit_code = 1


class UserError(SparkhelmError):
    """Bad input (flag, values file, value, kubeconfig): exit code 2. Raised before any cluster write."""

    exit_code = 2


class EngineError(SparkhelmError):
    """Helm or the cluster failed for a reason that is not the user's input: exit code 1."""

    exit_code = 1


# --- Helm ---------------------------------------------------------------------------------------


class NameInUseError(UserError):
    """The app name is taken in the namespace: sparkhelm never touches somebody else's release."""


class OperationPendingError(EngineError):
    """Another Helm operation holds the release (or an interrupted one left it pending)."""


class ReleaseNotFoundError(EngineError):
    """No Helm release of that name in the namespace."""


class HelmForbiddenError(EngineError):
    """The API server refused a request Helm made."""


# --- the Kubernetes API -------------------------------------------------------------------------


class ApiError(EngineError):
    """The API server answered with an error status."""

    def __init__(self, message: str, *, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason


class ForbiddenError(ApiError):
    """HTTP 403: RBAC refused the request (callers decide whether that is fatal)."""


class NotFoundError(ApiError):
    """HTTP 404, or an app asked for by name that does not exist."""


class ConflictError(ApiError):
    """HTTP 409: the object exists already, or changed under us."""


class NoKubeconfigError(UserError):
    """No kubeconfig file anywhere and not running in a cluster: a dry run still knows its namespace."""


# --- following an app ---------------------------------------------------------------------------


class WaitTimeoutError(EngineError):
    """The driver did not end within --timeout (the app keeps running)."""


class DriverGoneError(EngineError):
    """The driver pod was deleted while it was being followed."""


PREFIX = "sparkhelm: error: "


def one_line(error: BaseException) -> tuple[str, int]:
    """The CLI's report of an error that reached it: the stderr line after PREFIX, and the exit code."""
    if isinstance(error, SparkhelmError):
        return " ".join(str(error).split()), error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return "aborted", 130
    detail = " ".join(str(error).split())
    return f"internal error: {type(error).__name__}: {detail} (set SPARKHELM_DEBUG=1 for the traceback)", 1
