"""The console script: start loading the embedded Helm engine while Python imports the CLI.

Loading Helm's Go library (an 85 MB shared object) takes 40-60 ms, mostly in the dynamic loader
and the Go runtime's start, which run outside Python's GIL; importing Typer and the CLI takes
about as long. For a command that will render with the embedded engine, the first starts on a
thread right away, so the two overlap. This module imports only what the interpreter has already
loaded at start (os, sys) and threading; the thread looks for a helm binary itself.
"""

from __future__ import annotations

import os
import sys
import threading

#: The commands that load a Helm engine; the others (and every --help) must not pay for one.
ENGINE_COMMANDS = frozenset({"template", "run", "delete", "gc"})


def _engine_flag(argv: list[str]) -> str:
    for index, arg in enumerate(argv):
        if arg == "--engine" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--engine="):
            return arg.partition("=")[2]
    return os.environ.get("SPARKHELM_ENGINE", "auto")


def engine_to_preload(argv: list[str]) -> str | None:
    """`embedded` or `auto` when this command line will render and may use the embedded engine, else None."""
    if not argv or argv[0] not in ENGINE_COMMANDS or "--help" in argv or "-h" in argv:
        return None
    choice = _engine_flag(argv)
    return choice if choice in ("auto", "embedded") else None


def _preload(choice: str) -> None:
    """Load the embedded SDK, unless `auto` will pick a helm binary (a wrong guess only costs time)."""
    try:
        from sparkhelm import helmpath
        from sparkhelm.goruntime import import_helm_sdk

        if choice == "auto" and helmpath.helm_binary() is not None:
            return
        import_helm_sdk()
    except Exception:  # noqa: BLE001, S110 - the command itself reports a missing or broken engine
        pass


def main() -> None:
    """Console-script entry point: `sparkhelm ...`."""
    choice = engine_to_preload(sys.argv[1:])
    if choice is not None:
        # Not a daemon: the interpreter waits for the load before it exits, never tears it down midway.
        threading.Thread(target=_preload, args=(choice,), name="sparkhelm-engine-load").start()
    if sys.argv[1:2] == ["template"]:
        from sparkhelm.fastpath import template

        code = template(sys.argv[2:])
        if code is not None:
            sys.exit(code)
    from sparkhelm.cli import main as cli_main

    cli_main()
