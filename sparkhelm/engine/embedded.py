"""The embedded engine: Helm's own Go SDK in-process (helm-python-sdk), no helm binary needed."""

from __future__ import annotations

import os
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkhelm.engine import Rendered
from sparkhelm.engine.failures import classify, explain_helm_error
from sparkhelm.engine.goruntime import import_helm_sdk
from sparkhelm.engine.manifests import format_manifest
from sparkhelm.errors import EngineError, ReleaseNotFoundError, UserError

helm_python = import_helm_sdk()  # not `import helm_python`: Go reads GOGC when the SDK loads
helm_errors = helm_python.errors

if TYPE_CHECKING:
    from sparkhelm.kube.connection import Connection

#: Helm's release storage, as `helm` reads it from $HELM_DRIVER (secret unless set).
DEFAULT_STORAGE = "secret"


@cache
def _load(chart_dir: Path) -> Any:
    """Load a chart once per process: batch renders reuse it."""
    return helm_python.Chart.load(str(chart_dir))


@cache
def _load_unchecked(chart_dir: Path) -> Any:
    """The chart without its values.schema.json, loaded once, for values already checked against it.

    sparkhelm checks values against that very schema (jsonschema-rs, 0.02 ms); Helm compiles and
    applies it again on every render, about 3 ms of a 10 ms render. The output is the same.
    """
    with tempfile.TemporaryDirectory(prefix="sparkhelm-chart-") as scratch:
        copy = Path(scratch) / chart_dir.name
        shutil.copytree(chart_dir, copy, ignore=shutil.ignore_patterns("values.schema.json"))
        return helm_python.Chart.load(str(copy))  # read into memory: the copy can go


class EmbeddedEngine:
    """Renders with helm-python-sdk (Helm v4 semantics)."""

    name = "embedded"

    def render(
        self, chart_dir: Path, values: dict[str, Any], *, release: str, namespace: str, prevalidated: bool = False
    ) -> Rendered:
        """Render offline; template `fail`s and schema errors are the user's input, so exit code 2."""
        try:
            chart = _load_unchecked(chart_dir) if prevalidated else _load(chart_dir)
            templates = chart.render(values, name=release, namespace=namespace, is_install=True)
        except (helm_errors.HelmValuesError, helm_errors.HelmRenderError) as exc:
            raise UserError(f"invalid values: {explain_helm_error(str(exc))}") from None
        except helm_errors.HelmError as exc:
            raise EngineError(f"embedded Helm engine: {explain_helm_error(str(exc))}") from None
        manifest, notes = format_manifest(templates)
        return Rendered(manifest=manifest, notes=notes)

    def schema_problem(self, chart_dir: Path, values: dict[str, Any]) -> str | None:
        """Helm's schema check in Go, with the chart that renders anyway: no second validator to load."""
        try:
            _load(chart_dir).validate_schema(values)
        except helm_errors.HelmValuesError as exc:
            return explain_helm_error(str(exc))
        return None

    @staticmethod
    def _config(connection: Connection) -> Any:
        """Cluster access as resolved once for the command (Helm's SDK gets the same kubeconfig and context).

        The Go runtime snapshots the environment when the library loads, so it is handed the
        kubeconfig explicitly rather than left to read a $KUBECONFIG set later in this process.
        """
        path, content = connection.helm_kubeconfig()
        return helm_python.Config(
            kubeconfig_path=path,
            kubeconfig_content=content,
            kube_context=connection.context,
            namespace=connection.namespace,
            storage_driver=os.environ.get("HELM_DRIVER") or DEFAULT_STORAGE,
        )

    def install(self, chart_dir: Path, values: dict[str, Any], *, release: str, connection: Connection) -> None:
        """Install without waiting on resources: a driver may queue for a long time, which is not a failure."""
        namespace = connection.namespace
        try:
            chart = _load(chart_dir)
            with self._config(connection) as config:
                config.install(chart, release, values, namespace=namespace, description="sparkhelm run")
        except (helm_errors.HelmValuesError, helm_errors.HelmRenderError) as exc:
            raise UserError(f"invalid values: {explain_helm_error(str(exc))}") from None
        except helm_errors.HelmError as exc:
            raise classify(str(exc), action="install", release=release, namespace=namespace) from None

    def uninstall(self, release: str, *, connection: Connection, wait: bool = False) -> bool:
        """Uninstall; dependents of the driver pod (executors) go with it through garbage collection."""
        try:
            with self._config(connection) as config:
                config.uninstall(release, wait="watcher" if wait else None)
        except helm_errors.HelmNotFoundError:
            return False
        except helm_errors.HelmError as exc:
            error = classify(str(exc), action="uninstall", release=release, namespace=connection.namespace)
            if isinstance(error, ReleaseNotFoundError):
                return False
            raise error from None
        return True
