"""The helm-binary engine: a `helm` on PATH driven through pyhelm3 (what ops teams already run).

pyhelm3's `Client()` runs `helm version` in its constructor, so only its `Command` is used, and
only when this engine is chosen. Values go to helm on stdin and the cluster is named by kubeconfig
path and context, never by a token on the command line (argv is readable by every local user).
Helm 3 and Helm 4 differ in `--wait`: a boolean in Helm 3, a strategy in Helm 4. pyhelm3 logs every
failed command as a warning; a NullHandler keeps that out of the CLI's stderr (the failure itself
becomes one sparkhelm error line).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyhelm3 import Command
from pyhelm3 import errors as helm_errors

from sparkhelm.engine import Rendered
from sparkhelm.engine.failures import classify, explain_helm_error
from sparkhelm.errors import EngineError, ReleaseNotFoundError, UserError

if TYPE_CHECKING:
    from sparkhelm.kube.cluster import Cluster
    from sparkhelm.kube.connection import Connection

logging.getLogger("pyhelm3").addHandler(logging.NullHandler())

_VERSION = re.compile(r"v?(\d+)\.(\d+)")


def install_args(release: str, chart_dir: Path, namespace: str, major: int) -> list[str]:
    """`helm install` (never `upgrade --install`, never `--take-ownership`), values from stdin.

    No resource wait in either version: Helm 4 says so explicitly with `--wait=hookOnly` (its default),
    Helm 3 waits only when `--wait` is given.
    """
    argv = ["install", release, str(chart_dir), "--namespace", namespace, "--values", "-"]
    argv += ["--description", "sparkhelm run", "--output", "json"]
    if major >= 4:
        argv.append("--wait=hookOnly")
    return argv


def uninstall_args(release: str, namespace: str, major: int, *, wait: bool) -> list[str]:
    """`helm uninstall`; with `wait`, foreground cascade so dependents are gone when it returns."""
    argv = ["uninstall", release, "--namespace", namespace]
    if wait:
        argv += ["--cascade", "foreground", "--wait=watcher" if major >= 4 else "--wait"]
    return argv


class HelmBinaryEngine:
    """Renders with `helm template`, installs with `helm install`, removes with `helm uninstall`."""

    name = "helm"

    def __init__(self, executable: str) -> None:
        self._executable = executable
        self._command = Command(executable=executable)
        self._major: int | None = None

    def _run(self, argv: list[str], stdin: bytes | None = None, connection: Connection | None = None) -> bytes:
        if connection is None:
            output: bytes = asyncio.run(self._command.run(argv, stdin))
            return output
        with _kubeconfig_file(connection) as kubeconfig:
            command = Command(executable=self._executable, kubeconfig=kubeconfig, kubecontext=connection.context)
            output = asyncio.run(command.run(argv, stdin))
        return output

    def major_version(self) -> int:
        """Helm's major version from `helm version`, asked once."""
        if self._major is None:
            try:
                text = self._run(["version", "--template", "{{.Version}}"]).decode()
            except helm_errors.Error as exc:
                raise EngineError(
                    f"helm version failed: {explain_helm_error(exc.stderr.decode(errors='replace'))}"
                ) from None
            match = _VERSION.search(text)
            if not match:
                raise EngineError(f"helm version printed {text.strip()!r}, not a version; check {self._executable}")
            self._major = int(match.group(1))
        return self._major

    def render(
        self, chart_dir: Path, values: dict[str, Any], *, release: str, namespace: str, prevalidated: bool = False
    ) -> Rendered:
        """`helm template RELEASE CHART --namespace NS --values -` with the values as JSON on stdin.

        Helm validates the values again whatever `prevalidated` says: a process per render costs
        far more than the check.
        """
        argv = ["template", release, str(chart_dir), "--namespace", namespace, "--values", "-"]
        try:
            output = self._run(argv, json.dumps(values).encode())
        except helm_errors.FailedToRenderChartError as exc:
            raise UserError(f"invalid values: {explain_helm_error(exc.stderr.decode(errors='replace'))}") from None
        except helm_errors.Error as exc:
            stderr = exc.stderr.decode(errors="replace")
            if "values don't meet the specifications" in stderr:
                raise UserError(f"invalid values: {explain_helm_error(stderr)}") from None
            raise EngineError(f"helm template failed: {explain_helm_error(stderr)}") from None
        return Rendered(manifest=output.decode(), notes="")

    def schema_problem(self, chart_dir: Path, values: dict[str, Any]) -> str | None:
        """None: sparkhelm's own check runs (a helm process per check would cost more than it)."""
        return None

    def install(
        self, chart_dir: Path, values: dict[str, Any], *, release: str, cluster: Cluster, rendered: Rendered
    ) -> None:
        """`helm install` as a new release (helm renders again: what ops teams run, as they run it)."""
        connection = cluster.connection
        namespace = connection.namespace
        argv = install_args(release, chart_dir, namespace, self.major_version())
        try:
            self._run(argv, json.dumps(values).encode(), connection)
        except helm_errors.Error as exc:
            stderr = exc.stderr.decode(errors="replace")
            if "values don't meet the specifications" in stderr or "execution error at" in stderr:
                raise UserError(f"invalid values: {explain_helm_error(stderr)}") from None
            raise classify(stderr, action="install", release=release, namespace=namespace) from None

    def uninstall(self, release: str, *, cluster: Cluster, wait: bool = False) -> bool:
        """`helm uninstall`; False when the release did not exist."""
        connection = cluster.connection
        namespace = connection.namespace
        argv = uninstall_args(release, namespace, self.major_version(), wait=wait)
        try:
            self._run(argv, None, connection)
        except helm_errors.Error as exc:
            error = classify(
                exc.stderr.decode(errors="replace"), action="uninstall", release=release, namespace=namespace
            )
            if isinstance(error, ReleaseNotFoundError):
                return False
            raise error from None
        return True


@contextlib.contextmanager
def _kubeconfig_file(connection: Connection) -> Iterator[Path | None]:
    """The kubeconfig helm should read, as a path: the connection's file, or its merged list in a private temp file.

    In a cluster there is none: helm finds the service account itself, as the connection did.
    """
    path, content = connection.helm_kubeconfig()
    if content is None:
        yield Path(path) if path else None
        return
    handle, name = tempfile.mkstemp(prefix="sparkhelm-kubeconfig-", suffix=".yaml")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(content)
        yield Path(name)
    finally:
        os.unlink(name)
