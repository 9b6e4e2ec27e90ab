"""The embedded engine: Helm's own Go SDK in-process (helm-python-sdk) renders; no helm binary needed.

Rendering and Helm's schema check run in the SDK. Installing and uninstalling a release of this
chart are written with sparkhelm's own API client (engine/installer.py): the same objects and the
same release record as Helm's, in a fraction of the requests. The SDK (an 85 MB library) loads only
when something renders, so `delete` and `gc` never load it.
"""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import tempfile
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from sparkhelm.engine import Rendered
from sparkhelm.engine.failures import explain_helm_error
from sparkhelm.engine.goruntime import import_helm_sdk
from sparkhelm.engine.manifests import format_manifest, parse_manifest
from sparkhelm.errors import EngineError, UserError

if TYPE_CHECKING:
    from sparkhelm.kube.cluster import Cluster


def _sdk() -> ModuleType:
    """helm_python, loaded once (through goruntime: Go reads GOGC when the library loads)."""
    return import_helm_sdk()


@cache
def _load(chart_dir: Path) -> Any:
    """Load a chart once per process: batch renders reuse it."""
    return _sdk().Chart.load(str(chart_dir))


@cache
def _load_unchecked(chart_dir: Path) -> Any:
    """The chart without its values.schema.json, loaded once, for a batch whose values are checked already.

    `render_many` checks each app's values with jsonschema-rs (compiled once, 0.02 ms an app); Helm
    would compile and apply the schema again on every render, a third of a render. The output is the same.
    """
    with tempfile.TemporaryDirectory(prefix="sparkhelm-chart-") as scratch:
        copy = Path(scratch) / chart_dir.name
        shutil.copytree(chart_dir, copy, ignore=shutil.ignore_patterns("values.schema.json"))
        return _sdk().Chart.load(str(copy))  # read into memory: the copy can go


class EmbeddedEngine:
    """Renders with helm-python-sdk (Helm v4 semantics); installs and uninstalls directly."""

    name = "embedded"

    def render(
        self, chart_dir: Path, values: dict[str, Any], *, release: str, namespace: str, prevalidated: bool = False
    ) -> Rendered:
        """Render offline; template `fail`s and schema errors are the user's input, so exit code 2."""
        errors = _sdk().errors
        try:
            chart = _load_unchecked(chart_dir) if prevalidated else _load(chart_dir)
            templates = chart.render(values, name=release, namespace=namespace, is_install=True)
        except (errors.HelmValuesError, errors.HelmRenderError) as exc:
            raise UserError(f"invalid values: {explain_helm_error(str(exc))}") from None
        except errors.HelmError as exc:
            raise EngineError(f"embedded Helm engine: {explain_helm_error(str(exc))}") from None
        manifest, notes = format_manifest(templates)
        return Rendered(manifest=manifest, notes=notes)

    def schema_problem(self, chart_dir: Path, values: dict[str, Any]) -> str | None:
        """Helm's schema check in Go, with the chart that renders anyway: no second validator to load."""
        try:
            _load(chart_dir).validate_schema(values)
        except _sdk().errors.HelmValuesError as exc:
            return explain_helm_error(str(exc))
        return None

    def install(
        self, chart_dir: Path, values: dict[str, Any], *, release: str, cluster: Cluster, rendered: Rendered
    ) -> None:
        """Install without waiting on resources (a driver may queue for a long time, which is not a failure)."""
        from sparkhelm.engine import installer

        installer.install(
            cluster, _load(chart_dir), chart_dir, release=release, values=values, manifest=rendered.manifest,
            notes=rendered.notes, objects=parse_manifest(rendered.manifest),
        )

    def uninstall(self, release: str, *, cluster: Cluster, wait: bool = False) -> bool:
        """Delete the objects of the release's latest record, then every record of it; False when there was none.

        Dependents of the driver pod (executors) go with it through garbage collection. `wait` is the
        caller's (ops.remove looks again until the objects are gone).
        """
        from sparkhelm.engine import installer
        from sparkhelm.kube.resources import kind, kind_of

        driver = installer.storage_driver()
        record_kind = kind("ConfigMap" if driver == "configmap" else "Secret")
        records = cluster.objects(record_kind.kind, f"owner=helm,name={release}")
        if not records:
            return False
        latest = max(records, key=lambda r: int(((r.get("metadata") or {}).get("labels") or {}).get("version", 0)))
        for obj in reversed(parse_manifest(str(_decode(latest, driver).get("manifest") or ""))):
            name = (obj.get("metadata") or {}).get("name")
            cluster.client.delete(kind_of(obj).path(cluster.namespace, name))
        for found in records:
            cluster.client.delete(record_kind.path(cluster.namespace, (found.get("metadata") or {}).get("name")))
        return True


def _decode(record: dict[str, Any], driver: str) -> dict[str, Any]:
    """A release record's release JSON (the reverse of installer.record)."""
    payload = str((record.get("data") or {}).get("release") or "")
    if driver != "configmap":
        payload = base64.b64decode(payload).decode()
    release: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(payload)))
    return release
