"""The chart's cross-field rules (templates/_preflight.tpl): values each valid on their own that would
install and fail later. Every rule is rendered twice: broken (the one-line error names the keys and
the fix) and with a valid neighbour (it renders)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import helm_python
import pytest

from sparkhelm.errors import UserError
from tests.conftest import CHART, render_objects
from tests.tools import tool

Obj = dict[str, Any]

#: A Gateway for the routes: the parent they attach to, and where its proxy runs (for the NetworkPolicy).
GATEWAY: Obj = {"parentRefs": [{"name": "shared", "namespace": "gateway-system"}],
                "gatewayPeers": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway-system"}}}]}

#: (id, values that break a rule, words the error must contain, a valid neighbour of those values)
RULES: list[tuple[str, Obj, list[str], Obj]] = [
    ("min-above-max",
     {"dynamicAllocation": {"enabled": True, "minExecutors": 5, "maxExecutors": 3}},
     ["dynamicAllocation.minExecutors (5)", "dynamicAllocation.maxExecutors (3)", "lower minExecutors or raise maxExecutors"],
     {"dynamicAllocation": {"enabled": True, "minExecutors": 3, "maxExecutors": 3}}),
    ("min-above-max-matters-only-with-dynamic-allocation",
     {"dynamicAllocation": {"enabled": True, "minExecutors": 4, "maxExecutors": 2}},
     ["dynamicAllocation.minExecutors (4)"],
     {"dynamicAllocation": {"enabled": False, "minExecutors": 4, "maxExecutors": 2}}),
    ("no-executors-without-dynamic-allocation",
     {"executor": {"instances": 0}},
     ["executor.instances is 0", "dynamicAllocation.enabled=true"],
     {"executor": {"instances": 0}, "dynamicAllocation": {"enabled": True, "minExecutors": 0, "maxExecutors": 4}}),
    ("task-cpus-above-executor-cores",
     {"executor": {"cores": 2}, "sparkConf": {"spark.task.cpus": 4}},
     ["sparkConf.spark.task.cpus (4)", "executor.cores (2)", "raise executor.cores"],
     {"executor": {"cores": 4}, "sparkConf": {"spark.task.cpus": 4}}),
    ("request-above-limit",
     {"executor": {"requestCores": "1500m", "limitCores": 1}},
     ["executor.requestCores (1500m)", "executor.limitCores (1)", "raise executor.limitCores"],
     {"executor": {"requestCores": "1000m", "limitCores": 1}}),
    ("cores-above-limit",
     {"executor": {"cores": 2, "limitCores": "1.5"}},
     ["executor.cores (2)", "executor.limitCores (1.5)"],
     {"executor": {"cores": 2, "limitCores": "2000m"}}),
    ("driver-port-equals-ui-port",
     {"driver": {"port": 4040}},
     ["driver.port and ui.port are both 4040", "three different values"],
     {"driver": {"port": 4041}}),
    ("block-manager-port-equals-driver-port",
     {"driver": {"port": 7100, "blockManagerPort": 7100}},
     ["driver.blockManagerPort and driver.port are both 7100"],
     {"driver": {"port": 7100, "blockManagerPort": 7101}}),
    ("node-port-on-cluster-ip",
     {"ui": {"service": {"type": "ClusterIP", "nodePort": 30440}}},
     ["ui.service.nodePort (30440)", "ui.service.type is ClusterIP", "set ui.service.type=NodePort"],
     {"ui": {"service": {"type": "NodePort", "nodePort": 30440}}}),
    ("role-bound-to-default-account",
     {"serviceAccount": {"create": False}, "rbac": {"create": True}},
     ["rbac.create", "default ServiceAccount", "set serviceAccount.name"],
     {"serviceAccount": {"create": False, "name": "spark-driver"}, "rbac": {"create": True}}),
    ("one-name-for-both-service-accounts",
     {"serviceAccount": {"name": "spark"}, "executor": {"serviceAccount": {"name": "spark"}}},
     ["serviceAccount.name and executor.serviceAccount.name are both \"spark\"", "different names"],
     {"serviceAccount": {"name": "spark"}, "executor": {"serviceAccount": {"name": "spark-exec"}}}),
    ("ingress-blocked-by-network-policy",
     {"ui": {"ingress": {"enabled": True}}, "networkPolicy": {"ingressControllerPeers": []}},
     ["networkPolicy.ingressControllerPeers", "networkPolicy.enabled=false"],
     {"ui": {"ingress": {"enabled": True}}, "networkPolicy": {"ingressControllerPeers": [], "uiPeers": [{"podSelector": {}}]}}),
    ("two-volumes-on-one-executor-path",
     {"executor": {"volumes": [{"name": "data", "emptyDir": {}}], "volumeMounts": [{"name": "data", "mountPath": "/tmp"}]}},
     ["scratch.mountPaths[0] and executor.volumeMounts[0] both mount /tmp in the executor container"],
     {"executor": {"volumes": [{"name": "data", "emptyDir": {}}], "volumeMounts": [{"name": "data", "mountPath": "/data"}]}}),
    ("secret-file-on-the-spark-conf-dir",
     {"secrets": {"files": [{"secretName": "s", "mountPath": "/etc/spark/conf"}]}},
     ["the Spark configuration and secrets.files[0].mountPath both mount /etc/spark/conf in the driver container"],
     {"secrets": {"files": [{"secretName": "s", "mountPath": "/etc/spark/secrets"}]}}),
    ("user-volume-named-like-a-chart-volume",
     {"driver": {"volumes": [{"name": "scratch-0", "emptyDir": {}}]}},
     ["driver.volumes[0] is named \"scratch-0\"", "scratch.mountPaths[0]", "rename it"],
     {"driver": {"volumes": [{"name": "scratch-extra", "emptyDir": {}}]}}),
    ("connect-port-equals-ui-port",
     {"connect": {"enabled": True, "port": 4040}},
     ["connect.port and ui.port are both 4040", "ui.port and connect.port four different values"],
     {"connect": {"enabled": True, "port": 4041}}),
    ("connect-port-matters-only-in-connect-mode",
     {"connect": {"enabled": True, "port": 7078}},
     ["connect.port and driver.port are both 7078"],
     {"connect": {"enabled": False, "port": 7078}}),
    ("no-executors-without-dynamic-allocation-in-connect-mode",
     {"connect": {"enabled": True, "dynamicAllocation": {"enabled": False}}, "executor": {"instances": 0}},
     ["executor.instances is 0 without dynamic allocation"],
     {"connect": {"enabled": True}, "executor": {"instances": 0}}),
    ("grpc-route-without-connect-mode",
     {"connect": {"grpcRoute": {"enabled": True, **GATEWAY}}},
     ["connect.grpcRoute.enabled needs connect.enabled=true"],
     {"connect": {"enabled": True, "grpcRoute": {"enabled": True, **GATEWAY}}}),
    ("grpc-route-blocked-by-network-policy",
     {"connect": {"enabled": True, "grpcRoute": {"enabled": True, "parentRefs": GATEWAY["parentRefs"]}}},
     ["connect.grpcRoute.enabled with networkPolicy.enabled needs connect.grpcRoute.gatewayPeers", "networkPolicy.enabled=false"],
     {"connect": {"enabled": True, "grpcRoute": {"enabled": True, "parentRefs": GATEWAY["parentRefs"]}}, "networkPolicy": {"enabled": False}}),
    ("connect-node-port-on-cluster-ip",
     {"connect": {"enabled": True, "service": {"nodePort": 31002}}},
     ["connect.service.nodePort (31002)", "connect.service.type is ClusterIP", "set connect.service.type=NodePort"],
     {"connect": {"enabled": True, "service": {"type": "NodePort", "nodePort": 31002}, "allowFrom": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}}),
    ("connect-load-balancer-without-allow-from",
     {"connect": {"enabled": True, "service": {"type": "LoadBalancer"}}},
     ["connect.service.type LoadBalancer with networkPolicy.enabled needs connect.allowFrom", "ipBlock"],
     {"connect": {"enabled": True, "service": {"type": "LoadBalancer"}, "allowFrom": [{"ipBlock": {"cidr": "10.20.0.0/16"}}]}}),
    ("idle-timeout-in-spark-conf-in-connect-mode",
     {"connect": {"enabled": True}, "sparkConf": {"spark.dynamicAllocation.executorIdleTimeout": "30s"}},
     ["sparkConf.spark.dynamicAllocation.executorIdleTimeout is set by the chart in connect mode", "connect.idleTimeout"],
     {"connect": {"enabled": True, "idleTimeout": "30s"}}),
    ("daemon-memory-in-spark-env-in-connect-mode",
     {"connect": {"enabled": True}, "sparkEnv": "export PYSPARK_PYTHON=python3\nexport SPARK_DAEMON_MEMORY=4g\n"},
     ["sparkEnv line 2 sets SPARK_DAEMON_MEMORY", "set driver.memory"],
     {"sparkEnv": "export PYSPARK_PYTHON=python3\nexport SPARK_DAEMON_MEMORY=4g\n"}),
    ("daemon-memory-in-driver-env-in-connect-mode",
     {"connect": {"enabled": True}, "driver": {"env": [{"name": "SPARK_DAEMON_MEMORY", "value": "4g"}]}},
     ["driver.env[0] sets SPARK_DAEMON_MEMORY", "set driver.memory"],
     {"connect": {"enabled": True}, "driver": {"memory": "4g"}}),
    ("http-route-blocked-by-network-policy",
     {"ui": {"httpRoute": {"enabled": True, "parentRefs": GATEWAY["parentRefs"]}}},
     ["ui.httpRoute.enabled with networkPolicy.enabled needs ui.httpRoute.gatewayPeers", "networkPolicy.enabled=false"],
     {"ui": {"httpRoute": {"enabled": True, **GATEWAY}}}),
    ("http-route-host-mode-without-domain",
     {"ui": {"httpRoute": {"enabled": True, "mode": "host", **GATEWAY}}},
     ["ui.httpRoute.domain is required when ui.httpRoute.mode is host"],
     {"ui": {"httpRoute": {"enabled": True, "mode": "host", "domain": "spark.example.com", **GATEWAY}}}),
    ("ingress-and-route-modes-differ",
     {"ui": {"ingress": {"enabled": True}, "httpRoute": {"enabled": True, "mode": "host", "domain": "spark.example.com", **GATEWAY}}},
     ["ui.ingress.mode (path) and ui.httpRoute.mode (host) differ", "same mode"],
     {"ui": {"ingress": {"enabled": True, "mode": "host", "domain": "spark.example.com"},
             "httpRoute": {"enabled": True, "mode": "host", "domain": "spark.example.com", **GATEWAY}}}),
    ("ingress-and-route-paths-differ",
     {"ui": {"ingress": {"enabled": True, "path": "/spark/a"}, "httpRoute": {"enabled": True, "path": "/spark/b", **GATEWAY}}},
     ["ui.ingress.path (/spark/a) and ui.httpRoute.path (/spark/b) differ", "same path"],
     {"ui": {"ingress": {"enabled": True, "path": "/spark/a"}, "httpRoute": {"enabled": True, "path": "/spark/a", **GATEWAY}}}),
    ("routes-share-a-host-name",
     {"ui": {"httpRoute": {"enabled": True, "hostnames": ["spark.example.com"], **GATEWAY}},
      "connect": {"enabled": True, "grpcRoute": {"enabled": True, "hostnames": ["spark.example.com"], **GATEWAY}}},
     ["connect.grpcRoute.hostnames and ui.httpRoute.hostnames both hold spark.example.com", "its own host name"],
     {"ui": {"httpRoute": {"enabled": True, "hostnames": ["spark.example.com"], **GATEWAY}},
      "connect": {"enabled": True, "grpcRoute": {"enabled": True, "hostnames": ["connect.example.com"], **GATEWAY}}}),
    ("both-node-affinities",
     {"executor": {"nodeAffinity": {"values": ["a"]}, "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}}},
     ["executor.nodeAffinity.values and executor.affinity.nodeAffinity are both set"],
     {"executor": {"nodeAffinity": {"values": ["a"]}, "affinity": {"podAntiAffinity": {}}}}),
    ("queue-nobody-reads",
     {"scheduler": {"queue": "team-a"}},
     ["scheduler.queue (team-a) is set but nothing reads it", "scheduler.kueue.enabled=true"],
     {"scheduler": {"queue": "team-a", "kueue": {"enabled": True}}}),
    ("volcano-queue-without-its-podgroup",
     {"scheduler": {"name": "volcano", "queue": "team-a"}, "volcano": {"podGroup": {"enabled": False}}},
     ["scheduler.queue (team-a) is set but nothing reads it", "volcano.podGroup.enabled"],
     {"scheduler": {"name": "volcano", "queue": "team-a"}}),
    ("kueue-and-volcano",
     {"scheduler": {"name": "volcano", "queue": "q", "kueue": {"enabled": True}}},
     ["scheduler.name=volcano and scheduler.kueue.enabled both queue the application", "use one of them"],
     {"scheduler": {"queue": "q", "kueue": {"enabled": True}}}),
    ("kueue-without-a-local-queue",
     {"scheduler": {"kueue": {"enabled": True}}},
     ["scheduler.kueue.enabled needs scheduler.queue", "LocalQueue"],
     {"scheduler": {"queue": "team-a", "kueue": {"enabled": True}}}),
    ("kueue-pod-group-with-dynamic-allocation",
     {"scheduler": {"queue": "q", "kueue": {"enabled": True}}, "dynamicAllocation": {"enabled": True}},
     ["scheduler.kueue.executorPodGroup with dynamicAllocation.enabled", "fixed number of pods", "executorPodGroup=false"],
     {"scheduler": {"queue": "q", "kueue": {"enabled": True, "executorPodGroup": False}}, "dynamicAllocation": {"enabled": True}}),
    ("yunikorn-gang-without-yunikorn",
     {"scheduler": {"yunikorn": {"gang": {"enabled": True}}}},
     ["scheduler.yunikorn.gang.enabled needs scheduler.name=yunikorn"],
     {"scheduler": {"name": "yunikorn", "yunikorn": {"gang": {"enabled": True}}}}),
    ("native-gang-with-volcano",
     {"scheduler": {"name": "volcano", "gang": {"enabled": True}}},
     ["scheduler.gang.enabled is Kubernetes' own gang scheduling, which scheduler.name=volcano does not read", "volcano.podGroup"],
     {"scheduler": {"name": "volcano"}}),
    ("native-gang-larger-than-the-executors",
     {"scheduler": {"gang": {"enabled": True, "minCount": 3}}, "executor": {"instances": 2}},
     ["scheduler.gang.minCount (3) is more than the 2 executors Spark asks for at start", "lower scheduler.gang.minCount"],
     {"scheduler": {"gang": {"enabled": True, "minCount": 3}}, "executor": {"instances": 3}}),
    ("native-gang-counts-min-executors",
     {"scheduler": {"gang": {"enabled": True, "minCount": 4}}, "executor": {"instances": 1}, "dynamicAllocation": {"enabled": True, "minExecutors": 3}},
     ["scheduler.gang.minCount (4) is more than the 3 executors"],
     {"scheduler": {"gang": {"enabled": True, "minCount": 3}}, "executor": {"instances": 1}, "dynamicAllocation": {"enabled": True, "minExecutors": 3}}),
    ("metrics-keys-in-spark-conf",
     {"metrics": {"enabled": True}, "sparkConf": {"spark.metrics.conf.driver.sink.prometheusServlet.path": "/m"}},
     ["sparkConf.spark.metrics.conf.driver.sink.prometheusServlet.path is set by metrics.enabled", "metrics.path"],
     {"metrics": {"enabled": True, "path": "/m"}}),
    ("metrics-without-the-ui",
     {"metrics": {"enabled": True}, "sparkConf": {"spark.ui.enabled": False}},
     ["metrics.enabled with sparkConf.spark.ui.enabled=false", "Spark UI's port"],
     {"metrics": {"enabled": False}, "sparkConf": {"spark.ui.enabled": False}}),
    ("metrics-blocked-by-network-policy",
     {"metrics": {"enabled": True, "scraperPeers": []}},
     ["metrics.enabled with networkPolicy.enabled needs metrics.scraperPeers", "networkPolicy.enabled=false"],
     {"metrics": {"enabled": True, "scraperPeers": []}, "networkPolicy": {"enabled": False}}),
]


def _render_error(tmp_path: Path, values: Obj) -> str:
    with pytest.raises(UserError) as caught:
        render_objects(tmp_path, values, name="rules")
    return str(caught.value)


@pytest.mark.parametrize(("case", "broken", "words", "valid"), RULES, ids=[r[0] for r in RULES])
def test_a_cross_field_rule_refuses_with_one_line_and_its_neighbour_renders(
    tmp_path: Path, case: str, broken: Obj, words: list[str], valid: Obj
) -> None:
    message = _render_error(tmp_path, broken)
    assert "\n" not in message, message
    for word in words:
        assert word in message, (word, message)
    objects, _, _ = render_objects(tmp_path, valid, name="rules")
    assert any(o["kind"] == "Pod" for o in objects)


def test_the_rules_hold_for_raw_helm_users_too() -> None:
    """Not a sparkhelm check: a plain Helm render of the chart refuses the same values."""
    for _, broken, words, _ in RULES:
        with helm_python.Chart.load(str(CHART)) as chart, pytest.raises(helm_python.HelmError, match=re.escape(words[0])):
            chart.render(broken, name="rules", namespace="ns")


def test_instances_outside_min_max_is_left_to_spark(tmp_path: Path) -> None:
    """Spark 4.3 starts max(minExecutors, executor.instances) executors and refuses neither bound."""
    for instances in (1, 9):
        objects, _, _ = render_objects(tmp_path, {"executor": {"instances": instances}, "dynamicAllocation": {"enabled": True, "minExecutors": 2, "maxExecutors": 4}}, name="rules")
        conf = next(o for o in objects if o["kind"] == "ConfigMap")["data"]["spark-defaults.conf"]
        assert re.search(rf"^spark\.dynamicAllocation\.initialExecutors +{instances}$", conf, re.M)


def test_every_fail_of_the_chart_lives_in_the_preflight_file() -> None:
    """Checks apart: templates that render objects never fail; _preflight.tpl holds every check."""
    for template in (CHART / "templates").iterdir():
        if template.name != "_preflight.tpl":
            assert "fail " not in template.read_text() and "required " not in template.read_text(), template.name
    assert 'include "spark-client-app.preflight" .' in (CHART / "templates" / "configmap.yaml").read_text()


@pytest.mark.parametrize("helm", ["helm3", "helm4"])
@pytest.mark.parametrize("route", ["ui.httpRoute", "connect.grpcRoute"])
def test_a_route_without_a_gateway_is_refused_without_the_schema_too(helm: str, route: str) -> None:
    """The schema refuses an enabled route with no parentRefs; with --skip-schema-validation the chart still does."""
    binary = tool(helm)
    sets = f"{route}.enabled=true,{route}.gatewayPeers[0].podSelector.matchLabels.app=gateway,connect.enabled=true"
    args = [str(binary), "template", "x", str(CHART), "--set", sets]
    with_schema = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert with_schema.returncode != 0 and "parentRefs" in with_schema.stderr  # Helm 4 writes /connect/grpcRoute/parentRefs
    without = subprocess.run([*args, "--skip-schema-validation"], capture_output=True, text=True, timeout=120)
    assert without.returncode != 0
    assert f"{route}.enabled needs {route}.parentRefs: a route attaches to the Gateways it names" in without.stderr
    fixed = subprocess.run([*args[:-1], f"{sets},{route}.parentRefs[0].name=shared", "--skip-schema-validation"],
                           capture_output=True, text=True, timeout=120)
    assert fixed.returncode == 0, fixed.stderr


@pytest.mark.parametrize("helm", ["helm3", "helm4"])
def test_the_template_checks_stand_without_the_schema(helm: str) -> None:
    """`--skip-schema-validation` drops the schema, not the chart's own rule on maxExecutors 0."""
    binary = tool(helm)
    args = [str(binary), "template", "x", str(CHART), "--set", "dynamicAllocation.enabled=true,dynamicAllocation.maxExecutors=0"]
    with_schema = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert with_schema.returncode != 0 and "maxExecutors" in with_schema.stderr
    without = subprocess.run([*args, "--skip-schema-validation"], capture_output=True, text=True, timeout=120)
    assert without.returncode != 0
    assert "dynamicAllocation.maxExecutors is 0: Spark refuses it with dynamic allocation" in without.stderr
    fixed = subprocess.run([*args[:-1], "dynamicAllocation.enabled=true,dynamicAllocation.maxExecutors=1", "--skip-schema-validation"],
                           capture_output=True, text=True, timeout=120)
    assert fixed.returncode == 0, fixed.stderr
