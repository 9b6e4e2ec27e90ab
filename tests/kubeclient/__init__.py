"""Test helpers of the kube client: real HTTPS servers, a CONNECT proxy, an exec credential plugin."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def tool(relative: str) -> Path:
    """A real binary under $SPARKHELM_TOOLS (e.g. "kubectl37/kubectl"): skipped when absent, unless required."""
    root = os.environ.get("SPARKHELM_TOOLS")
    path = Path(root) / relative if root else None
    if path is None or not path.is_file():
        if os.environ.get("SPARKHELM_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{relative} is required (SPARKHELM_REQUIRE_TOOLS=1) but not under SPARKHELM_TOOLS={root}")
        pytest.skip(f"{relative} not found under SPARKHELM_TOOLS")
    return path
