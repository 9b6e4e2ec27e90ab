"""Connect mode of the chart (connect.enabled): the driver runs Spark Connect's server, with its gRPC
port on the container, a Service, probes, a NetworkPolicy rule, dynamic allocation from zero, an
optional token from a Secret; and the in-cluster notebook recipe of docs/notebooks.md, rendered and
checked as a cluster would take it."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from sparkhelm.errors import UserError
from sparkhelm.spec import layers as values_mod
from sparkhelm.spec.naming import AppNames
from tests.conftest import CHART, ROOT, VALUES_DIR, render_objects
from tests.invariants import CONNECT_SERVER, check_application, parse_spark_defaults, validate_strictly
from tests.netpol import allowed, external, pod
from tests.pss import restricted_violations

Obj = dict[str, Any]
NS = "team-a"
CONNECT = {"connect": {"enabled": True}}
SERVER = pod(NS, app_name="nb", spark_role="driver")
NEIGHBOUR = pod(NS, app="jupyter")
OTHER_NAMESPACE = pod("notebooks", app="jupyter")
EXECUTOR = pod(NS, app_name="nb", spark_role="executor")


def render(tmp_path: Path, extra: Obj | None = None, name: str = "nb") -> dict[str, list[Obj]]:
    """Objects by kind (plus 'Conf', the parsed spark-defaults.conf), every wiring invariant checked."""
    objects, effective, _ = render_objects(tmp_path, extra or {}, name=name, namespace=NS)
    parts = check_application(objects, app_name=name, namespace=NS, values=effective)
    by_kind: dict[str, list[Obj]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    by_kind["Conf"] = [parts["conf"]]
    return by_kind


def driver_container(objs: dict[str, list[Obj]]) -> Obj:
    container: Obj = objs["Pod"][0]["spec"]["containers"][0]
    return container


def raw_render(values: Obj, release: str = "nb") -> dict[str, str]:
    """A plain Helm render of the chart (no sparkhelm): template path -> text."""
    with helm_python.Chart.load(str(CHART)) as chart:
        return chart.render(values, name=release, namespace=NS)


def render_error(tmp_path: Path, values: Obj) -> str:
    with pytest.raises(UserError) as caught:
        render_objects(tmp_path, values, name="nb", namespace=NS)
    return str(caught.value)


# --- the server --------------------------------------------------------------------------------------


def test_without_connect_the_driver_runs_the_application(tmp_path: Path) -> None:
    objs = render(tmp_path)
    container = driver_container(objs)
    assert container["args"][3:] == ["/opt/spark/examples/src/main/python/pi.py"]
    assert not {"startupProbe", "readinessProbe", "livenessProbe"} & set(container)
    assert objs["Pod"][0]["spec"]["restartPolicy"] == "Never"
    assert [s["metadata"]["name"] for s in objs["Service"]] == ["nb-driver-svc", "nb-ui-svc"]
    assert not any(key.startswith("spark.connect.") for key in objs["Conf"][0])


def test_the_driver_runs_the_connect_server_on_its_port(tmp_path: Path) -> None:
    objs = render(tmp_path, CONNECT)
    container = driver_container(objs)
    assert container["args"] == ["/opt/spark/bin/spark-submit", "--conf", "spark.driver.bindAddress=$(SPARK_DRIVER_BIND_ADDRESS)",
                                 "--class", CONNECT_SERVER]
    env = {e["name"]: e for e in container["env"]}
    assert env["SPARK_CONNECT_MODE"] == {"name": "SPARK_CONNECT_MODE", "value": "0"}
    assert "SPARK_CONNECT_AUTHENTICATE_TOKEN" not in env
    assert {"name": "spark-connect", "containerPort": 15002, "protocol": "TCP"} in container["ports"]
    conf = objs["Conf"][0]
    assert (conf["spark.connect.grpc.binding.port"], conf["spark.connect.grpc.port.maxRetries"]) == ("15002", "0")
    assert "spark.connect.grpc.binding.address" not in conf  # every address: Service, probes, port-forward
    assert objs["Pod"][0]["spec"]["restartPolicy"] == "Always"
    (service,) = [s for s in objs["Service"] if s["metadata"]["name"] == AppNames("nb").connect_service]
    assert service["spec"]["type"] == "ClusterIP" and "clusterIP" not in service["spec"]
    assert service["spec"]["ports"] == [{"name": "grpc", "port": 15002, "targetPort": 15002, "protocol": "TCP", "appProtocol": "kubernetes.io/h2c"}]
    assert service["spec"]["selector"] == {"app-name": "nb", "spark-role": "driver"}


def test_probes_are_tcp_on_the_grpc_port_never_grpc(tmp_path: Path) -> None:
    """Spark Connect 4.3 registers no gRPC health service: a grpc probe would never pass."""
    container = driver_container(render(tmp_path, CONNECT))
    assert container["startupProbe"] == {"tcpSocket": {"port": 15002}, "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 120}
    assert container["readinessProbe"] == {"tcpSocket": {"port": 15002}, "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3}
    assert container["livenessProbe"] == {"tcpSocket": {"port": 15002}, "periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 3}
    tuned = driver_container(render(tmp_path, {"connect": {"enabled": True, "port": 16000, "probes": {
        "liveness": {"enabled": False}, "startup": {"initialDelaySeconds": 10, "failureThreshold": 30}}}}))
    assert "livenessProbe" not in tuned
    assert tuned["startupProbe"] == {"tcpSocket": {"port": 16000}, "initialDelaySeconds": 10, "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 30}
    assert tuned["readinessProbe"]["tcpSocket"] == {"port": 16000}


def test_the_application_file_class_and_arguments_are_not_run_but_dependencies_reach_the_server(tmp_path: Path) -> None:
    objs = render(tmp_path, {**CONNECT, "app": {
        "mainApplicationFile": "s3a://jobs/etl.py", "mainClass": "com.example.Etl", "arguments": ["--day", "1"],
        "jars": ["local:///opt/jars/udfs.jar"], "packages": ["io.delta:delta-spark_2.13:4.0.0"]}})
    args = driver_container(objs)["args"]
    assert args[3:] == ["--class", CONNECT_SERVER]
    assert not {"s3a://jobs/etl.py", "com.example.Etl", "--day"} & set(args)
    conf = objs["Conf"][0]
    assert conf["spark.jars"] == "local:///opt/jars/udfs.jar" and conf["spark.jars.packages"] == "io.delta:delta-spark_2.13:4.0.0"
    notes = raw_render({**CONNECT, "app": {"mainClass": "com.example.Etl"}})["spark-client-app/templates/NOTES.txt"]
    assert "Not run:      app.mainApplicationFile, app.mainClass and app.arguments" in notes


def test_dynamic_allocation_from_zero_by_default_and_it_can_be_turned_off(tmp_path: Path) -> None:
    conf = render(tmp_path, CONNECT)["Conf"][0]
    assert {k: conf[k] for k in conf if k.startswith(("spark.dynamicAllocation.", "spark.executor.instances"))} == {
        "spark.dynamicAllocation.enabled": "true", "spark.dynamicAllocation.shuffleTracking.enabled": "true",
        "spark.dynamicAllocation.minExecutors": "0", "spark.dynamicAllocation.maxExecutors": "10",
        "spark.dynamicAllocation.initialExecutors": "0", "spark.executor.instances": "0",
        "spark.dynamicAllocation.executorIdleTimeout": "60s",
    }
    warm = render(tmp_path, {"connect": {"enabled": True, "idleTimeout": "5min"}, "dynamicAllocation": {"minExecutors": 2, "maxExecutors": 4}})["Conf"][0]
    assert (warm["spark.executor.instances"], warm["spark.dynamicAllocation.initialExecutors"], warm["spark.dynamicAllocation.executorIdleTimeout"]) == ("2", "2", "5min")
    static = render(tmp_path, {"connect": {"enabled": True, "dynamicAllocation": {"enabled": False}}, "executor": {"instances": 3}})["Conf"][0]
    assert static["spark.executor.instances"] == "3"
    assert not any(k.startswith("spark.dynamicAllocation.") for k in static)
    # dynamicAllocation.enabled keeps it on, as for a batch application
    both = render(tmp_path, {"connect": {"enabled": True, "dynamicAllocation": {"enabled": False}}, "dynamicAllocation": {"enabled": True}})["Conf"][0]
    assert both["spark.dynamicAllocation.enabled"] == "true" and both["spark.executor.instances"] == "0"


def test_batch_applications_keep_their_dynamic_allocation_and_idle_timeout(tmp_path: Path) -> None:
    """connect.* changes nothing without connect.enabled, and Spark's idle timeout stays the user's."""
    conf = render(tmp_path, {"dynamicAllocation": {"enabled": True}, "sparkConf": {"spark.dynamicAllocation.executorIdleTimeout": "30s"},
                             "connect": {"idleTimeout": "5min", "dynamicAllocation": {"enabled": True}}})["Conf"][0]
    assert conf["spark.dynamicAllocation.executorIdleTimeout"] == "30s" and conf["spark.executor.instances"] == "2"
    assert "spark.dynamicAllocation.enabled" not in render(tmp_path, {"connect": {"dynamicAllocation": {"enabled": True}}})["Conf"][0]


@pytest.mark.parametrize(("values", "policy"), [
    ({}, "Always"),
    ({"connect": {"restartPolicy": "OnFailure"}}, "OnFailure"),
    ({"connect": {"restartPolicy": "Never"}}, "Never"),
    ({"driver": {"restartPolicy": "OnFailure"}, "connect": {"restartPolicy": "Never"}}, "Never"),
])
def test_restart_policy_of_the_server(tmp_path: Path, values: Obj, policy: str) -> None:
    objs = render(tmp_path, values_mod.merge(CONNECT, values))
    assert objs["Pod"][0]["spec"]["restartPolicy"] == policy


def test_the_token_comes_from_a_secret_and_never_from_the_configmap(tmp_path: Path) -> None:
    objs = render(tmp_path, {"connect": {"enabled": True, "authentication": {"secretName": "connect-token", "secretKey": "value"}}})
    env = {e["name"]: e for e in driver_container(objs)["env"]}
    assert env["SPARK_CONNECT_AUTHENTICATE_TOKEN"]["valueFrom"] == {"secretKeyRef": {"name": "connect-token", "key": "value"}}
    assert "spark.connect.authenticate.token" not in objs["Conf"][0] and "connect-token" not in yaml.safe_dump(objs["ConfigMap"])
    message = render_error(tmp_path, {**CONNECT, "sparkConf": {"spark.connect.authenticate.token": "s3cret"}})
    assert "sparkConf.spark.connect.authenticate.token is set by the chart" in message and "connect.authentication.secretName" in message


@pytest.mark.parametrize(("key", "instead"), [
    ("spark.connect.grpc.binding.port", "connect.port"),
    ("spark.connect.grpc.binding.address", "listens on every address"),
    ("spark.connect.grpc.port.maxRetries", "binds connect.port or fails"),
])
def test_connect_wiring_keys_are_refused_in_spark_conf(tmp_path: Path, key: str, instead: str) -> None:
    message = render_error(tmp_path, {**CONNECT, "sparkConf": {key: "1"}})
    assert f"sparkConf.{key} is set by the chart" in message and instead in message and "\n" not in message


def test_idle_timeout_is_refused_in_spark_conf_in_connect_mode_only(tmp_path: Path) -> None:
    values = {"sparkConf": {"spark.dynamicAllocation.executorIdleTimeout": "30s"}}
    message = render_error(tmp_path, {**CONNECT, **values})
    assert message.endswith("is set by the chart in connect mode: remove it and set connect.idleTimeout instead")
    render(tmp_path, values)  # a batch application may set it
    render(tmp_path, {"connect": {"enabled": True, "dynamicAllocation": {"enabled": False}}, **values})  # no dynamic allocation: Spark ignores it


@pytest.mark.parametrize(("service", "allow_from", "expected"), [
    ({"type": "NodePort", "nodePort": 31002}, [{"ipBlock": {"cidr": "10.20.0.0/16"}}], {"type": "NodePort", "nodePort": 31002}),
    ({"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.20.0.0/16"], "annotations": {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}},
     [{"ipBlock": {"cidr": "10.20.0.0/16"}}], {"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.20.0.0/16"]}),
])
def test_service_types(tmp_path: Path, service: Obj, allow_from: list[Obj], expected: Obj) -> None:
    objs = render(tmp_path, {"connect": {"enabled": True, "service": service, "allowFrom": allow_from}})
    (svc,) = [s for s in objs["Service"] if s["metadata"]["name"] == "nb-connect-svc"]
    assert svc["spec"]["type"] == expected["type"]
    assert svc["spec"].get("loadBalancerSourceRanges") == expected.get("loadBalancerSourceRanges")
    assert svc["spec"]["ports"][0].get("nodePort") == expected.get("nodePort")
    assert svc["metadata"].get("annotations", {}) == service.get("annotations", {})
    policies = objs["NetworkPolicy"]
    assert allowed(policies, external("10.20.3.4"), SERVER, 15002) and not allowed(policies, external("203.0.113.9"), SERVER, 15002)


def test_notes_tell_how_to_connect(tmp_path: Path) -> None:
    notes = raw_render(CONNECT)["spark-client-app/templates/NOTES.txt"]
    assert notes.startswith("Spark Connect server nb started in namespace team-a")
    assert "In cluster:   sc://nb-connect-svc.team-a.svc:15002" in notes
    assert "from pods of namespace team-a (NetworkPolicy)" in notes
    assert "From here:    sparkhelm connect nb -n team-a" in notes
    assert "kubectl port-forward -n team-a svc/nb-connect-svc 15002:15002" in notes and "then sc://localhost:15002\n" in notes
    assert "restartPolicy Always restarts the driver container in the same pod" in notes
    token = raw_render({"connect": {"enabled": True, "authentication": {"secretName": "t"}, "allowFrom": [{"podSelector": {}}]}})
    notes = token["spark-client-app/templates/NOTES.txt"]
    assert "then sc://localhost:15002/;token=<token>" in notes and "the peers of connect.allowFrom" in notes
    batch = raw_render({})["spark-client-app/templates/NOTES.txt"]
    assert "sc://" not in batch and batch.startswith("Spark application nb submitted")


def _break(objects: list[Obj], kind: str, name: str, change: Any) -> list[Obj]:
    broken = copy.deepcopy(objects)
    change(next(o for o in broken if o["kind"] == kind and o["metadata"]["name"] == name))
    return broken


@pytest.mark.parametrize(("kind", "name", "change", "complaint"), [
    ("Service", "nb-connect-svc", lambda s: s["spec"]["ports"][0].update(targetPort=15003), "does not route connect.port"),
    ("Service", "nb-connect-svc", lambda s: s["spec"]["selector"].pop("spark-role"), "does not select the driver (only)"),
    ("Service", "nb-connect-svc", lambda s: s["spec"].update(publishNotReadyAddresses=True), "not ready"),
    ("Pod", "nb-driver", lambda p: p["spec"]["containers"][0].update(readinessProbe={"grpc": {"port": 15002}}), "not a TCP probe"),
    ("Pod", "nb-driver", lambda p: p["spec"]["containers"][0].pop("readinessProbe"), "no readiness probe"),
    ("Pod", "nb-driver", lambda p: p["spec"]["containers"][0]["args"].append("/opt/app.py"), "not --class"),
    ("Pod", "nb-driver", lambda p: p["spec"].update(restartPolicy="OnFailure"), "restartPolicy"),
    ("ConfigMap", "nb-cm", lambda c: c["data"].update({"spark-defaults.conf": c["data"]["spark-defaults.conf"].replace(
        "spark.connect.grpc.binding.port                  15002", "spark.connect.grpc.binding.port                  15003")}), "binding.port"),
    ("GRPCRoute", "nb-connect-route", lambda r: r["spec"]["rules"][0]["backendRefs"][0].update(name="nb-ui-svc"), "not the Connect Service port"),
    ("GRPCRoute", "nb-connect-route", lambda r: r["spec"]["rules"][0].pop("matches"), "Spark Connect's gRPC service"),
])
def test_the_connect_invariants_catch_broken_wiring(tmp_path: Path, kind: str, name: str, change: Any, complaint: str) -> None:
    gateway = {"parentRefs": [{"name": "gw"}], "gatewayPeers": [{"namespaceSelector": {}}]}
    objects, effective, _ = render_objects(tmp_path, {"connect": {"enabled": True, "grpcRoute": {"enabled": True, **gateway}}}, name="nb", namespace=NS)
    check_application(objects, app_name="nb", namespace=NS, values=effective)
    with pytest.raises(AssertionError, match=re.escape(complaint)):
        check_application(_break(objects, kind, name, change), app_name="nb", namespace=NS, values=effective)


# --- NetworkPolicy flows -----------------------------------------------------------------------------


def policies(tmp_path: Path, extra: Obj) -> list[Obj]:
    return render(tmp_path, extra).get("NetworkPolicy", [])


def test_same_namespace_clients_reach_the_server_and_nothing_else(tmp_path: Path) -> None:
    pols = policies(tmp_path, CONNECT)
    assert allowed(pols, NEIGHBOUR, SERVER, 15002)
    assert not allowed(pols, OTHER_NAMESPACE, SERVER, 15002)
    assert not allowed(pols, pod("ingress-nginx", app="ingress-nginx"), SERVER, 15002)
    assert not allowed(pols, external("203.0.113.9"), SERVER, 15002)
    for port in (7078, 7079, 4040, 15003):
        assert not allowed(pols, NEIGHBOUR, SERVER, port), port
    assert allowed(pols, EXECUTOR, SERVER, 7078) and not allowed(pols, NEIGHBOUR, EXECUTOR, 15002)
    assert not allowed(policies(tmp_path, {}), NEIGHBOUR, SERVER, 15002)  # batch: no rule for 15002


def test_allow_from_narrows_and_widens_who_connects(tmp_path: Path) -> None:
    narrow = policies(tmp_path, {"connect": {"enabled": True, "allowFrom": [{"podSelector": {"matchLabels": {"app": "jupyter"}}}]}})
    assert allowed(narrow, NEIGHBOUR, SERVER, 15002)
    assert not allowed(narrow, pod(NS, app="cron"), SERVER, 15002) and not allowed(narrow, OTHER_NAMESPACE, SERVER, 15002)
    other = policies(tmp_path, {"connect": {"enabled": True, "allowFrom": [
        {"namespaceSelector": {"matchLabels": {"team": "data"}}, "podSelector": {"matchLabels": {"app": "jupyter"}}}]}})
    labelled = pod("notebooks", namespace_labels={"team": "data"}, app="jupyter")
    assert allowed(other, labelled, SERVER, 15002)
    assert not allowed(other, OTHER_NAMESPACE, SERVER, 15002)  # namespace without the label
    assert not allowed(other, pod("notebooks", namespace_labels={"team": "data"}, app="cron"), SERVER, 15002)
    assert not allowed(other, NEIGHBOUR, SERVER, 15002)  # the default is replaced, not extended


def test_the_connect_port_follows_connect_port(tmp_path: Path) -> None:
    pols = policies(tmp_path, {"connect": {"enabled": True, "port": 16000}})
    assert allowed(pols, NEIGHBOUR, SERVER, 16000) and not allowed(pols, NEIGHBOUR, SERVER, 15002)


def test_no_network_policy_leaves_the_port_open(tmp_path: Path) -> None:
    pols = policies(tmp_path, {"connect": {"enabled": True}, "networkPolicy": {"enabled": False}})
    assert pols == [] and allowed(pols, OTHER_NAMESPACE, SERVER, 15002)


# --- example values ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [VALUES_DIR / "connect.yaml", VALUES_DIR / "connect-gateway.yaml", CHART / "ci" / "connect-values.yaml"],
                         ids=lambda p: p.name)
def test_connect_examples_run_a_server(tmp_path: Path, path: Path) -> None:
    objects, effective, _ = render_objects(tmp_path, {}, name="example-app", namespace=NS, files=[path])
    parts = check_application(objects, app_name="example-app", namespace=NS, values=effective)
    assert parts["pod"]["spec"]["containers"][0]["args"][-1] == CONNECT_SERVER
    assert parse_spark_defaults(parts["configmap"]["data"]["spark-defaults.conf"])["spark.dynamicAllocation.enabled"] == "true"


# --- docs/notebooks.md: the in-cluster recipe ----------------------------------------------------------

NOTEBOOKS = ROOT / "docs" / "notebooks.md"


def doc_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", NOTEBOOKS.read_text(), re.S)


def doc_manifests(kind: str) -> list[Obj]:
    found = [yaml.safe_load(block) for block in doc_blocks("yaml")]
    return [doc for doc in found if isinstance(doc, dict) and doc.get("kind") == kind]


def doc_values() -> list[Obj]:
    return [doc for doc in (yaml.safe_load(b) for b in doc_blocks("yaml")) if isinstance(doc, dict) and "connect" in doc]


def test_the_notebook_pod_of_the_docs_is_valid_and_restricted() -> None:
    (notebook,) = doc_manifests("Pod")
    for version in ("1.29", kubernetes_validate.utils.latest_version()):
        validate_strictly(notebook, version)
    assert restricted_violations(notebook) == []
    (egress,) = doc_manifests("NetworkPolicy")
    validate_strictly(egress, "1.29")


def test_the_docs_recipe_connects_the_notebook_pod_and_no_other(tmp_path: Path) -> None:
    """The values of values/connect.yaml (quoted in the docs) admit the docs' Jupyter pod, by its labels."""
    (notebook,) = doc_manifests("Pod")
    in_namespace, other_namespace = doc_values()
    assert in_namespace == {"connect": {"enabled": True, "allowFrom": yaml.safe_load((VALUES_DIR / "connect.yaml").read_text())["connect"]["allowFrom"]}}
    objects, _, _ = render_objects(tmp_path, {}, name="notebooks", namespace=NS, files=[VALUES_DIR / "connect.yaml"])
    pols = [o for o in objects if o["kind"] == "NetworkPolicy"]
    server = pod(NS, app_name="notebooks", spark_role="driver")
    jupyter = pod(notebook["metadata"]["namespace"], **notebook["metadata"]["labels"])
    assert allowed(pols, jupyter, server, 15002)
    assert not any(allowed(pols, jupyter, server, port) for port in (7078, 7079, 4040))
    assert not allowed(pols, pod(NS, app="other"), server, 15002)
    # the URL the pod is given is the Service the chart renders
    url = next(e["value"] for e in notebook["spec"]["containers"][0]["env"] if e["name"] == "SPARK_REMOTE")
    service = next(o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == AppNames("notebooks").connect_service)
    assert url == f"sc://{service['metadata']['name']}.{NS}.svc:{service['spec']['ports'][0]['port']}"
    # notebooks in another namespace: the second values block, with the docs' egress policy on their side
    (egress,) = doc_manifests("NetworkPolicy")
    objects, _, _ = render_objects(tmp_path, other_namespace, name="notebooks", namespace=NS)
    pols = [o for o in objects if o["kind"] == "NetworkPolicy"] + [egress]
    remote = pod("notebooks", app="jupyter")
    assert allowed(pols, remote, server, 15002) and allowed(pols, remote, pod("kube-system", k8s_app="kube-dns"), 53, "UDP")
    assert not allowed(pols, remote, server, 4040) and not allowed(pols, pod("notebooks", app="other"), server, 15002)
    assert not allowed(pols, remote, external("203.0.113.9"), 443)  # the egress policy confines the notebooks


def test_the_docs_urls_name_the_rendered_service() -> None:
    text = NOTEBOOKS.read_text()
    names = AppNames("notebooks")
    assert f"sc://{names.connect_service}.{NS}.svc:15002" in text
    assert f"svc/{names.connect_service} 15002:15002" in text
    assert f"pod/{names.driver_pod}" in text
