"""The embedded engine: Helm's own Go SDK in-process (helm-python-sdk), no helm binary needed."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkhelm.engine import Rendered
from sparkhelm.engine.failures import ReleaseNotFoundError, classify
from sparkhelm.engine.manifests import format_manifest
from sparkhelm.errors import EngineError, UserError
from sparkhelm.goruntime import import_helm_sdk

helm_python = import_helm_sdk()  # not `import helm_python`: Go reads GOGC when the SDK loads
helm_errors = helm_python.errors

if TYPE_CHECKING:
    from sparkhelm.target import KubeTarget

#: Helm's release storage, as `helm` reads it from $HELM_DRIVER (secret unless set).
DEFAULT_STORAGE = "secret"

_EXECUTION_ERROR = re.compile(r"execution error at \([^)]*\):\s*(.*)", re.S)


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


def explain_helm_error(message: str) -> str:
    """The part of a Helm render or schema error a user can act on, on one line."""
    match = _EXECUTION_ERROR.search(message)
    if match:
        return " ".join(match.group(1).split())
    lines = [line.strip(" -") for line in message.splitlines() if line.strip()]
    details = [line for line in lines if line.startswith("at '")]
    return "; ".join(details) if details else " ".join(lines)


def _kubeconfig_source(kube: KubeTarget) -> tuple[str | None, str | None]:
    """The kubeconfig to hand to the SDK, resolved here from $KUBECONFIG.

    The Go runtime snapshots the environment when the shared library loads, so it would not see a
    KUBECONFIG set later in this process; and a KUBECONFIG list is merged the way kubectl merges it.
    """
    if kube.kubeconfig:
        return kube.kubeconfig, None
    paths = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if not paths:
        return None, None
    if len(paths) == 1:
        return paths[0], None
    return None, _merge_kubeconfigs(paths)


def _merge_kubeconfigs(paths: list[str]) -> str:
    """Merge a KUBECONFIG list as kubectl does: the first file that names a cluster, user or context wins.

    Written here because the kubernetes client's merger returns its own node objects, which do not
    serialise back to a kubeconfig.
    """
    import yaml

    merged: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    for path in paths:
        file = Path(path).expanduser()
        if not file.is_file():
            continue
        data = yaml.safe_load(file.read_text()) or {}
        for section in ("clusters", "users", "contexts"):
            known = {entry.get("name") for entry in merged[section]}
            merged[section] += [e for e in data.get(section) or [] if e.get("name") not in known]
        if data.get("current-context") and "current-context" not in merged:
            merged["current-context"] = data["current-context"]
    return str(yaml.safe_dump(merged))


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

    @staticmethod
    def _config(namespace: str, kube: KubeTarget) -> Any:
        """Cluster access as helm resolves it: --kubeconfig, else $KUBECONFIG, ~/.kube/config, in-cluster."""
        path, content = _kubeconfig_source(kube)
        return helm_python.Config(
            kubeconfig_path=path,
            kubeconfig_content=content,
            kube_context=kube.context,
            namespace=namespace,
            storage_driver=os.environ.get("HELM_DRIVER") or DEFAULT_STORAGE,
        )

    def install(
        self, chart_dir: Path, values: dict[str, Any], *, release: str, namespace: str, kube: KubeTarget
    ) -> None:
        """Install without waiting on resources: a driver may queue for a long time, which is not a failure."""
        try:
            chart = _load(chart_dir)
            with self._config(namespace, kube) as config:
                config.install(chart, release, values, namespace=namespace, description="sparkhelm run")
        except (helm_errors.HelmValuesError, helm_errors.HelmRenderError) as exc:
            raise UserError(f"invalid values: {explain_helm_error(str(exc))}") from None
        except helm_errors.HelmError as exc:
            raise classify(str(exc), action="install", release=release, namespace=namespace) from None

    def uninstall(self, release: str, *, namespace: str, kube: KubeTarget, wait: bool = False) -> bool:
        """Uninstall; dependents of the driver pod (executors) go with it through garbage collection."""
        try:
            with self._config(namespace, kube) as config:
                config.uninstall(release, wait="watcher" if wait else None)
        except helm_errors.HelmNotFoundError:
            return False
        except helm_errors.HelmError as exc:
            error = classify(str(exc), action="uninstall", release=release, namespace=namespace)
            if isinstance(error, ReleaseNotFoundError):
                return False
            raise error from None
        return True
