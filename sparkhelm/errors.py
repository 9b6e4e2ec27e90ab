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
