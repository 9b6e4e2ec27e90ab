"""Gateway API routes of the chart: an HTTPRoute for the Spark UI (ui.httpRoute, path or host mode,
without ingress-nginx's rewrite annotations) and a GRPCRoute for the Spark Connect server
(connect.grpcRoute), validated strictly against Gateway API's published schemas
(tests/schemas/gateway-api), with the NetworkPolicy opened to the Gateway's proxy only."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from sparkhelm.errors import UserError
from sparkhelm.kube.resources import CHART_KINDS
from sparkhelm.ops.preflight import access_needed
from sparkhelm.spec import layers as values_mod
from sparkhelm.spec.naming import AppNames
from tests.conftest import render_objects
from tests.invariants import CONNECT_SERVICE, check_application, validate_strictly
from tests.netpol import allowed, pod

Obj = dict[str, Any]
NS = "team-a"
VERSIONS = ["1.29", kubernetes_validate.utils.latest_version()]
GATEWAY_NS = "gateway-system"
PEERS = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": GATEWAY_NS}}}]
PARENTS = [{"name": "shared", "namespace": GATEWAY_NS, "sectionName": "https"}]
UI_ROUTE = {"ui": {"httpRoute": {"enabled": True, "parentRefs": PARENTS, "gatewayPeers": PEERS}}}
GRPC_ROUTE = {"connect": {"enabled": True, "grpcRoute": {"enabled": True, "parentRefs": PARENTS, "gatewayPeers": PEERS,
                                                          "hostnames": ["connect.example.com"]}}}
DRIVER = pod(NS, app_name="etl", spark_role="driver")
GATEWAY_PROXY = pod(GATEWAY_NS, app="envoy")
NEIGHBOUR = pod(NS, app="jupyter")


def render(tmp_path: Path, values: Obj, name: str = "etl") -> dict[str, list[Obj]]:
    """Objects by kind, every wiring invariant checked and every object strictly valid."""
    objects, effective, _ = render_objects(tmp_path, values, name=name, namespace=NS)
    parts = check_application(objects, app_name=name, namespace=NS, values=effective)
    by_kind: dict[str, list[Obj]] = {"Conf": [parts["conf"]]}
    for obj in objects:
        for version in VERSIONS:
            validate_strictly(obj, version)
        by_kind.setdefault(obj["kind"], []).append(obj)
    return by_kind


def render_error(tmp_path: Path, values: Obj) -> str:
    with pytest.raises(UserError) as caught:
        render_objects(tmp_path, values, name="etl", namespace=NS)
    return str(caught.value)


# --- HTTPRoute of the UI -----------------------------------------------------------------------------


def test_path_mode_rewrites_the_prefix_with_the_route_itself(tmp_path: Path) -> None:
    objs = render(tmp_path, values_mod.merge(UI_ROUTE, {"ui": {"httpRoute": {"hostnames": ["spark.example.com"]}}}))
    (route,) = objs["HTTPRoute"]
    assert route["metadata"]["name"] == AppNames("etl").ui_route
    assert "annotations" not in route["metadata"]  # no controller annotation: the rewrite is Gateway API's own
    assert route["spec"] == {
        "parentRefs": PARENTS,
        "hostnames": ["spark.example.com"],
        "rules": [{
            "matches": [{"path": {"type": "PathPrefix", "value": "/etl"}}],
            "filters": [{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}],
            "backendRefs": [{"name": "etl-ui-svc", "port": 4040}],
        }],
    }
    conf = objs["Conf"][0]
    assert (conf["spark.ui.proxyBase"], conf["spark.ui.proxyRedirectUri"]) == ("/etl", "/")
    assert "Ingress" not in objs


def test_a_custom_path_is_the_proxy_base(tmp_path: Path) -> None:
    objs = render(tmp_path, values_mod.merge(UI_ROUTE, {"ui": {"httpRoute": {"path": "/spark/team-a/etl"}, "port": 4041}}))
    rule = objs["HTTPRoute"][0]["spec"]["rules"][0]
    assert rule["matches"][0]["path"]["value"] == "/spark/team-a/etl" == objs["Conf"][0]["spark.ui.proxyBase"]
    assert rule["backendRefs"] == [{"name": "etl-ui-svc", "port": 4041}]
    assert "hostnames" not in objs["HTTPRoute"][0]["spec"]  # every host name of the listener


def test_host_mode_serves_the_app_host_without_rewrite_or_proxy_base(tmp_path: Path) -> None:
    objs = render(tmp_path, values_mod.merge(UI_ROUTE, {"ui": {"httpRoute": {"mode": "host", "domain": "spark.example.com"}}}))
    (route,) = objs["HTTPRoute"]
    assert route["spec"]["hostnames"] == ["etl.spark.example.com"]
    assert route["spec"]["rules"] == [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": [{"name": "etl-ui-svc", "port": 4040}]}]
    assert "spark.ui.proxyBase" not in objs["Conf"][0]


def test_beside_the_ingress_both_serve_one_proxy_base(tmp_path: Path) -> None:
    """A migration from ingress-nginx: the Ingress and the HTTPRoute serve the same UI at the same path."""
    objs = render(tmp_path, values_mod.merge(UI_ROUTE, {"ui": {"ingress": {"enabled": True, "host": "old.example.com", "path": "/spark/etl"},
                                                               "httpRoute": {"path": "/spark/etl"}}}))
    ingress_path = objs["Ingress"][0]["spec"]["rules"][0]["http"]["paths"][0]["path"]
    route_path = objs["HTTPRoute"][0]["spec"]["rules"][0]["matches"][0]["path"]["value"]
    assert ingress_path == "/spark/etl(/|$)(.*)" and route_path == "/spark/etl" == objs["Conf"][0]["spark.ui.proxyBase"]
    assert objs["Conf"][0]["spark.ui.proxyRedirectUri"] == "/"  # relative: right for both front doors


def test_annotations_and_common_labels_reach_the_route(tmp_path: Path) -> None:
    objs = render(tmp_path, values_mod.merge(UI_ROUTE, {"ui": {"httpRoute": {"annotations": {"team": "data"}}}, "commonLabels": {"cost": "a"}}))
    meta = objs["HTTPRoute"][0]["metadata"]
    assert meta["annotations"] == {"team": "data"} and meta["labels"]["cost"] == "a" and meta["labels"]["app.kubernetes.io/component"] == "ui"


# --- GRPCRoute of the Connect server -------------------------------------------------------------------


def test_the_grpc_route_forwards_spark_connect_calls_to_the_connect_service(tmp_path: Path) -> None:
    objs = render(tmp_path, GRPC_ROUTE)
    (route,) = objs["GRPCRoute"]
    assert route["metadata"]["name"] == AppNames("etl").connect_route
    assert route["spec"] == {
        "parentRefs": PARENTS,
        "hostnames": ["connect.example.com"],
        "rules": [{"matches": [{"method": {"type": "Exact", "service": CONNECT_SERVICE}}],
                   "backendRefs": [{"name": "etl-connect-svc", "port": 15002}]}],
    }
    (service,) = [s for s in objs["Service"] if s["metadata"]["name"] == "etl-connect-svc"]
    assert service["spec"]["ports"][0]["appProtocol"] == "kubernetes.io/h2c"  # the Gateway speaks h2c to the backend


def test_both_routes_together_render_valid_objects(tmp_path: Path) -> None:
    objs = render(tmp_path, values_mod.merge(GRPC_ROUTE, values_mod.merge(UI_ROUTE, {"ui": {"httpRoute": {"hostnames": ["spark.example.com"]}}})))
    assert len(objs["HTTPRoute"]) == len(objs["GRPCRoute"]) == 1


# --- the published schemas catch what a cluster would refuse ---------------------------------------------


@pytest.mark.parametrize(("kind", "mutate", "needle"), [
    ("HTTPRoute", lambda r: r["spec"]["rules"][0]["filters"][0]["urlRewrite"]["path"].update(type="ReplacePrefix"), "ReplacePrefix"),
    ("HTTPRoute", lambda r: r["spec"]["rules"][0]["matches"][0]["path"].update(type="Regex"), "Regex"),
    ("HTTPRoute", lambda r: r["spec"]["rules"][0].update(timeout="5s"), "timeout"),
    ("HTTPRoute", lambda r: r["spec"].update(hostnames=["Spark.Example.com"]), "Spark.Example.com"),
    ("HTTPRoute", lambda r: r["spec"]["rules"][0]["backendRefs"][0].update(port=70000), "70000"),
    ("HTTPRoute", lambda r: r["metadata"].update(generateName=1), "generateName"),
    ("GRPCRoute", lambda r: r["spec"]["rules"][0]["matches"][0]["method"].update(type="Prefix"), "Prefix"),
    ("GRPCRoute", lambda r: r["spec"]["rules"][0]["matches"][0].update(path={"value": "/"}), "path"),
    ("GRPCRoute", lambda r: r["spec"]["parentRefs"][0].update(sectionName="Not_A_Name"), "Not_A_Name"),
    ("GRPCRoute", lambda r: r["spec"].update(hostnames=["*.*.example.com"]), "*.*.example.com"),
])
def test_the_strict_gateway_schemas_refuse_what_the_api_server_would(tmp_path: Path, kind: str, mutate: Any, needle: str) -> None:
    objs = render(tmp_path, values_mod.merge(GRPC_ROUTE, UI_ROUTE))
    route = copy.deepcopy(objs[kind][0])
    mutate(route)
    with pytest.raises((jsonschema.ValidationError, kubernetes_validate.ValidationError)) as caught:
        validate_strictly(route, VERSIONS[0])
    assert needle in str(caught.value)


def test_a_route_of_an_api_version_without_a_schema_is_not_waved_through(tmp_path: Path) -> None:
    route = copy.deepcopy(render(tmp_path, GRPC_ROUTE)["GRPCRoute"][0])
    route["apiVersion"] = "gateway.networking.k8s.io/v1beta1"
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        validate_strictly(route, VERSIONS[0])


@pytest.mark.parametrize(("values", "change", "complaint"), [
    ({}, lambda r: r["spec"]["rules"][0]["matches"][0]["path"].update(value="/other"), "HTTPRoute path prefix"),
    ({}, lambda r: r["spec"]["rules"][0].pop("filters"), "ReplacePrefixMatch"),
    ({}, lambda r: r["spec"]["rules"][0]["filters"][0]["urlRewrite"]["path"].update(replacePrefixMatch="/x"), "ReplacePrefixMatch"),
    ({}, lambda r: r["metadata"].update(annotations={"nginx.ingress.kubernetes.io/rewrite-target": "/$2"}), "ingress-nginx annotations"),
    ({}, lambda r: r["spec"]["rules"][0]["backendRefs"][0].update(port=4041), "UI Service port"),
    ({"ui": {"httpRoute": {"mode": "host", "domain": "spark.example.com"}}}, lambda r: r["spec"].update(hostnames=["spark.example.com"]), "<app>.<domain>"),
])
def test_the_route_invariants_catch_broken_wiring(tmp_path: Path, values: Obj, change: Any, complaint: str) -> None:
    objects, effective, _ = render_objects(tmp_path, values_mod.merge(UI_ROUTE, values), name="etl", namespace=NS)
    check_application(objects, app_name="etl", namespace=NS, values=effective)
    broken = copy.deepcopy(objects)
    change(next(o for o in broken if o["kind"] == "HTTPRoute"))
    with pytest.raises(AssertionError, match=re.escape(complaint)):
        check_application(broken, app_name="etl", namespace=NS, values=effective)


# --- NetworkPolicy: the Gateway's proxy reaches the routed ports, and only those ------------------------


def test_the_gateway_proxy_reaches_the_ui_and_the_server_and_nothing_else(tmp_path: Path) -> None:
    pols = render(tmp_path, values_mod.merge(GRPC_ROUTE, UI_ROUTE))["NetworkPolicy"]
    assert allowed(pols, GATEWAY_PROXY, DRIVER, 4040) and allowed(pols, GATEWAY_PROXY, DRIVER, 15002)
    assert not allowed(pols, GATEWAY_PROXY, DRIVER, 7078) and not allowed(pols, GATEWAY_PROXY, pod(NS, app_name="etl", spark_role="executor"), 7079)
    assert not allowed(pols, pod("ingress-nginx", app="ingress-nginx"), DRIVER, 4040)  # no Ingress, no ingress controller
    assert allowed(pols, NEIGHBOUR, DRIVER, 15002) and not allowed(pols, NEIGHBOUR, DRIVER, 4040)


def test_without_routes_the_gateway_reaches_nothing(tmp_path: Path) -> None:
    values = {"connect": {"enabled": True, "grpcRoute": {"gatewayPeers": PEERS}}, "ui": {"httpRoute": {"gatewayPeers": PEERS}}}
    pols = render(tmp_path, values)["NetworkPolicy"]
    assert not allowed(pols, GATEWAY_PROXY, DRIVER, 4040) and not allowed(pols, GATEWAY_PROXY, DRIVER, 15002)


# --- the chart's table of kinds (pre-flight's permissions, delete's sweep) -------------------------------


def test_route_kinds_are_in_the_table_with_their_api(tmp_path: Path) -> None:
    for kind, plural in (("HTTPRoute", "httproutes"), ("GRPCRoute", "grpcroutes")):
        entry = CHART_KINDS[kind]
        assert (entry.group, entry.version, entry.plural, entry.namespaced) == ("gateway.networking.k8s.io", "v1", plural, True)
        assert entry.path("team-a") == f"/apis/gateway.networking.k8s.io/v1/namespaces/team-a/{plural}"
    objects, _, _ = render_objects(tmp_path, values_mod.merge(GRPC_ROUTE, UI_ROUTE), name="etl", namespace=NS)
    needed = access_needed(objects)
    assert ("create", "gateway.networking.k8s.io", "httproutes") in needed and ("create", "gateway.networking.k8s.io", "grpcroutes") in needed
