"""Where the `helm` binary is: standard library only, so the console script can ask before anything loads."""

from __future__ import annotations

import os
import shutil


def helm_binary() -> str | None:
    """The `helm` executable on PATH (or $SPARKHELM_HELM), if any."""
    return shutil.which(os.environ.get("SPARKHELM_HELM", "helm"))
