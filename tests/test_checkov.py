"""Checkov over the rendered manifests of every example values file (and the executor pod template).

Every failed check must be in tests/checkov-skips.yaml, with its reason, and every skip there must
still fail: zero unexpected failures, no stale skips. Checkov lives in its own virtualenv
(`.venv-checkov`, made by .ci/run) because it pins many libraries of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import CHART, ROOT, VALUES_DIR, render_objects
from tests.invariants import parse_spark_defaults

SKIPS: dict[str, str] = yaml.safe_load((ROOT / "tests" / "checkov-skips.yaml").read_text())
SOURCES = sorted(VALUES_DIR.glob("*.yaml")) + sorted((CHART / "ci").glob("*-values.yaml"))


def checkov_binary() -> str | None:
    candidates = [os.environ.get("SPARKHELM_CHECKOV"), str(ROOT / ".venv-checkov" / "bin" / "checkov"), shutil.which("checkov")]
    return next((c for c in candidates if c and Path(c).is_file()), None)


@pytest.fixture(scope="module")
def checkov() -> str:
    binary = checkov_binary()
    if binary is None:
        if os.environ.get("SPARKHELM_REQUIRE_CHECKOV"):
            pytest.fail("checkov is required (SPARKHELM_REQUIRE_CHECKOV) but not found: run bash .ci/run")
        pytest.skip("checkov not installed: python -m venv .venv-checkov && .venv-checkov/bin/pip install checkov")
    return binary


def _mebibytes(spark_memory: str) -> int:
    units = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024**2}
    text = spark_memory.lower().rstrip("b")
    return int(int(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def executor_pod(template: dict, conf: dict[str, str]) -> dict:
    """The executor pod Spark builds from the template: the fields its BasicExecutorFeatureStep fills in."""
    pod = yaml.safe_load(yaml.safe_dump(template))
    # a scheduled run names its executors after its own driver pod (on its command line, not in the file)
    prefix = conf.get("spark.kubernetes.executor.podNamePrefix", "example-app-cron-29000000-abcde")
    pod["metadata"].update(name=f"{prefix}-exec-1", namespace=conf["spark.kubernetes.namespace"])
    heap = _mebibytes(conf["spark.executor.memory"])
    overhead = _mebibytes(conf.get("spark.executor.memoryOverhead", "0")) or max(384, heap // 10)
    memory = f"{heap + overhead}Mi"
    container = pod["spec"]["containers"][0]
    container.update(
        image=conf["spark.kubernetes.container.image"],
        imagePullPolicy=conf["spark.kubernetes.container.image.pullPolicy"],
        resources={"requests": {"cpu": conf.get("spark.kubernetes.executor.request.cores", conf["spark.executor.cores"]), "memory": memory},
                   "limits": {"memory": memory}},
    )
    return pod


def test_every_skip_has_a_reason() -> None:
    assert SKIPS and all(key.startswith(("CKV_K8S_", "CKV2_K8S_")) and len(reason) > 40 for key, reason in SKIPS.items())


def test_rendered_examples_fail_only_the_explained_checks(checkov: str, tmp_path: Path) -> None:
    scan = tmp_path / "rendered"
    scan.mkdir()
    for source in SOURCES:
        work = tmp_path / source.stem
        work.mkdir()
        objects, _, _ = render_objects(work, {}, name="example-app", namespace="team-a", files=[source])
        configmap = next(o for o in objects if o["kind"] == "ConfigMap")
        template = yaml.safe_load(configmap["data"]["executor-pod-template.yaml"])
        executor = executor_pod(template, parse_spark_defaults(configmap["data"]["spark-defaults.conf"]))
        (scan / f"{source.parent.name}-{source.stem}.yaml").write_text(yaml.safe_dump_all([*objects, executor]))
    run = subprocess.run(
        [checkov, "-d", str(scan), "--framework", "kubernetes", "--quiet", "--compact", "-o", "json"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert run.returncode in (0, 1), run.stderr[-2000:]
    reports = json.loads(run.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    summary = reports[0]["summary"]
    assert summary["parsing_errors"] == 0 and summary["resource_count"] >= 10 * len(SOURCES), summary
    failed = [c for r in reports for c in r["results"]["failed_checks"]]
    unexpected = sorted({f"{c['check_id']} {c['check_name']} ({c['resource']})" for c in failed if c["check_id"] not in SKIPS})
    assert unexpected == [], "checkov failures without a reason in tests/checkov-skips.yaml:\n" + "\n".join(unexpected)
    stale = set(SKIPS) - {c["check_id"] for c in failed}
    assert stale == set(), f"skips that no longer fail (remove them): {sorted(stale)}"
    executor_pods = [c for c in failed if c["resource"].startswith("Pod.team-a.example-app-exec-1")]
    assert "CKV_K8S_38" not in {c["check_id"] for c in executor_pods}, "executors must not mount a token"
