"""The embedded engine: Helm's own Go SDK in-process (helm-python-sdk), no helm binary needed."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import helm_python
from helm_python import errors as helm_errors

from sparkhelm.engine import Rendered
from sparkhelm.engine.manifests import format_manifest
from sparkhelm.errors import EngineError, UserError

_EXECUTION_ERROR = re.compile(r"execution error at \([^)]*\):\s*(.*)", re.S)


@cache
def _load(chart_dir: Path) -> Any:
    """Load a chart once per process: batch renders reuse it."""
    return helm_python.Chart.load(str(chart_dir))


def explain_helm_error(message: str) -> str:
    """The part of a Helm render or schema error a user can act on, on one line."""
    match = _EXECUTION_ERROR.search(message)
    if match:
        return " ".join(match.group(1).split())
    lines = [line.strip(" -") for line in message.splitlines() if line.strip()]
    details = [line for line in lines if line.startswith("at '")]
    return "; ".join(details) if details else " ".join(lines)


class EmbeddedEngine:
    """Renders with helm-python-sdk (Helm v4 semantics)."""

    name = "embedded"

    def render(self, chart_dir: Path, values: dict[str, Any], *, release: str, namespace: str) -> Rendered:
        """Render offline; template `fail`s and schema errors are the user's input, so exit code 2."""
        try:
            chart = _load(chart_dir)
            templates = chart.render(values, name=release, namespace=namespace, is_install=True)
        except (helm_errors.HelmValuesError, helm_errors.HelmRenderError) as exc:
            raise UserError(f"invalid values: {explain_helm_error(str(exc))}") from None
        except helm_errors.HelmError as exc:
            raise EngineError(f"embedded Helm engine: {explain_helm_error(str(exc))}") from None
        manifest, notes = format_manifest(templates)
        return Rendered(manifest=manifest, notes=notes)
