"""`--engine helm` with the real Helm 3.17 and Helm 4.3 binaries: template, run, delete and gc.

The helm-binary engine (pyhelm3 driving `helm`) must render the same objects as the embedded SDK,
install releases that helm itself lists, and never load the 85 MB embedded library.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import VALUES_DIR
from tests.harness import RunningCluster
from tests.tools import client_env, run, tool

SPARKHELM = Path(sys.executable).parent / "sparkhelm"
HELMS = ["helm3", "helm4"]


def objects(text: str) -> list[dict]:
    return [o for o in yaml.safe_load_all(text) if o]


@pytest.mark.parametrize("helm_name", HELMS)
def test_template_renders_what_the_embedded_engine_renders(helm_name: str, tmp_path: Path) -> None:
    env = client_env(tmp_path / "home", SPARKHELM_HELM=str(tool(helm_name)))
    for values_file in sorted(VALUES_DIR.glob("*.yaml")):
        args = ["template", "-f", values_file, "--name", "same", "-n", "jobs"]
        by_helm = run(SPARKHELM, *args, "--engine", "helm", env=env)
        embedded = run(SPARKHELM, *args, "--engine", "embedded", env=env)
        assert by_helm.returncode == 0 and embedded.returncode == 0, by_helm.stderr + embedded.stderr
        assert objects(by_helm.stdout) == objects(embedded.stdout), values_file.name


@pytest.mark.parametrize("helm_name", HELMS)
def test_run_delete_and_gc_through_the_binary(cluster: RunningCluster, tmp_path: Path, helm_name: str) -> None:
    helm = tool(helm_name)
    env = client_env(tmp_path / "home", cluster.kubeconfig, SPARKHELM_HELM=str(helm), SPARKHELM_ENGINE="helm")
    pi = VALUES_DIR / "pyspark-pi.yaml"
    for name in ("bin-a", "bin-b"):
        done = run(SPARKHELM, "run", "-f", pi, "--name", name, "--wait", env=env)
        assert done.returncode == 0, done.stderr
        assert "engine" not in done.stderr and done.stderr.splitlines()[-1] == f"{name} succeeded"
    assert sorted(run(helm, "list", "-q", env=env).stdout.split()) == ["bin-a", "bin-b"]
    assert run(helm, "get", "values", "bin-a", "-o", "json", env=env).stdout.count('"nameOverride":"bin-a"') == 1
    deleted = run(SPARKHELM, "delete", "bin-a", env=env)
    assert deleted.returncode == 0 and deleted.stdout.strip() == "deleted bin-a", deleted.stderr
    collected = run(SPARKHELM, "gc", "--older-than", "0s", env=env)
    assert collected.returncode == 0 and collected.stdout.strip() == "deleted default/bin-b (Succeeded)", collected.stderr
    assert run(helm, "list", "-q", env=env).stdout.split() == []
    assert cluster.names("Pod") == [] and cluster.names("ConfigMap") == []


def test_choosing_the_helm_binary_never_loads_the_embedded_sdk(tmp_path: Path) -> None:
    helm = tool("helm4")
    probe = (
        "import sys\nfrom sparkhelm.cli import main\n"
        "code = main(['template', '--name', 'x', '--engine', 'helm'])\n"
        "print('LOADED' if 'helm_python' in sys.modules else 'CLEAN', code, file=sys.stderr)\n"
    )
    env = client_env(tmp_path / "home", SPARKHELM_HELM=str(helm))
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert done.stderr.strip().splitlines()[-1] == "CLEAN 0", done.stderr
