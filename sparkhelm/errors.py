"""Errors that the CLI turns into an exit code and one line on stderr."""

from __future__ import annotations


class SparkhelmError(Exception):
    """Base of every error sparkhelm reports to its user; `exit_code` is what the CLI exits with."""

    exit_code = 1


class UserError(SparkhelmError):
    """Bad input (flag, values file, value): exit code 2. Raised before anything reaches a cluster."""

    exit_code = 2


class EngineError(SparkhelmError):
    """The Helm engine failed for a reason that is not the user's input: exit code 1."""

    exit_code = 1


PREFIX = "sparkhelm: error: "


def one_line(error: BaseException) -> tuple[str, int]:
    """The CLI's report of an error that reached it: the stderr line after PREFIX, and the exit code."""
    if isinstance(error, SparkhelmError):
        return str(error), error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return "aborted", 130
    return f"internal error: {type(error).__name__}: {error} (set SPARKHELM_DEBUG=1 for the traceback)", 1


# --- the Kubernetes API (sparkhelm.kube) ----------------------------------------------------------


class ApiError(EngineError):
    """The API server answered with an error status; `message` is its own explanation, on one line."""

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
