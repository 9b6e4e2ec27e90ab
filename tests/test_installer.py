"""The direct installer (engine/installer.py): Helm's release, written by sparkhelm, read by real Helm 3 and 4.

`sparkhelm run` with the embedded engine creates the objects and Helm's release record itself. Helm
must see exactly the release it would have made: listed, its status, values and manifest, its history,
and uninstall and upgrade must work on it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sparkhelm.engine.embedded import _decode
from sparkhelm.engine.installer import owned, record, release_json
from tests.conftest import CHART, VALUES_DIR, Cli
from tests.harness import RunningCluster
from tests.tools import client_env, run, tool

PI = VALUES_DIR / "pyspark-pi.yaml"


@pytest.mark.parametrize("helm_name", ["helm3", "helm4"])
@pytest.mark.parametrize("driver", ["secret", "configmap"])
def test_helm_reads_what_sparkhelm_installed(cluster: RunningCluster, cli: Cli, tmp_path: Path, helm_name: str,
                                            driver: str, monkeypatch: pytest.MonkeyPatch) -> None:
    helm = tool(helm_name)
    monkeypatch.setenv("HELM_DRIVER", driver)
    env = client_env(tmp_path / "home", cluster.kubeconfig, HELM_DRIVER=driver)
    assert cli("run", "-f", PI, "--name", "direct", "--set", "executor.instances=3").exit_code == 0
    listed = json.loads(run(helm, "list", "-o", "json", env=env).stdout)
    assert [(r["name"], r["status"], r["revision"]) for r in listed] == [("direct", "deployed", "1")]
    values = json.loads(run(helm, "get", "values", "direct", "-o", "json", env=env).stdout)
    assert values == yaml.safe_load(cli("values", "-f", PI, "--name", "direct", "--set", "executor.instances=3").stdout)
    manifest = run(helm, "get", "manifest", "direct", env=env).stdout
    rendered = cli("template", "-f", PI, "--name", "direct", "--set", "executor.instances=3").stdout
    assert [o for o in yaml.safe_load_all(manifest) if o] == [o for o in yaml.safe_load_all(rendered) if o]
    status = run(helm, "status", "direct", env=env)
    assert "STATUS: deployed" in status.stdout and "Spark application direct submitted" in status.stdout
    # Helm upgrades a release sparkhelm installed (ops teams may), and then uninstalls it.
    upgraded = run(helm, "upgrade", "direct", CHART, "--reuse-values", "--set", "executor.instances=4", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    history = run(helm, "history", "direct", "-o", "json", env=env)
    assert [h["revision"] for h in json.loads(history.stdout)] == [1, 2]
    removed = run(helm, "uninstall", "direct", env=env)
    assert removed.returncode == 0, removed.stderr
    assert [n for n in cluster.names("ConfigMap") if n.startswith("direct")] == [] and cluster.names("Pod") == []


def test_objects_carry_helms_ownership_marks(cluster: RunningCluster, cli: Cli) -> None:
    assert cli("run", "-f", PI, "--name", "marks").exit_code == 0
    for kind, name in (("ConfigMap", "marks-cm"), ("Pod", "marks-driver"), ("Service", "marks-driver-svc")):
        meta = cluster.get(kind, name)["metadata"]
        assert meta["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        assert meta["annotations"]["meta.helm.sh/release-name"] == "marks"
        assert meta["annotations"]["meta.helm.sh/release-namespace"] == "default"


def test_a_record_round_trips(tmp_path: Path) -> None:
    from sparkhelm.engine.embedded import _load

    release = release_json(_load(CHART), CHART, release="rt", namespace="ns", values={"a": 1}, manifest="---\nx: 1\n",
                           notes="n", status="deployed", description="d", deployed="2026-01-01T00:00:00.000000Z")
    for driver in ("secret", "configmap"):
        stored = record(release, driver=driver)
        assert stored["metadata"]["name"] == "sh.helm.release.v1.rt.v1"
        assert stored["metadata"]["labels"] | {"modifiedAt": ""} == {
            "name": "rt", "owner": "helm", "status": "deployed", "version": "1", "modifiedAt": ""}
        assert _decode(stored, driver) == json.loads(json.dumps(release))


def test_charts_with_hooks_are_left_to_helm(cluster: RunningCluster) -> None:
    from sparkhelm.engine import installer
    from sparkhelm.errors import EngineError
    from sparkhelm.kube.cluster import Cluster
    from sparkhelm.kube.connection import KubeTarget, resolve

    hook = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "h", "annotations": {"helm.sh/hook": "pre-install"}}}
    with pytest.raises(EngineError, match="without hooks"):
        installer.install(Cluster(resolve(KubeTarget(kubeconfig=str(cluster.kubeconfig)))), object(), CHART,
                          release="h", values={}, manifest="", notes="", objects=[hook])
    assert cluster.requests() == []
    assert owned({"metadata": {}}, "r", "n")["metadata"]["annotations"]["meta.helm.sh/release-name"] == "r"


