"""The helm-binary engine: a `helm` on PATH driven through pyhelm3 (what ops teams already run).

pyhelm3's `Client()` runs `helm version` in its constructor, so only its `Command` is used, and
only when this engine is chosen. Values go to helm on stdin, never on the command line.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from pyhelm3 import Command
from pyhelm3 import errors as helm_errors

from sparkhelm.engine import Rendered
from sparkhelm.engine.embedded import explain_helm_error
from sparkhelm.errors import EngineError, UserError


class HelmBinaryEngine:
    """Renders with `helm template`."""

    name = "helm"

    def __init__(self, executable: str) -> None:
        self._command = Command(executable=executable)

    def render(self, chart_dir: Path, values: dict[str, Any], *, release: str, namespace: str) -> Rendered:
        """`helm template RELEASE CHART --namespace NS --values -` with the values as JSON on stdin."""
        argv = ["template", release, str(chart_dir), "--namespace", namespace, "--values", "-"]
        try:
            output = asyncio.run(self._command.run(argv, json.dumps(values).encode()))
        except helm_errors.FailedToRenderChartError as exc:
            raise UserError(f"invalid values: {explain_helm_error(exc.stderr.decode(errors='replace'))}") from None
        except helm_errors.Error as exc:
            stderr = exc.stderr.decode(errors="replace")
            if "values don't meet the specifications" in stderr:
                raise UserError(f"invalid values: {explain_helm_error(stderr)}") from None
            raise EngineError(f"helm template failed: {explain_helm_error(stderr)}") from None
        return Rendered(manifest=output.decode(), notes="")
