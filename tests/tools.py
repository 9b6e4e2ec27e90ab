"""The real helm, kubectl and helmfile binaries, as scripts/fetch_tools.py lays them out.

`SPARKHELM_TOOLS` names the folder, else `.tools/` of the repository (where CI and the README fetch
them, and where the benchmarks look too). Without the binaries, tests that need one skip; with
`SPARKHELM_REQUIRE_TOOLS=1` (CI) a missing binary fails the test instead, so a broken fetch step
cannot turn the real-binary tests into silent skips.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

#: tool name -> path under SPARKHELM_TOOLS (the layout of scripts/fetch_tools.py)
LAYOUT = {
    "helm3": "helm3/helm",
    "helm4": "helm4/helm",
    "kubectl31": "kubectl31/kubectl",
    "kubectl37": "kubectl37/kubectl",
    "helmfile": "helmfile/helmfile",
}


def tool(name: str) -> Path:
    """The binary `name` (a key of LAYOUT); skips or fails the calling test when it is not there."""
    relative = LAYOUT[name]
    root = os.environ.get("SPARKHELM_TOOLS") or str(ROOT / ".tools")
    required = os.environ.get("SPARKHELM_REQUIRE_TOOLS", "") == "1"
    path = Path(root) / relative
    if not (path.is_file() and os.access(path, os.X_OK)):
        message = f"{name}: no executable {path} (python scripts/fetch_tools.py {root} fetches the real binaries)"
        if required:
            pytest.fail(message)
        pytest.skip(message)
    return path


def client_env(home: Path, kubeconfig: Path | None = None, **extra: str) -> dict[str, str]:
    """An environment for a real helm/kubectl/helmfile: its own HOME and Helm folders (no discovery
    cache, repositories or plugins from the machine), KUBECONFIG when given."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HELM_", "KUBE"))}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), HELM_CACHE_HOME=str(home / "helm-cache"), HELM_CONFIG_HOME=str(home / "helm-config"),
               HELM_DATA_HOME=str(home / "helm-data"), NO_COLOR="1")
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    env.update(extra)
    return env


def run(binary: Path, *args: str | Path, env: dict[str, str], timeout: float = 120,
        stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a real binary to completion (text output, never raises on a non-zero exit)."""
    return subprocess.run([str(binary), *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=timeout, input=stdin, cwd=cwd, check=False)
