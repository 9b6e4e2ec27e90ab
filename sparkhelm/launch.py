"""The console script: start loading the embedded Helm engine while Python imports the CLI.

Loading Helm's Go library (an 85 MB shared object) takes 40-60 ms, mostly in the dynamic loader
and the Go runtime's start, which run outside Python's GIL; importing Typer and the CLI takes
about as long. For a command that will render with the embedded engine, the first starts on a
thread so the two overlap (about 20 ms of a 150 ms `template`). Standard library only here.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

from sparkhelm.helmpath import helm_binary

#: The commands that load a Helm engine; the others (and every --help) must not pay for one.
ENGINE_COMMANDS = frozenset({"template", "run", "delete", "gc"})


def _engine_flag(argv: list[str]) -> str:
    for index, arg in enumerate(argv):
        if arg == "--engine" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--engine="):
            return arg.partition("=")[2]
    return os.environ.get("SPARKHELM_ENGINE", "auto")


def loads_embedded_engine(argv: list[str]) -> bool:
    """Whether this command line will load the embedded engine (a guess: a wrong one only costs time)."""
    if not argv or argv[0] not in ENGINE_COMMANDS or "--help" in argv or "-h" in argv:
        return False
    choice = _engine_flag(argv)
    return choice == "embedded" or (choice == "auto" and helm_binary() is None)


def _load_engine() -> None:
    with contextlib.suppress(Exception):  # the command itself reports a missing or broken engine
        import helm_python  # noqa: F401 - loading it is the point


def main() -> None:
    """Console-script entry point: `sparkhelm ...`."""
    if loads_embedded_engine(sys.argv[1:]):
        # Not a daemon: the interpreter waits for the load before it exits, never tears it down midway.
        threading.Thread(target=_load_engine, name="sparkhelm-engine-load").start()
    from sparkhelm.cli import main as cli_main

    cli_main()
