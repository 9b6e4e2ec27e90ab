"""sparkhelm as a Helm plugin, installed and used with the real Helm 3 and Helm 4 binaries.

`helm plugin install <repo>` (classic manifest, both Helms) and `<repo>/helm-plugin/helm4` (Helm 4's
own format) give `helm sparkhelm ...`. Helm consumes `-n`, `--kube-context` and `--kubeconfig`
itself and hands them to the plugin only in its environment; the plugin must honour them, and the
helm that runs it (HELM_BIN) is the engine: the release it installs is one that helm lists.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, VALUES_DIR
from tests.harness import RunningCluster
from tests.tools import client_env, run, tool

SPARKHELM = Path(sys.executable).parent / "sparkhelm"
MANIFESTS = {
    ("helm3", "classic"): ROOT,
    ("helm4", "classic"): ROOT,
    ("helm4", "helm4"): ROOT / "helm-plugin" / "helm4",
}


def plugin_env(home: Path, kubeconfig: Path | None = None) -> dict[str, str]:
    env = client_env(home, kubeconfig, SPARKHELM_PLUGIN_EXE=str(SPARKHELM))
    env["HELM_PLUGINS"] = env["HELM_DATA_HOME"] + "/plugins"  # Helm 4 installs there and loads from HELM_PLUGINS
    env.pop("SPARKHELM_ENGINE", None)
    return env


@pytest.mark.parametrize(("helm_name", "manifest"), list(MANIFESTS), ids=[f"{h}-{m}" for h, m in MANIFESTS])
def test_install_every_offline_command_and_uninstall(tmp_path: Path, helm_name: str, manifest: str) -> None:
    helm = tool(helm_name)
    env = plugin_env(tmp_path / "home")
    installed = run(helm, "plugin", "install", MANIFESTS[(helm_name, manifest)], env=env)
    assert installed.returncode == 0, installed.stderr
    assert "using sparkhelm 0.1.0" in installed.stdout  # the install hook found the executable
    listed = run(helm, "plugin", "list", env=env)
    assert "sparkhelm" in listed.stdout and "0.1.0" in listed.stdout

    help_text = run(helm, "sparkhelm", "--help", env=env)
    assert help_text.returncode == 0 and "usage: sparkhelm" in help_text.stdout
    pin = ["--set", "security.rpc.secret=plugin-test-secret-0123456789abcdef01234"]  # else generated at random
    rendered = run(helm, "-n", "team-a", "sparkhelm", "template", "-f", VALUES_DIR / "prod.yaml", "--name", "plug", *pin, env=env)
    assert rendered.returncode == 0, rendered.stderr
    objects = [o for o in yaml.safe_load_all(rendered.stdout) if o]
    assert {o["metadata"]["namespace"] for o in objects} == {"team-a"}  # helm -n reached the plugin
    direct = run(SPARKHELM, "template", "-f", VALUES_DIR / "prod.yaml", "--name", "plug", "-n", "team-a", *pin,
                 env={**env, "SPARKHELM_ENGINE": "embedded"})
    assert [o for o in yaml.safe_load_all(direct.stdout) if o] == objects  # the same objects as sparkhelm alone
    values = run(helm, "sparkhelm", "values", "--name", "plug", env=env)
    assert values.returncode == 0 and yaml.safe_load(values.stdout)["nameOverride"] == "plug"
    for argv in (["explain", "--changed"], ["init", "--scala"], ["version"], ["completion", "bash"]):
        done = run(helm, "sparkhelm", *argv, env=env)
        assert done.returncode == 0 and done.stdout, (argv, done.stderr)
    bad = run(helm, "sparkhelm", "template", "--set", "executor.instances=-1", env=env)
    ours = [line for line in bad.stderr.splitlines() if not line.startswith("Error: plugin ")]  # Helm adds its own
    assert bad.returncode == 2 and len(ours) == 1 and "executor.instances" in ours[0], bad.stderr

    removed = run(helm, "plugin", "uninstall", "sparkhelm", env=env)
    assert removed.returncode == 0, removed.stderr
    assert "sparkhelm" not in run(helm, "plugin", "list", env=env).stdout
    assert run(helm, "sparkhelm", "version", env=env).returncode != 0


@pytest.mark.parametrize("helm_name", ["helm3", "helm4"])
def test_cluster_commands_use_helms_namespace_context_and_binary(cluster: RunningCluster, tmp_path: Path,
                                                                helm_name: str) -> None:
    helm = tool(helm_name)
    cluster.add_namespace("team-b")
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    config["contexts"].append({"name": "other", "context": {"cluster": "emulator", "user": "tester", "namespace": "team-b"}})
    config["current-context"] = "nowhere"  # only --kube-context makes this kubeconfig usable
    kubeconfig = tmp_path / "plugin-kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    env = plugin_env(tmp_path / "home")
    assert run(helm, "plugin", "install", ROOT, env=env).returncode == 0

    where = ["--kubeconfig", str(kubeconfig), "--kube-context", "other"]
    submitted = run(helm, *where, "sparkhelm", "run", "-f", VALUES_DIR / "pyspark-pi.yaml", "--name", "via-helm",
                    "--wait", "--timeout", "60s", env=env)
    assert submitted.returncode == 0, submitted.stderr
    assert "namespace:  team-b" in submitted.stdout and "via-helm succeeded" in submitted.stderr
    assert cluster.get("Pod", "via-helm-driver", "team-b") is not None
    # The release was installed by the helm that ran the plugin (HELM_BIN): that helm lists it.
    releases = run(helm, *where, "list", "-n", "team-b", "-q", env=env)
    assert releases.stdout.split() == ["via-helm"]
    listed = run(helm, *where, "sparkhelm", "list", env=env)
    assert listed.returncode == 0 and "via-helm" in listed.stdout and "Succeeded" in listed.stdout
    status = run(helm, *where, "sparkhelm", "status", "via-helm", env=env)
    assert status.returncode == 0 and "team-b" in status.stdout
    logs = run(helm, *where, "sparkhelm", "logs", "via-helm", env=env)
    assert "Pi is roughly" in logs.stdout
    explicit = run(helm, *where, "-n", "default", "sparkhelm", "list", env=env)
    assert "via-helm" not in explicit.stdout  # helm -n wins over the context's namespace
    deleted = run(helm, *where, "sparkhelm", "delete", "via-helm", env=env)
    assert deleted.returncode == 0 and deleted.stdout.strip() == "deleted via-helm", deleted.stderr
    assert cluster.get("Pod", "via-helm-driver", "team-b") is None
    assert run(helm, *where, "list", "-n", "team-b", "-q", env=env).stdout.strip() == ""
    gone = run(helm, *where, "sparkhelm", "gc", "--older-than", "0s", env=env)
    assert gone.returncode == 0, gone.stderr
