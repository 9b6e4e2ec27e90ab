"""The Helmfile examples, run by the real Helmfile 0.166 with the real Helm 3.17.

Helmfile 0.166 cannot drive Helm 4 (it runs `helm version --client --short`, a flag Helm 4 dropped,
and panics), so Helmfile pipelines use Helm 3. `helmfile template`, `lint`, `sync` and `destroy` run
as an ops pipeline would (`sync` and `destroy` against the emulated API server, the drivers played by
the simulated kubelet); `helmfile apply` needs the helm-diff plugin, which no registry here ships,
so `sync` (the same install without the diff) stands in for it. The per-run example execs the
`sparkhelm` console script itself, as it does in a pipeline.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from sparkhelm.chart import files as chartfiles
from sparkhelm.spec import layers as values_mod
from tests.conftest import CHART, ROOT
from tests.harness import DriverScript, RunningCluster
from tests.invariants import check_application, parse_spark_defaults
from tests.tools import client_env, run, tool

EXAMPLES = ROOT / "examples"
HELMFILE = yaml.safe_load((EXAMPLES / "helmfile.yaml").read_text())
RELEASES = HELMFILE["releases"]
PER_RUN = EXAMPLES / "helmfile-per-run.yaml.gotmpl"


def test_the_helmfile_has_two_applications_from_the_chart() -> None:
    assert len(RELEASES) == 2 and len({r["name"] for r in RELEASES}) == 2
    for release in RELEASES:
        assert (EXAMPLES / release["chart"]).resolve() == CHART.resolve()
        files = [v for v in release["values"] if isinstance(v, str)]
        assert len(files) >= 2, "layered values"
        for path in files:
            assert (EXAMPLES / path).is_file(), path
    assert HELMFILE["helmDefaults"]["wait"] is False


def helmfile_env(home: Path, helm: str = "helm3", kubeconfig: Path | None = None, **extra: str) -> dict[str, str]:
    """Helm `helm` and the `sparkhelm` console script first on PATH, as in a pipeline."""
    env = client_env(home, kubeconfig, SPARKHELM_ENGINE="embedded", **extra)
    env.pop("SPARKHELM_CHART", None)
    env["PATH"] = os.pathsep.join([str(tool(helm).parent), str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def helmfile(*args: str, env: dict[str, str], timeout: float = 300) -> Any:
    return run(tool("helmfile"), *args, env=env, timeout=timeout, cwd=ROOT)


def by_namespace(manifest: str) -> dict[str, list[dict[str, Any]]]:
    objects: dict[str, list[dict[str, Any]]] = {}
    for doc in yaml.safe_load_all(manifest):
        if doc:
            objects.setdefault(doc["metadata"]["namespace"], []).append(doc)
    return objects


def check_release(release: dict[str, Any], pieces: dict[str, Any]) -> None:
    """What each example release must come out as: its layers in order, then its `set` entries."""
    conf = pieces["conf"]
    assert conf["spark.kubernetes.namespace"] == release["namespace"]
    assert pieces["pod"]["metadata"]["name"] == f"{release['name']}-driver"
    if release["name"] == "nightly-etl":
        # prod.yaml, then nightly-etl.yaml over it, then the set entries over both.
        assert conf["spark.executor.instances"] == "6"
        assert conf["spark.executor.memory"] == "6g"
        assert conf["spark.sql.shuffle.partitions"] == "400"
        assert pieces["pod"]["spec"]["schedulerName"] == "volcano"
        assert pieces["pod"]["metadata"]["labels"]["pipeline"] == "nightly"
        assert pieces["pod"]["spec"]["containers"][0]["args"][-1] == "2000"
    else:
        # dev.yaml under pyspark-pi.yaml, and the inline map last.
        assert conf["spark.executor.instances"] == "2" and conf["spark.executor.memory"] == "512m"
        assert conf["spark.sql.shuffle.partitions"] == "4" and conf["spark.eventLog.enabled"] == "false"


def test_sync_installs_what_template_renders_and_destroy_removes_it(tmp_path: Path) -> None:
    cluster = RunningCluster(tmp_path, namespaces=("default",))
    try:
        cluster.install_volcano()
        for release in RELEASES:  # drivers that keep running: Helm's readiness is not what is tested here
            cluster.kubelet.scripts[release["name"]] = DriverScript(outcome="Running")
        env = helmfile_env(tmp_path / "home", kubeconfig=cluster.kubeconfig)
        rendered = helmfile("-f", "examples/helmfile.yaml", "template", env=env)
        assert rendered.returncode == 0, rendered.stderr
        templates = by_namespace(rendered.stdout)
        assert sorted(templates) == sorted(r["namespace"] for r in RELEASES)

        synced = helmfile("-f", "examples/helmfile.yaml", "sync", env=env)
        assert synced.returncode == 0, synced.stderr
        helm = tool("helm3")
        for release in RELEASES:
            name, namespace = release["name"], release["namespace"]
            manifest = run(helm, "get", "manifest", name, "-n", namespace, env=env)
            assert manifest.returncode == 0, manifest.stderr
            installed = by_namespace(manifest.stdout)[namespace]
            assert installed == templates[namespace], f"{name}: sync installed other objects than template renders"
            computed = run(helm, "get", "values", name, "-n", namespace, "--all", "-o", "json", env=env)
            values = json.loads(computed.stdout)
            check_release(release, check_application(installed, app_name=name, namespace=namespace, values=values))
            assert cluster.get("Pod", f"{name}-driver", namespace) is not None

        destroyed = helmfile("-f", "examples/helmfile.yaml", "destroy", env=env)
        assert destroyed.returncode == 0, destroyed.stderr
        for release in RELEASES:
            assert cluster.names("Pod", release["namespace"]) == []
            assert cluster.names("Secret", release["namespace"]) == []
    finally:
        cluster.close()


def test_lint(tmp_path: Path) -> None:
    result = helmfile("-f", "examples/helmfile.yaml", "lint", env=helmfile_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("1 chart(s) linted, 0 chart(s) failed") == len(RELEASES)


def test_sync_with_a_driver_still_queued_at_the_timeout(tmp_path: Path) -> None:
    """`wait: false` promises that a queued driver is not a failed install, but Helm's `--atomic` (the
    example's `atomic: true`) turns waiting on: Helm then uninstalls a release whose driver is still
    Pending at the timeout. Pinned both ways, so the example's settings decide and the test says what
    Helm does with them."""
    cluster = RunningCluster(tmp_path, namespaces=("default",))
    try:
        cluster.kubelet.scripts["pyspark-pi"] = DriverScript(outcome="Pending")
        env = helmfile_env(tmp_path / "home", kubeconfig=cluster.kubeconfig)
        result = helmfile("-f", "examples/helmfile.yaml", "-l", "name=pyspark-pi", "sync", "--args", "--timeout=5s",
                          env=env)
        pod = cluster.get("Pod", "pyspark-pi-driver", "spark-dev")
        if HELMFILE["helmDefaults"].get("atomic"):
            assert result.returncode == 1
            assert ("release pyspark-pi failed, and has been uninstalled due to atomic being set: "
                    "context deadline exceeded") in result.stderr
            assert pod is None and cluster.names("Secret", "spark-dev") == []
        else:
            assert result.returncode == 0, result.stderr
            assert pod is not None and pod["status"]["phase"] == "Pending"
    finally:
        cluster.close()


def test_helm_4_makes_helmfile_0166_panic(tmp_path: Path) -> None:
    """Why Helmfile pipelines are tested with Helm 3: this Helmfile asks `helm version --client`."""
    result = helmfile("-f", "examples/helmfile.yaml", "template", env=helmfile_env(tmp_path, helm="helm4"))
    assert result.returncode == 2
    assert result.stderr.startswith("panic: error determining helm version")
    assert "Error: unknown flag: --client" in result.stderr


def test_per_run_names_come_from_sparkhelm_values(tmp_path: Path) -> None:
    text = PER_RUN.read_text()
    assert 'printf "nightly-etl-%s" (requiredEnv "RUN_ID" | lower)' in text and "- name: {{ $name }}" in text
    defaults = chartfiles.default_values(CHART)
    names = []
    for run_id in ("20261121-020000", "20261122-020000"):
        name = f"nightly-etl-{run_id}"
        env = helmfile_env(tmp_path / run_id, RUN_ID=run_id)
        result = helmfile("-f", str(PER_RUN.relative_to(ROOT)), "template", env=env)
        assert result.returncode == 0, result.stderr
        objects = by_namespace(result.stdout)["spark-jobs"]
        configmap = next(o for o in objects if o["kind"] == "ConfigMap")
        conf = parse_spark_defaults(configmap["data"]["spark-defaults.conf"])
        assert conf["spark.app.name"] == "nightly-etl"
        # the values Helm got are what `sparkhelm values` printed for this name (the template execs it)
        values = run(Path(sys.executable).parent / "sparkhelm", "values", "-f", "../values/prod.yaml",
                     "-f", "nightly-etl.yaml", "--name", name, "--set", "security.rpc.existingSecret=nightly-etl-rpc",
                         env=env, cwd=EXAMPLES)
        supplied = yaml.safe_load(values.stdout)
        assert supplied["nameOverride"] == name  # the chart derives the UI path from it
        ingress = next(o for o in objects if o["kind"] == "Ingress")
        assert ingress["spec"]["rules"][0]["http"]["paths"][0]["path"].startswith(f"/{name}(")
        pieces = check_application(objects, app_name=name, namespace="spark-jobs",
                                   values=values_mod.coalesce(defaults, supplied))
        names.append(pieces["pod"]["metadata"]["name"])
    assert names == [f"nightly-etl-{r}-driver" for r in ("20261121-020000", "20261122-020000")]


def test_per_run_without_run_id_fails_before_helm(tmp_path: Path) -> None:
    env = helmfile_env(tmp_path)
    env.pop("RUN_ID", None)
    result = helmfile("-f", str(PER_RUN.relative_to(ROOT)), "template", env=env)
    assert result.returncode != 0
    assert "required env var `RUN_ID` is not set" in result.stderr
