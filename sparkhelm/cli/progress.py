"""What `run --wait` shows while it waits: a spinner on a terminal, plain lines everywhere else.

The spinner (rich's status line) is drawn only when stderr is a terminal, so logs, CI output and
pipes get the same plain progress lines as before. Colour follows the usual conventions: none
when `NO_COLOR` is set (any value, https://no-color.org) or `TERM=dumb`. rich is imported only
when the spinner is drawn.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from types import TracebackType
from typing import IO, Any


def spinner_wanted(stream: IO[str], environ: Mapping[str, str]) -> bool:
    """A spinner only on an interactive terminal."""
    return stream.isatty() and environ.get("TERM") != "dumb"


def colour_wanted(stream: IO[str], environ: Mapping[str, str]) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set."""
    return "NO_COLOR" not in environ and spinner_wanted(stream, environ)


class _Live:
    """The spinner's text, made again at every refresh so the elapsed time moves."""

    def __init__(self, waiting: Waiting) -> None:
        self.waiting = waiting

    def __rich__(self) -> str:
        return self.waiting.text()


class Waiting:
    """Progress of one wait: `notice(line)` prints a progress line; the spinner shows the latest one.

    `what` names what is waited for in the spinner; it may be set once known.
    """

    def __init__(
        self,
        what: str,
        *,
        spinner: bool = True,
        stream: IO[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.what = what
        self.spinner = spinner
        self.stream = stream if stream is not None else sys.stderr
        self.environ = environ if environ is not None else os.environ
        self._status: Any = None
        self._console: Any = None
        self._started = time.monotonic()
        self._latest = "waiting"

    def __enter__(self) -> Waiting:
        return self

    def _start_spinner(self) -> None:
        """Draw the spinner from the first progress line on: what comes before it prints undisturbed."""
        from rich.console import Console

        self._console = Console(
            file=self.stream,
            force_terminal=True,
            no_color=not colour_wanted(self.stream, self.environ),
            highlight=False,
            soft_wrap=True,
        )
        self._started = time.monotonic()
        self._status = self._console.status(_Live(self), spinner="dots")
        self._status.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._status is not None:
            self._status.stop()

    def text(self) -> str:
        """What the spinner says: what we wait for, the latest progress line, the time so far."""
        elapsed = int(time.monotonic() - self._started)
        return f"{self.what}: {self._latest} ({elapsed // 60}m{elapsed % 60:02d}s)"

    def notice(self, line: str) -> None:
        """A progress line: printed above the spinner (or plainly), and shown in the spinner."""
        self._latest = line
        if self._console is None and self.spinner and spinner_wanted(self.stream, self.environ):
            self._start_spinner()
        if self._console is None:
            print(line, file=self.stream, flush=True)
            return
        self._console.print(line, markup=False)
