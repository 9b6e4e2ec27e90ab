"""The spark-gc chart: a CronJob that runs `sparkhelm gc` in the cluster, and the `ttl` contract with it.

Rendered by the real embedded Helm and by the Helm 3 and 4 binaries, validated strictly against
Kubernetes' schemas, held to Pod Security "restricted" and checkov; its RBAC is compared with the one
table of kinds spark-client-app renders (sparkhelm.kube.resources); its shell script is run with
stand-ins for sparkhelm and python that record what they were asked to do.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import helm_python
import jsonschema
import kubernetes_validate
import pytest
import yaml

from sparkhelm.engine.embedded import EmbeddedEngine
from sparkhelm.engine.manifests import parse_manifest
from sparkhelm.kube.resources import CHART_KINDS
from sparkhelm.spec.durations import parse_duration
from sparkhelm.spec.naming import CHART_SELECTOR
from tests import netpol
from tests.conftest import CHART, ROOT, render_objects
from tests.harness.emulator import label_matcher
from tests.pss import restricted_violations
from tests.test_checkov import SKIPS, checkov_binary
from tests.tools import tool

Obj = dict[str, Any]
GC_CHART = ROOT / "charts" / "spark-gc"
CI_FILES = sorted((GC_CHART / "ci").glob("*-values.yaml"))
NEWEST = kubernetes_validate.utils.latest_version()
IMAGE = {"image": {"repository": "registry.example.com/sparkhelm", "tag": "0.1.0"}}

#: Checkov checks the gc's objects fail on purpose, beyond tests/checkov-skips.yaml (which holds the
#: application's): each must still fail, or the test says the skip is stale.
GC_SKIPS = {
    "CKV_K8S_38": "Service account token mounted. The Job talks to the API server: `sparkhelm gc` lists and deletes "
                  "with this ServiceAccount's token (and the Role of _rules.tpl allows nothing else).",
}


def render_gc(values: Obj, *, release: str = "gc", namespace: str = "ops") -> list[Obj]:
    rendered = EmbeddedEngine().render(GC_CHART, values, release=release, namespace=namespace)
    return parse_manifest(rendered.manifest)


def refusal(values: Obj) -> str:
    with helm_python.Chart.load(str(GC_CHART)) as chart, pytest.raises(helm_python.HelmError) as caught:
        chart.render(values, name="gc", namespace="ops")
    return str(caught.value)


def job_pod(objects: list[Obj]) -> Obj:
    """The pod the CronJob's Jobs run, as a Pod object."""
    cronjob = next(o for o in objects if o["kind"] == "CronJob")
    template = cronjob["spec"]["jobTemplate"]["spec"]["template"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "gc-1", "namespace": "ops", **template["metadata"]}, "spec": template["spec"]}


def values_of(path: Path) -> Obj:
    return yaml.safe_load(path.read_text())


# --- rendering --------------------------------------------------------------------------------------


def test_the_defaults_refuse_because_no_image_is_published() -> None:
    message = refusal({})
    assert "image.repository is required: no sparkhelm image is published" in message
    assert "charts/spark-gc/image/Dockerfile" in message and "pip.requirement" in message


@pytest.mark.parametrize("path", CI_FILES, ids=lambda p: p.name)
def test_ci_values_render_valid_restricted_objects(path: Path) -> None:
    objects = render_gc(values_of(path))
    assert {o["kind"] for o in objects} >= {"CronJob", "ServiceAccount", "NetworkPolicy"}
    for obj in objects:
        for version in ("1.29", NEWEST):
            kubernetes_validate.validate(obj, version, strict=True)
    pod = job_pod(objects)
    kubernetes_validate.validate(pod, NEWEST, strict=True)
    assert restricted_violations(pod) == []
    container = pod["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/tmp" in mounts and ("/opt/sparkhelm" in mounts) == bool(values_of(path).get("pip"))


def test_the_gc_is_never_taken_for_an_application() -> None:
    """`sparkhelm gc` sweeps by spark-client-app's labels: the gc's own objects must not carry them."""
    for path in CI_FILES:
        objects = render_gc(values_of(path))
        for labels in [o["metadata"]["labels"] for o in objects] + [job_pod(objects)["metadata"]["labels"]]:
            assert not label_matcher(CHART_SELECTOR)(labels)
            assert labels["app.kubernetes.io/name"] == "spark-gc"


def test_names_and_checks() -> None:
    assert {o["metadata"]["name"] for o in render_gc(IMAGE)} == {"gc-spark-gc"}
    assert {o["metadata"]["name"] for o in render_gc(IMAGE, release="team-spark-gc")} == {"team-spark-gc"}
    assert {o["metadata"]["name"] for o in render_gc({**IMAGE, "fullnameOverride": "sweeper"})} == {"sweeper"}
    for values, words in (
        ({**IMAGE, "allNamespaces": True, "namespaces": ["a"]}, "allNamespaces and namespaces are both set"),
        ({**IMAGE, "pip": {"requirement": "sparkhelm==0.1.0"}}, "pip.requirement with networkPolicy.enabled needs a networkPolicy.egress rule"),
        ({**IMAGE, "serviceAccount": {"create": False}}, "would grant the namespace's default ServiceAccount"),
    ):
        message = refusal(values)
        assert words in message and "\n" not in message.strip(), message  # the chart's checks: one line
    for values, key in (({**IMAGE, "olderThan": "one day"}, "/olderThan"), ({**IMAGE, "schedule": "often"}, "/schedule"),
                        ({**IMAGE, "namespaces": ["Team_A"]}, "/namespaces/0")):
        assert f"at '{key}'" in refusal(values)  # the schema's
    with helm_python.Chart.load(str(GC_CHART)) as chart, pytest.raises(helm_python.HelmError, match="a CronJob's is at most 52"):
        chart.render(IMAGE, name="r" * 45, namespace="ops")


# --- RBAC: exactly what gc does -----------------------------------------------------------------------


def _grants(role: Obj) -> set[tuple[str, str, str]]:
    return {(group, resource, verb) for rule in role["rules"] for group in rule["apiGroups"]
            for resource in rule["resources"] for verb in rule["verbs"]}


def expected_grants() -> set[tuple[str, str, str]]:
    """list (find by label) and delete of every kind the chart renders; Helm's release Secrets besides."""
    grants = {(k.group, k.plural, verb) for k in CHART_KINDS.values() for verb in ("list", "delete")}
    return grants | {("", "secrets", verb) for verb in ("get", "list", "update", "delete")}


def test_a_role_per_namespace_grants_exactly_what_gc_does() -> None:
    objects = render_gc({**IMAGE, "namespaces": ["spark-jobs", "spark-etl"]})
    roles = [o for o in objects if o["kind"] == "Role"]
    bindings = [o for o in objects if o["kind"] == "RoleBinding"]
    assert sorted(r["metadata"]["namespace"] for r in roles) == sorted(b["metadata"]["namespace"] for b in bindings) == ["spark-etl", "spark-jobs"]
    for role in roles:
        assert _grants(role) == expected_grants()
        assert not any("*" in entry for entry in _grants(role))
    for binding in bindings:
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "gc-spark-gc"}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "gc-spark-gc", "namespace": "ops"}]
    assert not [o for o in objects if o["kind"].startswith("Cluster")]
    assert [r["metadata"]["namespace"] for r in render_gc(IMAGE) if r["kind"] == "Role"] == ["ops"]


def test_all_namespaces_is_one_cluster_role_with_the_same_rules() -> None:
    objects = render_gc({**IMAGE, "allNamespaces": True})
    (role,) = [o for o in objects if o["kind"] == "ClusterRole"]
    (binding,) = [o for o in objects if o["kind"] == "ClusterRoleBinding"]
    assert _grants(role) == expected_grants() and binding["roleRef"]["kind"] == "ClusterRole"
    assert not [o for o in objects if o["kind"] in ("Role", "RoleBinding")]
    assert job_pod(objects)["spec"]["containers"][0]["command"][3:] == ["spark-gc", "--all-namespaces"]


def test_no_rbac_and_an_existing_account() -> None:
    objects = render_gc({**IMAGE, "rbac": {"create": False}, "serviceAccount": {"create": False, "name": "ops-gc"}})
    assert not [o for o in objects if "Role" in o["kind"] or o["kind"] == "ServiceAccount"]
    assert job_pod(objects)["spec"]["serviceAccountName"] == "ops-gc"


# --- the script -----------------------------------------------------------------------------------


def _stand_in(directory: Path, name: str, fail_for: str = "") -> None:
    """An executable that appends its argv (and PYTHONPATH) as a JSON line to calls.log; fails when an argument equals `fail_for`."""
    script = directory / name
    script.write_text(
        "#!/bin/sh\n"
        f'printf \'%s\\n\' "$(python3 -c \'import json,os,sys; print(json.dumps([os.path.basename(sys.argv[1]), os.environ.get("PYTHONPATH", ""), *sys.argv[2:]]))\' "$0" "$@")" >> "{directory}/calls.log"\n'
        + (f'for a in "$@"; do [ "$a" = "{fail_for}" ] && exit 3; done\n' if fail_for else "")
        + "exit 0\n"
    )
    script.chmod(0o755)


def run_job(tmp_path: Path, values: Obj, *, stand_ins: tuple[str, ...] = ("sparkhelm",), fail_for: str = "") -> tuple[int, list[list[str]]]:
    """Run the rendered container command with stand-ins on PATH; (exit code, recorded calls)."""
    pod = job_pod(render_gc(values))
    container = pod["spec"]["containers"][0]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    if not (bin_dir / "python3").exists():
        (bin_dir / "python3").symlink_to(Path(sys.executable))
    for name in stand_ins:
        _stand_in(bin_dir, name, fail_for)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", **{e["name"]: e["value"] for e in container["env"]}}
    result = subprocess.run(container["command"], env=env, capture_output=True, text=True, timeout=60)
    log = bin_dir / "calls.log"
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result.returncode, calls


def test_the_script_collects_each_namespace_and_fails_if_one_failed(tmp_path: Path) -> None:
    code, calls = run_job(tmp_path, values_of(GC_CHART / "ci" / "image-values.yaml"), fail_for="--namespace=spark-jobs")
    assert calls == [
        ["sparkhelm", "", "gc", "--namespace=spark-jobs", "--older-than", "6h"],
        ["sparkhelm", "", "gc", "--namespace=spark-etl", "--older-than", "6h"],
    ]
    assert code == 1  # both namespaces were tried; one failed
    code, _ = run_job(tmp_path / "ok", {**IMAGE})
    assert code == 0


def test_the_script_installs_sparkhelm_first_with_pip_requirement(tmp_path: Path) -> None:
    values = values_of(GC_CHART / "ci" / "pip-values.yaml")
    code, calls = run_job(tmp_path, values, stand_ins=("python",))
    requirement = values["pip"]["requirement"]
    assert code == 0
    assert calls[0][0] == "python" and calls[0][2:5] == ["-m", "pip", "install"] and calls[0][-3:] == ["--target", "/opt/sparkhelm", requirement]
    assert calls[1] == ["python", "/opt/sparkhelm", "-m", "sparkhelm", "gc", "--all-namespaces", "--older-than", "24h", "--dry-run"]
    code, calls = run_job(tmp_path / "broken", values, stand_ins=("python",), fail_for="install")
    assert code == 1 and len(calls) == 1  # no collection with a failed install


def test_the_arguments_are_the_ones_sparkhelm_gc_takes() -> None:
    from sparkhelm.cli import build_parser

    parser: Any = build_parser()
    for argv in (["gc", "--namespace=spark-jobs", "--older-than", "6h"], ["gc", "--all-namespaces", "--older-than", "24h", "--dry-run"]):
        args = parser.parse_args(argv)
        assert args.older_than == argv[argv.index("--older-than") + 1]
        assert args.dry_run == ("--dry-run" in argv)
        assert args.all_namespaces == ("--all-namespaces" in argv)


# --- NetworkPolicy --------------------------------------------------------------------------------


def test_the_job_reaches_dns_and_the_api_server_only_and_nothing_reaches_it() -> None:
    objects = render_gc({**IMAGE, "networkPolicy": {"apiServer": {"cidrs": ["10.0.0.1/32"], "ports": [443]}}})
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    gc = netpol.Endpoint(namespace="ops", labels={"app.kubernetes.io/name": "spark-gc", "app.kubernetes.io/instance": "gc"})
    assert netpol.allowed(policies, gc, netpol.external("10.0.0.1"), 443)
    assert netpol.allowed(policies, gc, netpol.pod("kube-system", k8s_app="kube-dns"), 53, "UDP")
    assert not netpol.allowed(policies, gc, netpol.external("10.0.0.2"), 443)
    assert not netpol.allowed(policies, gc, netpol.external("151.101.0.223"), 443)  # a package index: not without egress
    assert not netpol.allowed(policies, netpol.pod("ops", app="anything"), gc, 8080)


# --- the ttl contract -------------------------------------------------------------------------------

DURATIONS = {"30m": 1800, "2h": 7200, "1d": 86400, "1h30m": 5400, "90s": 90}


def test_ttl_is_written_on_every_object_for_gc_to_read(tmp_path: Path) -> None:
    values = {"ttl": "2h", "metrics": {"enabled": True, "podMonitor": {"enabled": True}}, "scheduler": {"gang": {"enabled": True}}}
    objects, _, _ = render_objects(tmp_path, values, name="etl")
    assert {o["metadata"]["annotations"]["sparkhelm.io/ttl"] for o in objects} == {"2h"}
    template = yaml.safe_load(next(o for o in objects if o["kind"] == "ConfigMap")["data"]["executor-pod-template.yaml"])
    assert template["metadata"]["annotations"]["sparkhelm.io/ttl"] == "2h"
    objects, _, _ = render_objects(tmp_path, {}, name="etl")
    assert not [o for o in objects if "sparkhelm.io/ttl" in (o["metadata"].get("annotations") or {})]


def test_ttl_and_older_than_accept_what_sparkhelm_parses() -> None:
    """The chart's ttl, the gc chart's olderThan and `sparkhelm gc --older-than` read one grammar."""
    app_ttl = json.loads((CHART / "values.schema.json").read_text())["properties"]["ttl"]
    gc_schema = json.loads((GC_CHART / "values.schema.json").read_text())
    older_than = gc_schema["definitions"]["duration"]
    for text, seconds in DURATIONS.items():
        jsonschema.validate(text, app_ttl)
        jsonschema.validate(text, older_than)
        assert parse_duration(text, "--older-than") == seconds
    for bad in ("2 hours", "1.5h", "-1h", "h", "2H", "1w"):
        for schema in (app_ttl, older_than):
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(bad, schema)
    assert re.search(r"sparkhelm\.io/ttl", (GC_CHART / "README.md").read_text())


# --- real Helm binaries and checkov ------------------------------------------------------------------


def _run(binary: Path, *args: str | Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HELM_CONFIG_HOME": str(home / "config"), "HELM_CACHE_HOME": str(home / "cache"), "HELM_DATA_HOME": str(home / "data")}
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize("helm", ["helm3", "helm4"])
def test_real_helm_lints_and_renders_the_gc_chart(tmp_path: Path, helm: str) -> None:
    binary = tool(helm)
    for path in [None, *CI_FILES]:
        extra = ["-f", path] if path else []
        lint = _run(binary, "lint", "--strict", GC_CHART, *extra, home=tmp_path)
        assert lint.returncode == 0 and "[WARNING]" not in lint.stdout, lint.stdout + lint.stderr
    for path in CI_FILES:
        rendered = _run(binary, "template", "gc", GC_CHART, "-n", "ops", "-f", path, home=tmp_path)
        assert rendered.returncode == 0, rendered.stderr
        kinds = [d["kind"] for d in yaml.safe_load_all(rendered.stdout) if d]
        assert "CronJob" in kinds and ("ClusterRole" in kinds) == bool(values_of(path).get("allNamespaces"))
    refused = _run(binary, "template", "gc", GC_CHART, home=tmp_path)
    assert refused.returncode != 0 and "no sparkhelm image is published" in refused.stderr


def test_checkov_fails_only_the_explained_checks(tmp_path: Path) -> None:
    binary = checkov_binary()
    if binary is None:
        if os.environ.get("SPARKHELM_REQUIRE_CHECKOV"):
            pytest.fail("checkov is required (SPARKHELM_REQUIRE_CHECKOV) but not found")
        pytest.skip("checkov not installed: python -m venv .venv-checkov && .venv-checkov/bin/pip install checkov")
    scan = tmp_path / "rendered"
    scan.mkdir()
    for path in CI_FILES:
        (scan / f"gc-{path.stem}.yaml").write_text(yaml.safe_dump_all(render_gc(values_of(path))))
    run = subprocess.run([binary, "-d", str(scan), "--framework", "kubernetes", "--quiet", "--compact", "-o", "json"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode in (0, 1), run.stderr[-2000:]
    reports = json.loads(run.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert reports[0]["summary"]["parsing_errors"] == 0 and reports[0]["summary"]["resource_count"] >= 8
    failed = [c for r in reports for c in r["results"]["failed_checks"]]
    unexpected = sorted({f"{c['check_id']} {c['check_name']} ({c['resource']})" for c in failed if c["check_id"] not in {**SKIPS, **GC_SKIPS}})
    assert unexpected == [], "checkov failures without a reason:\n" + "\n".join(unexpected)
    stale = set(GC_SKIPS) - {c["check_id"] for c in failed}
    assert stale == set(), f"GC_SKIPS that no longer fail (remove them): {sorted(stale)}"


def test_values_are_documented_and_the_schema_descriptions_current() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("chart_schema", ROOT / "scripts" / "chart_schema.py")
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main(["--check", "--chart", str(GC_CHART)]) == 0, "stale: python scripts/chart_schema.py --chart charts/spark-gc"
    readme = (GC_CHART / "README.md").read_text()
    for key in yaml.safe_load((GC_CHART / "values.yaml").read_text()):
        assert f"`{key}" in readme, key
