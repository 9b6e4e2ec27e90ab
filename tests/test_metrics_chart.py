"""Metrics as the chart renders them: Spark's PrometheusServlet on the driver's UI port, a PodMonitor
(strictly validated against the Prometheus Operator CRD's schema, tests/schemas/) or scrape
annotations, and the NetworkPolicy flows of the scraper. That the driver really answers on those
paths is tests/test_metrics_spark.py's part (real Spark)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests import netpol
from tests.conftest import render_objects
from tests.invariants import SCHEMAS, parse_spark_defaults, validate_strictly

Obj = dict[str, Any]
EXECUTORS_PATH = "/metrics/executors/prometheus"
PODMONITOR_SCHEMA = SCHEMAS / "podmonitor-monitoring.coreos.com-v1.json"


def render(tmp_path: Path, values: Obj, name: str = "etl") -> tuple[list[Obj], Obj, Obj, dict[str, str]]:
    """(objects, driver pod, executor template, spark-defaults.conf)."""
    objects, _, _ = render_objects(tmp_path, values, name=name, namespace="spark-jobs")
    driver = next(o for o in objects if o["kind"] == "Pod")
    configmap = next(o for o in objects if o["kind"] == "ConfigMap")
    template = yaml.safe_load(configmap["data"]["executor-pod-template.yaml"])
    return objects, driver, template, parse_spark_defaults(configmap["data"]["spark-defaults.conf"])


def test_metrics_off_by_default_leave_spark_and_the_pods_alone(tmp_path: Path) -> None:
    objects, driver, template, conf = render(tmp_path, {})
    assert not [key for key in conf if key.startswith("spark.metrics.") or key == "spark.ui.prometheus.enabled"]
    assert not [o for o in objects if o["kind"] == "PodMonitor"]
    assert not any(k.startswith("prometheus.io/") for k in (driver["metadata"].get("annotations") or {}))


def test_metrics_configure_the_driver_instance_sink_and_the_executor_endpoint(tmp_path: Path) -> None:
    _, _, _, conf = render(tmp_path, {"metrics": {"enabled": True}})
    assert conf["spark.metrics.conf.driver.sink.prometheusServlet.class"] == "org.apache.spark.metrics.sink.PrometheusServlet"
    assert conf["spark.metrics.conf.driver.sink.prometheusServlet.path"] == "/metrics/prometheus"
    assert conf["spark.ui.prometheus.enabled"] == "true"
    assert conf["spark.metrics.namespace"] == "spark"
    assert conf["spark.metrics.conf.driver.source.jvm.class"] == "org.apache.spark.metrics.source.JvmSource"
    assert conf["spark.metrics.appStatusSource.enabled"] == "true"
    # the executors' own metrics system gets no sink: they have no UI to serve it from
    assert not [key for key in conf if key.startswith(("spark.metrics.conf.*.", "spark.metrics.conf.executor."))]
    _, _, _, conf = render(tmp_path, {"metrics": {"enabled": True, "jvmSource": False, "appStatusSource": False, "namespace": "etl_jobs"}})
    assert "spark.metrics.conf.driver.source.jvm.class" not in conf and "spark.metrics.appStatusSource.enabled" not in conf
    assert conf["spark.metrics.namespace"] == "etl_jobs"


def test_without_a_podmonitor_the_driver_carries_scrape_annotations(tmp_path: Path) -> None:
    objects, driver, template, _ = render(tmp_path, {"metrics": {"enabled": True, "path": "/metrics/driver"}, "ui": {"port": 4050}})
    assert {k: v for k, v in driver["metadata"]["annotations"].items() if k.startswith("prometheus.io/")} == {
        "prometheus.io/scrape": "true", "prometheus.io/port": "4050", "prometheus.io/path": "/metrics/driver/"}
    assert not any(k.startswith("prometheus.io/") for k in (template["metadata"].get("annotations") or {}))
    assert not [o for o in objects if o["kind"] == "PodMonitor"]


def test_the_podmonitor_scrapes_both_paths_of_the_driver_and_nothing_else(tmp_path: Path) -> None:
    values = {"metrics": {"enabled": True, "path": "/metrics/driver",
                          "podMonitor": {"enabled": True, "labels": {"release": "kps"}, "interval": "15s", "scrapeTimeout": "10s"}}}
    objects, driver, template, conf = render(tmp_path, values)
    monitor = next(o for o in objects if o["kind"] == "PodMonitor")
    assert monitor["metadata"]["name"] == "etl-metrics" and monitor["metadata"]["namespace"] == "spark-jobs"
    assert monitor["metadata"]["labels"]["release"] == "kps" and monitor["metadata"]["labels"]["app-name"] == "etl"
    spec = monitor["spec"]
    assert spec["selector"] == {"matchLabels": {"app-name": "etl", "spark-role": "driver"}}
    assert not netpol.selects(spec["selector"], template["metadata"]["labels"])
    assert spec["namespaceSelector"] == {"matchNames": ["spark-jobs"]}
    assert spec["podTargetLabels"] == ["app-name", "spark-role"]
    ui_port = next(p for p in driver["spec"]["containers"][0]["ports"] if p["name"] == "spark-ui")["containerPort"]
    assert ui_port == int(conf["spark.ui.port"])
    assert spec["podMetricsEndpoints"] == [
        {"port": "spark-ui", "path": conf["spark.metrics.conf.driver.sink.prometheusServlet.path"] + "/", "interval": "15s", "scrapeTimeout": "10s"},
        {"port": "spark-ui", "path": EXECUTORS_PATH, "interval": "15s", "scrapeTimeout": "10s"},
    ]
    assert not any(k.startswith("prometheus.io/") for k in driver["metadata"].get("annotations") or {})
    validate_strictly(monitor, "1.37")


def test_the_podmonitor_fixture_is_strict(tmp_path: Path) -> None:
    """The CRD-derived schema refuses what the API server would: unknown fields, bad durations and enums, no selector."""
    objects, _, _, _ = render(tmp_path, {"metrics": {"enabled": True, "podMonitor": {"enabled": True}}})
    monitor = next(o for o in objects if o["kind"] == "PodMonitor")
    schema = json.loads(PODMONITOR_SCHEMA.read_text())
    jsonschema.Draft7Validator(schema).validate(monitor)
    for breaking in (
        lambda m: m["spec"]["podMetricsEndpoints"][0].update(targetPort_typo=4040),
        lambda m: m["spec"]["podMetricsEndpoints"][0].update(interval="30 seconds"),
        lambda m: m["spec"].update(selector={"matchLabels": "app-name=etl"}),
        lambda m: m["spec"]["podMetricsEndpoints"][0].update(scheme="ftp"),
        lambda m: m["spec"].pop("selector"),
        lambda m: m.update(apiVersion="monitoring.coreos.com/v1alpha1"),
    ):
        broken = copy.deepcopy(monitor)
        breaking(broken)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft7Validator(schema).validate(broken)


def test_the_fixture_says_where_it_comes_from() -> None:
    schema = json.loads(PODMONITOR_SCHEMA.read_text())
    assert "prometheus-operator v0.93.0" in schema["description"] and "crd_to_json_schema.py" in schema["description"]
    assert schema["additionalProperties"] is False and schema["properties"]["kind"] == {"const": "PodMonitor"}


# --- NetworkPolicy flows of the scraper ------------------------------------------------------------

PROMETHEUS = netpol.pod("monitoring", app_kubernetes_io_name="prometheus")
ELSEWHERE = netpol.pod("team-b", app="curious")


def policies(objects: list[Obj]) -> list[Obj]:
    return [o for o in objects if o["kind"] == "NetworkPolicy"]


def test_the_scraper_reaches_the_driver_ui_port_and_nothing_else(tmp_path: Path) -> None:
    objects, _, _, conf = render(tmp_path, {"metrics": {"enabled": True, "podMonitor": {"enabled": True}}})
    driver = netpol.pod("spark-jobs", app_name="etl", spark_role="driver")
    executor = netpol.pod("spark-jobs", app_name="etl", spark_role="executor")
    ui = int(conf["spark.ui.port"])
    assert netpol.allowed(policies(objects), PROMETHEUS, driver, ui)
    assert not netpol.allowed(policies(objects), PROMETHEUS, driver, int(conf["spark.driver.port"]))
    assert not netpol.allowed(policies(objects), PROMETHEUS, executor, int(conf["spark.blockManager.port"]))
    assert not netpol.allowed(policies(objects), ELSEWHERE, driver, ui)


def test_without_metrics_the_monitoring_namespace_is_not_let_in(tmp_path: Path) -> None:
    objects, _, _, conf = render(tmp_path, {})
    driver = netpol.pod("spark-jobs", app_name="etl", spark_role="driver")
    assert not netpol.allowed(policies(objects), PROMETHEUS, driver, int(conf["spark.ui.port"]))


def test_scraper_peers_are_the_ones_given(tmp_path: Path) -> None:
    peers = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}},
              "podSelector": {"matchLabels": {"app": "vmagent"}}}]
    objects, _, _, conf = render(tmp_path, {"metrics": {"enabled": True, "scraperPeers": peers}})
    driver = netpol.pod("spark-jobs", app_name="etl", spark_role="driver")
    ui = int(conf["spark.ui.port"])
    assert netpol.allowed(policies(objects), netpol.pod("observability", app="vmagent"), driver, ui)
    assert not netpol.allowed(policies(objects), netpol.pod("observability", app="other"), driver, ui)
    assert not netpol.allowed(policies(objects), PROMETHEUS, driver, ui)  # the default peer is replaced, not added


def test_the_ingress_controller_keeps_its_way_in_beside_the_scraper(tmp_path: Path) -> None:
    objects, _, _, conf = render(tmp_path, {"metrics": {"enabled": True}, "ui": {"ingress": {"enabled": True}}})
    driver = netpol.pod("spark-jobs", app_name="etl", spark_role="driver")
    ui = int(conf["spark.ui.port"])
    assert netpol.allowed(policies(objects), netpol.pod("ingress-nginx", app="controller"), driver, ui)
    assert netpol.allowed(policies(objects), PROMETHEUS, driver, ui)
