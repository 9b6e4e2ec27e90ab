"""Spark itself answers the scrapes the chart configures, and carries the queue and gang metadata.

The chart's rendered driver runs here (tests/sparkdriver.py) with metrics.enabled and a PodMonitor,
a path-mode UI Ingress (so spark.ui.proxyBase is set, as in production), Kueue and Kubernetes' own
gang scheduling and a ttl. While the driver runs, the test GETs exactly the port and paths the
rendered PodMonitor names: the driver's metrics (PrometheusServlet) and the executors' (served by
the driver from their heartbeats). Then it checks that the executor pods Spark created carry the
template's Kueue labels, gang reference and ttl (Spark's fabric8 model round-trips fields it does not
know, such as spec.schedulingGroup).
"""

from __future__ import annotations

import http.client
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests import sparkdriver
from tests.conftest import VALUES_DIR, render_objects
from tests.harness import RunningCluster
from tests.invariants import parse_spark_defaults

pytestmark = pytest.mark.spark

VALUES = {
    "metrics": {"enabled": True, "podMonitor": {"enabled": True}},
    "ui": {"ingress": {"enabled": True, "host": "spark.example.com"}},
    "scheduler": {"queue": "team-a", "kueue": {"enabled": True}, "gang": {"enabled": True}},
    "ttl": "1h",
}
#: One sample line of Prometheus' text format: name, optional labels, a number.
SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{[^}]*\})? (?P<value>[-+0-9.eE]+|NaN|[+-]Inf)$")


@pytest.fixture(scope="module")
def spark_home() -> Path:
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


def _get(port: int, path: str, deadline: float) -> tuple[int, str]:
    """GET until the UI is past its "starting up" page (or the deadline)."""
    while True:
        connection = http.client.HTTPConnection(sparkdriver.DRIVER_IP, port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            status, body = response.status, response.read().decode("utf-8", "replace")
        except OSError:
            status, body = 0, sparkdriver.STARTING_UP
        finally:
            connection.close()
        if (status == 200 and sparkdriver.STARTING_UP not in body) or time.monotonic() > deadline:
            return status, body
        time.sleep(0.2)


@pytest.fixture(scope="module")
def metrics_run(spark_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[sparkdriver.DriverRun, list[Any], dict[str, Any], dict[str, tuple[int, str]]]:
    tmp_path = tmp_path_factory.mktemp("metrics")
    release = tmp_path / "release"
    data = {"app": {"mainApplicationFile": f"local://{sparkdriver.PYTHON_APP}", "arguments": [str(release)]},
            "sparkConf": {"spark.scheduler.minRegisteredResourcesRatio": "0"}, **VALUES}
    objects, values, _ = render_objects(tmp_path, data, name="it-metrics", files=[VALUES_DIR / "pyspark-pi.yaml"])
    monitor = next(o for o in objects if o["kind"] == "PodMonitor")
    driver = sparkdriver.driver_pod(objects)
    ports = {p["name"]: p["containerPort"] for p in driver["spec"]["containers"][0]["ports"]}
    endpoints = [(ports[e["port"]], e["path"]) for e in monitor["spec"]["podMetricsEndpoints"]]
    scraped: dict[str, tuple[int, str]] = {}
    original = sparkdriver._fetch_ui

    def fetch_and_scrape(port: int, paths: tuple[str, ...], deadline: float) -> Any:
        """run_driver reads the UI once the executors were asked for, before it releases the app: scrape then too."""
        answers = original(port, paths, deadline)
        for scrape_port, path in endpoints:
            scraped[path] = _get(scrape_port, path, deadline)
        return answers

    conf = parse_spark_defaults(sparkdriver.configmap(objects)["data"]["spark-defaults.conf"])
    cluster = RunningCluster(tmp_path)
    patch = pytest.MonkeyPatch()
    patch.setattr(sparkdriver, "_fetch_ui", fetch_and_scrape)
    try:
        workdir = tmp_path / "driver"
        workdir.mkdir()
        run = sparkdriver.run_driver(cluster, objects, workdir, release=release, executors=sparkdriver.expected_executors(conf))
    finally:
        patch.undo()
        cluster.close()
    return run, objects, values, scraped


def test_the_driver_answers_on_the_podmonitor_paths(metrics_run: Any) -> None:
    run, objects, _, scraped = metrics_run
    monitor = next(o for o in objects if o["kind"] == "PodMonitor")
    paths = [e["path"] for e in monitor["spec"]["podMetricsEndpoints"]]
    assert set(scraped) == set(paths) == {"/metrics/prometheus", "/metrics/executors/prometheus"}, run.log[-3000:]
    driver_status, driver_body = scraped["/metrics/prometheus"]
    assert driver_status == 200, driver_body[:500]
    samples = [SAMPLE.match(line) for line in driver_body.splitlines() if line and not line.startswith("#")]
    assert samples and all(samples), [line for line in driver_body.splitlines() if line and not SAMPLE.match(line)][:5]
    names = {m.group("name") for m in samples if m}
    # metrics.namespace "spark", the driver instance: one name for every application, not its app ID
    assert all(name.startswith("metrics_spark_driver_") for name in names), sorted(names)[:5]
    assert any("_jvm_" in name for name in names), "metrics.jvmSource adds the JVM's metrics"
    assert any("_DAGScheduler_" in name for name in names)
    executors_status, executors_body = scraped["/metrics/executors/prometheus"]
    assert executors_status == 200, executors_body[:500]
    executor_samples = [SAMPLE.match(line) for line in executors_body.splitlines() if line and not line.startswith("#")]
    assert executor_samples and all(executor_samples)
    # the driver reports itself among the executors (in the emulator no executor registers)
    assert any(m and m.group("name").startswith("metrics_executor_") and 'executor_id="driver"' in (m.group("labels") or "")
               for m in executor_samples), executors_body[:800]


def test_the_ui_still_answers_through_the_proxy_base(metrics_run: Any) -> None:
    run, _, values, _ = metrics_run
    assert sparkdriver.ui_problems(run, values) == []


def test_spark_creates_executors_with_the_queue_gang_and_ttl_metadata(metrics_run: Any) -> None:
    run, objects, values, _ = metrics_run
    problems = sparkdriver.wiring_problems(run, objects, values)
    assert problems == [], "\n".join(problems) + "\n" + run.log[-3000:]
    pods = run.created("pods")
    assert len(pods) == 2
    for pod in pods:
        labels, annotations = pod["metadata"]["labels"], pod["metadata"]["annotations"]
        assert labels["kueue.x-k8s.io/queue-name"] == "team-a" and labels["kueue.x-k8s.io/managed"] == "true"
        assert annotations["kueue.x-k8s.io/pod-group-name"] == "it-metrics-executors"
        assert annotations["kueue.x-k8s.io/pod-group-total-count"] == "2"
        assert annotations["sparkhelm.io/ttl"] == "1h"
        assert pod["spec"]["schedulingGroup"] == {"podGroupName": "it-metrics-executors"}
