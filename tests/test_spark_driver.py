"""Spark itself checks the chart's wiring: the real client-mode driver against the API emulator.

For each application the chart is rendered, the rendered driver pod is seeded in the emulator,
and the rendered driver command runs here with the pyspark wheel as `$SPARK_HOME` (see
tests/sparkdriver.py). The assertions are on what Spark asked the API server to create and on what
its UI answered. The test applications only replace the application file and its arguments, and
set `spark.scheduler.minRegisteredResourcesRatio=0` through `sparkConf` (an ordinary value):
executors never register in an emulator, and Spark would otherwise wait 30 s for them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import sparkdriver
from tests.conftest import VALUES_DIR, render_objects
from tests.harness import RunningCluster
from tests.invariants import parse_spark_defaults

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark_home() -> Path:
    """pyspark's directory; skipped only where Java is missing (CI requires pyspark)."""
    reason = sparkdriver.java_missing()
    if reason:
        pytest.skip(reason)
    home = sparkdriver.spark_home()
    if home is None:
        hint = f"pip install pyspark=={sparkdriver.chart_app_version()}"
        if os.environ.get("SPARKHELM_REQUIRE_SPARK"):
            pytest.fail(f"pyspark is required here (SPARKHELM_REQUIRE_SPARK is set): {hint}")
        pytest.skip(f"pyspark is not installed: {hint}")
    return home


@pytest.fixture(scope="module")
def jvm_app(spark_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sparkdriver.build_jvm_app(spark_home, tmp_path_factory.mktemp("jvm-app"))


Run = tuple[sparkdriver.DriverRun, list[dict[str, Any]], dict[str, Any]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, jvm_app: Path) -> Callable[[str], Run]:
    """Each application's driver runs once per session (a JVM start is the expensive part)."""
    done: dict[str, Run] = {}

    def get(name: str) -> Run:
        if name not in done:
            done[name] = render_and_run(name, tmp_path_factory.mktemp(name), jvm_app)
        return done[name]

    return get


def app_values(release: Path, application: str, *, main_class: str = "", **extra: Any) -> dict[str, Any]:
    """The test application in place of the example's, and no 30 s wait for executors that never come."""
    app: dict[str, Any] = {"mainApplicationFile": f"local://{application}", "arguments": [str(release)]}
    if main_class:
        app["mainClass"] = main_class
    return {"app": app, "sparkConf": {"spark.scheduler.minRegisteredResourcesRatio": "0"}, **extra}


APPS = {
    # name: (values files, extra values, is a JVM app)
    "python": (["pyspark-pi.yaml"], {}, False),
    "jvm-main-class": (["scala-pi.yaml"], {}, True),
    "prod-volcano-path-ingress": (["prod.yaml"], {}, False),
    "host-ingress": (["pyspark-pi.yaml", "ui-host-ingress.yaml"], {}, False),
    "dynamic-allocation": (
        ["pyspark-pi.yaml"],
        {"executor": {"instances": 3}, "dynamicAllocation": {"enabled": True, "minExecutors": 1, "maxExecutors": 6}},
        False,
    ),
}


def render_and_run(
    name: str, tmp_path: Path, jvm_app: Path, *, namespace: str = "spark-jobs", break_conf: tuple[str, str] | None = None
) -> Run:
    """Render the app, then run its driver against a fresh emulator (closed afterwards)."""
    files, extra, is_jvm = APPS[name]
    release = tmp_path / "release"
    if is_jvm:
        data = app_values(release, str(jvm_app), main_class=sparkdriver.JVM_APP_CLASS, **extra)
    else:
        data = app_values(release, str(sparkdriver.PYTHON_APP), **extra)
    objects, values, _ = render_objects(
        tmp_path, data, name=f"it-{name}"[:40].rstrip("-"), namespace=namespace, files=[VALUES_DIR / f for f in files]
    )
    if break_conf is not None:
        cm = sparkdriver.configmap(objects)
        broken = re.sub(break_conf[0], break_conf[1], cm["data"]["spark-defaults.conf"], flags=re.MULTILINE)
        assert broken != cm["data"]["spark-defaults.conf"], "the mutation changed nothing"
        cm["data"]["spark-defaults.conf"] = broken
    conf = parse_spark_defaults(sparkdriver.configmap(objects)["data"]["spark-defaults.conf"])
    workdir = tmp_path / "driver"
    workdir.mkdir()
    cluster = RunningCluster(tmp_path)
    try:
        run = sparkdriver.run_driver(
            cluster, objects, workdir, release=release, executors=sparkdriver.expected_executors(conf)
        )
    finally:
        cluster.close()
    return run, objects, values


@pytest.mark.parametrize("name", list(APPS))
def test_spark_creates_the_executors_the_chart_describes(name: str, runs: Callable[[str], Run]) -> None:
    run, objects, values = runs(name)
    problems = sparkdriver.wiring_problems(run, objects, values) + sparkdriver.ui_problems(run, values)
    assert not problems, "\n".join(problems) + "\n--- driver log (tail) ---\n" + run.log[-4000:]
    # and the run was a real one: Spark fetched its own pod and watched its executors
    verbs = {(verb, path.split("?")[0].rsplit("/", 1)[-1]) for _, path, verb, _ in run.requests}
    assert ("get", run.app_name + "-driver") in verbs
    assert ("watch", "pods") in verbs
    assert len(run.created("pods")) >= 1


def test_prod_executors_carry_volcano_priority_and_placement(runs: Callable[[str], Run]) -> None:
    """Spelled out for values/prod.yaml: what wiring_problems compares with the template, by value."""
    run, _, _ = runs("prod-volcano-path-ingress")
    pods = run.created("pods")
    assert len(pods) == 4
    for pod in pods:
        spec = pod["spec"]
        assert spec["schedulerName"] == "volcano"
        assert spec["priorityClassName"] == "routine"
        assert pod["metadata"]["annotations"]["scheduling.k8s.io/group-name"] == f"{run.app_name}-podgroup"
        terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert terms[0]["matchExpressions"][0]["values"] == ["spark-executor", "spark-executor-spot"]
        assert {"key": "dedicated", "operator": "Equal", "value": "spark", "effect": "NoSchedule"} in spec["tolerations"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["serviceAccountName"] == f"{run.app_name}-executor"
        container = spec["containers"][0]
        assert container["image"] == f"apache/spark:{sparkdriver.chart_app_version()}"
        assert container["resources"]["requests"] == {"cpu": "2", "memory": "5120Mi"}
    status, location, links = run.ui["/"]
    assert (status, location) == (302, f"https://spark.example.com/{run.app_name}/jobs/")


BREAKAGES = {
    "pod-name-prefix": (r"^(spark\.kubernetes\.executor\.podNamePrefix\s+).*$", r"\1someone-else"),
    "template-path": (r"^spark\.kubernetes\.executor\.podTemplateFile\s+.*\n", ""),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_a_broken_wiring_key_is_caught(breakage: str, tmp_path: Path, jvm_app: Path) -> None:
    """The checks above can fail: one wiring key broken by hand, and Spark's requests show it."""
    run, objects, values = render_and_run("python", tmp_path, jvm_app, break_conf=BREAKAGES[breakage])
    problems = sparkdriver.wiring_problems(run, objects, values)
    if breakage == "pod-name-prefix":
        assert any("expected 2 named it-python-exec-N" in p for p in problems), problems
    else:
        assert any("label app-name=" in p for p in problems), problems
        assert any("spec.securityContext" in p for p in problems), problems


def test_pyspark_under_test_is_the_chart_default_spark_minor(spark_home: Path) -> None:
    """One place declares the Spark version: the chart's appVersion (the default image tag; CI installs it)."""
    import pyspark

    wanted = sparkdriver.chart_app_version().split(".")[:2]
    assert pyspark.__version__.split(".")[:2] == wanted
    assert spark_home == Path(pyspark.__file__).resolve().parent
