"""The benchmark's handle on the emulated API server, which runs in its own process (benchmarks/server.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any

from benchmarks.common import PYTHON, ROOT, base_env, scratch


class Emulator:
    """`python -m benchmarks.server` started from the repository root; commands go over its stdin."""

    def __init__(self, *, kubelet: str = "Running") -> None:
        self.directory = scratch()
        self._process = subprocess.Popen(
            [PYTHON, "-m", "benchmarks.server", str(self.directory), "--kubelet", kubelet],
            cwd=ROOT, env=base_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self._process.stdout is not None
        hello = self._process.stdout.readline()
        if not hello:
            raise RuntimeError("the emulated API server did not start (see its stderr above)")
        announced = json.loads(hello)
        self.kubeconfig = Path(announced["kubeconfig"])
        self.url: str = announced["url"]
        self.pid: int = announced["pid"]

    def ask(self, *words: object) -> Any:
        """Send one command, return its answer."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(" ".join(str(w) for w in words) + "\n")
        self._process.stdin.flush()
        reply = json.loads(self._process.stdout.readline())
        if "error" in reply:
            raise RuntimeError(f"emulator: {' '.join(map(str, words))}: {reply['error']}")
        return reply["ok"]

    def count(self) -> int:
        """Requests served so far."""
        return int(self.ask("count"))

    def requests(self, since: int) -> list[tuple[str, str]]:
        """(method, path?query) of the requests served since index `since`."""
        return [(method, path) for method, path in self.ask("requests", since)]

    def accepts(self, since: int) -> list[tuple[str, str, str]]:
        """(method, path?query, Accept header) of the requests served since index `since`."""
        return [(method, path, accept) for method, path, accept in self.ask("accepts", since)]

    def cpu(self) -> float:
        """The server process's own CPU seconds so far."""
        usage = self.ask("usage")
        return float(usage["user"]) + float(usage["system"])

    def close(self) -> None:
        """Stop the server (it closes its cluster) and wait for it."""
        if self._process.poll() is None:
            assert self._process.stdin is not None
            try:
                self._process.stdin.write("quit\n")
                self._process.stdin.close()
                self._process.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def is_write(method: str, path: str) -> bool:
    """A request that stores or changes an object (reviews are POSTs that store nothing)."""
    return method in ("POST", "PUT", "PATCH", "DELETE") and "/authorization.k8s.io/" not in path
