"""A matrix of value combinations, each rendered by the real embedded Helm engine, validated strictly
against Kubernetes schemas (1.29 and the newest known), and checked for every wiring invariant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.conftest import PI, VALUES_DIR, render_objects
from tests.invariants import check_application, validate_strictly
from tests.pss import restricted_violations

#: Matrix cases that deliberately relax the security contexts (and must then fail "restricted").
RELAXED = {"no-security-context"}

NEWEST = kubernetes_validate.utils.latest_version()
KUBE_VERSIONS = ["1.29", NEWEST]
LONGEST = "a" + "b" * 45 + "z"  # 47 characters, the longest allowed app-name

JAR = "local:///opt/spark/examples/jars/spark-examples.jar"
MATRIX: dict[str, tuple[str, dict[str, Any]]] = {
    "minimal-python": ("my-app", {"app": {"mainApplicationFile": PI}}),
    "jvm-main-class": ("spark-pi", {"app": {"mainApplicationFile": JAR, "mainClass": "org.apache.spark.examples.SparkPi", "arguments": ["100"]}}),
    "longest-name": (LONGEST, {"app": {"mainApplicationFile": PI}, "ui": {"ingress": {"enabled": True}}}),
    "longest-name-host-mode": (LONGEST, {"app": {"mainApplicationFile": PI}, "ui": {"ingress": {"enabled": True, "mode": "host", "domain": "spark.example.com"}}}),
    "one-letter-name": ("a", {"app": {"mainApplicationFile": PI}}),
    "path-ingress": ("etl", {"app": {"mainApplicationFile": PI}, "ui": {"ingress": {"enabled": True, "className": "nginx"}}}),
    "path-ingress-host-tls": ("etl", {"app": {"mainApplicationFile": PI}, "ui": {"ingress": {"enabled": True, "host": "spark.example.com", "tls": {"enabled": True}}}}),
    "path-ingress-custom-path": ("etl", {"app": {"mainApplicationFile": PI}, "ui": {"ingress": {"enabled": True, "path": "/spark/team-a/etl"}}}),
    "host-ingress": ("etl", {"app": {"mainApplicationFile": PI}, "ui": {"ingress": {"enabled": True, "mode": "host", "domain": "spark.example.com", "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"}}}}),
    "nodeport-ui": ("etl", {"app": {"mainApplicationFile": PI}, "ui": {"port": 4050, "service": {"type": "NodePort", "nodePort": 30440}}}),
    "volcano-priority": ("etl", {"app": {"mainApplicationFile": PI}, "priorityClassName": "urgent", "scheduler": {"name": "volcano"}}),
    "node-affinities": ("etl", {"app": {"mainApplicationFile": PI}, "driver": {"nodeAffinity": {"values": ["driver-pool"]}}, "executor": {"nodeAffinity": {"key": "node.kubernetes.io/pool", "values": ["a", "b"]}}}),
    "explicit-affinity": ("etl", {"app": {"mainApplicationFile": PI}, "executor": {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {"matchExpressions": [{"key": "spot", "operator": "In", "values": ["true"]}]}}]}}}}),
    "affinity-plus-shorthand": ("etl", {"app": {"mainApplicationFile": PI}, "driver": {"nodeAffinity": {"values": ["x"]}, "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 10, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"spark-role": "driver"}}}}]}}}}),
    "tolerations-selectors": ("etl", {"app": {"mainApplicationFile": PI}, "driver": {"tolerations": [{"key": "d", "operator": "Exists", "effect": "NoSchedule"}], "nodeSelector": {"disk": "ssd"}}, "executor": {"tolerations": [{"key": "e", "operator": "Equal", "value": "v", "effect": "NoExecute"}], "nodeSelector": {"disk": "hdd"}}}),
    "custom-ports": ("etl", {"app": {"mainApplicationFile": PI}, "driver": {"port": 30000, "blockManagerPort": 30001}, "ui": {"port": 4041}}),
    "no-rbac-existing-sa": ("etl", {"app": {"mainApplicationFile": PI}, "serviceAccount": {"create": False, "name": "spark"}, "rbac": {"create": False}}),
    "default-sa": ("etl", {"app": {"mainApplicationFile": PI}, "serviceAccount": {"create": False}, "rbac": {"create": False}}),
    "dependencies": ("etl", {"app": {"mainApplicationFile": PI, "jars": ["local:///opt/jars/a.jar", "s3a://b/c.jar"], "files": ["s3a://b/f.csv"], "pyFiles": ["local:///opt/deps.zip"], "packages": ["org.apache.hadoop:hadoop-aws:3.4.1"], "repositories": ["https://repo.example.com/maven"], "archives": ["s3a://b/env.tar.gz#env"]}}),
    "hadoop-conf": ("etl", {"app": {"mainApplicationFile": PI}, "hadoop": {"configMap": "hadoop-conf"}}),
    "extra-env-volumes": ("etl", {"app": {"mainApplicationFile": PI}, "driver": {"env": [{"name": "A", "value": "1"}], "envFrom": [{"secretRef": {"name": "creds"}}], "volumes": [{"name": "data", "emptyDir": {}}], "volumeMounts": [{"name": "data", "mountPath": "/data"}]}, "executor": {"env": [{"name": "B", "value": "2"}], "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}], "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}}),
    "resources-explicit": ("etl", {"app": {"mainApplicationFile": PI}, "driver": {"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": 2, "memory": "2Gi"}}}, "executor": {"requestCores": "500m", "limitCores": 2, "memoryOverhead": "512m"}}),
    "restart-on-failure": ("etl", {"app": {"mainApplicationFile": PI}, "driver": {"restartPolicy": "OnFailure"}}),
    "dynamic-allocation": ("etl", {"app": {"mainApplicationFile": PI}, "dynamicAllocation": {"enabled": True, "minExecutors": 1, "maxExecutors": 20}}),
    "pull-secrets-common-labels": ("etl", {"app": {"mainApplicationFile": PI}, "image": {"repository": "registry.example.com/spark", "tag": "4.3.0-python3", "pullPolicy": "Always", "pullSecrets": ["regcred", "other"]}, "commonLabels": {"team": "data", "app-name": "hijack"}, "commonAnnotations": {"owner": "data@example.com"}}),
    "spark-conf-and-env": ("etl", {"app": {"mainApplicationFile": PI}, "sparkConf": {"spark.sql.shuffle.partitions": 200, "spark.memory.fraction": 0.6, "spark.eventLog.enabled": True, "spark.eventLog.dir": "s3a://logs/"}, "sparkEnv": "export PYSPARK_PYTHON=python3\n"}),
    "tls-true-host-from-host": ("etl", {"app": {"mainApplicationFile": PI}, "ui": {"ingress": {"enabled": True, "mode": "host", "host": "spark.example.com", "tls": True}}}),
    "tls-list": ("etl", {"app": {"mainApplicationFile": PI}, "ui": {"ingress": {"enabled": True, "host": "spark.example.com", "tls": [{"secretName": "wildcard"}]}}}),
    "pull-secret-objects-deps-map": ("etl", {"app": {"mainApplicationFile": PI, "jars": ["a.jar"], "dependencies": {"jars": ["b.jar"], "packages": ["g:a:1"]}}, "image": {"pullSecrets": [{"name": "regcred"}]}}),
    "secrets-env-and-files": ("etl", {"app": {"mainApplicationFile": PI}, "secrets": {"env": [{"name": "AWS_ACCESS_KEY_ID", "secretName": "s3", "key": "id"}, {"name": "AWS_SECRET_ACCESS_KEY", "secretName": "s3", "key": "secret", "optional": True}], "files": [{"secretName": "kerberos", "mountPath": "/etc/krb", "items": [{"key": "keytab", "path": "app.keytab"}]}]}}),
    "volcano-queue-resources": ("etl", {"app": {"mainApplicationFile": PI}, "scheduler": {"name": "volcano"}, "priorityClassName": "rush", "volcano": {"podGroup": {"queue": "team-a", "minMember": 1, "minResources": {"cpu": "5", "memory": "20Gi"}}}}),
    "volcano-without-podgroup": ("etl", {"app": {"mainApplicationFile": PI}, "scheduler": {"name": "volcano"}, "volcano": {"podGroup": {"enabled": False}}}),
    "no-network-policy": ("etl", {"app": {"mainApplicationFile": PI}, "networkPolicy": {"enabled": False}}),
    "network-policy-tight": ("etl", {"app": {"mainApplicationFile": PI}, "ui": {"ingress": {"enabled": True}}, "executor": {"blockManagerPort": 7090}, "networkPolicy": {"dnsPeers": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}], "apiServer": {"cidrs": ["10.0.0.1/32"], "ports": [443]}, "uiPeers": [{"namespaceSelector": {"matchLabels": {"team": "monitoring"}}}], "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443, "protocol": "TCP"}]}]}}),
    "ingress-basic-auth-tls": ("etl", {"app": {"mainApplicationFile": PI}, "ui": {"ingress": {"enabled": True, "host": "spark.example.com", "tls": True, "auth": {"basicAuthSecret": "spark-ui-htpasswd", "realm": "Team A"}}}}),
    "ingress-external-auth": ("etl", {"app": {"mainApplicationFile": PI}, "ui": {"ingress": {"enabled": True, "mode": "host", "domain": "spark.example.com", "auth": {"url": "https://oauth2.example.com/oauth2/auth", "signin": "https://oauth2.example.com/oauth2/start"}}}}),
    "scratch-memory-limited": ("etl", {"app": {"mainApplicationFile": PI}, "scratch": {"mountPaths": ["/tmp", "/opt/spark/work-dir", "/var/cache"], "sizeLimit": "2Gi", "medium": "Memory"}}),
    "existing-executor-sa-kill-enabled": ("etl", {"app": {"mainApplicationFile": PI}, "executor": {"serviceAccount": {"create": False, "name": "spark-executor"}}, "ui": {"killEnabled": True}}),
    "chart-defaults-only": ("sparkpi", {}),
    "spark-documented-keys": ("etl", {"sparkConf": {"spark.metrics.conf.*.sink.prometheusServlet.class": "org.apache.spark.metrics.sink.PrometheusServlet", "spark.metrics.conf.*.sink.prometheusServlet.path": "/metrics/prometheus", "spark.kubernetes.driver.annotation.prometheus.io/scrape": "true", "spark.hadoop.fs.s3a.bucket.raw-data.endpoint": "https://s3.eu-west-1.amazonaws.com", "spark.sql.catalog.lake.warehouse": "s3a://lake/warehouse", "spark.redaction.string.regex": "(?i)token=[^&\\s]+"}}),
    "egress-object-store-and-metastore": ("etl", {"networkPolicy": {"egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}], "ports": [{"port": 443, "protocol": "TCP"}]}, {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "hive"}}}], "ports": [{"port": 9083, "protocol": "TCP"}]}]}}),
    "dynamic-allocation-from-zero": ("etl", {"app": {"mainApplicationFile": PI}, "executor": {"instances": 0, "requestCores": "500m", "limitCores": "1"}, "dynamicAllocation": {"enabled": True, "minExecutors": 0, "maxExecutors": 1}}),
    "no-security-context": ("etl", {"app": {"mainApplicationFile": PI}, "driver": {"podSecurityContext": None, "securityContext": None}, "executor": {"podSecurityContext": None, "securityContext": None}}),
    "metrics-scrape-annotations": ("etl", {"metrics": {"enabled": True}, "ui": {"port": 4050}}),
    "metrics-podmonitor-path-ingress": ("etl", {"metrics": {"enabled": True, "path": "/metrics/driver", "namespace": "etl", "jvmSource": False, "podMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}, "interval": "30s", "scrapeTimeout": "10s"}, "scraperPeers": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "prometheus"}}, "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}]}, "ui": {"ingress": {"enabled": True}}}),
    "metrics-nodeport-no-peers": ("etl", {"metrics": {"enabled": True, "scraperPeers": []}, "ui": {"service": {"type": "NodePort"}}}),
    "yunikorn-queue": ("etl", {"scheduler": {"name": "yunikorn", "queue": "root.sandbox.team-a"}}),
    "yunikorn-gang-placements": ("etl", {"scheduler": {"name": "yunikorn", "queue": "root.batch", "yunikorn": {"applicationId": "etl-2026-01-01", "gang": {"enabled": True, "minMember": 1, "placeholderTimeoutSeconds": 120, "style": "Hard"}}}, "priorityClassName": "routine", "driver": {"nodeSelector": {"pool": "drivers"}, "nodeAffinity": {"values": ["spark"]}}, "executor": {"instances": 3, "requestCores": "500m", "memoryOverhead": "1g", "tolerations": [{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}]}}),
    "yunikorn-gang-dynamic-allocation": ("etl", {"scheduler": {"name": "yunikorn", "yunikorn": {"gang": {"enabled": True, "executorMinResource": {"cpu": "2", "memory": "6Gi"}}}}, "executor": {"instances": 0}, "dynamicAllocation": {"enabled": True, "minExecutors": 0, "maxExecutors": 8}}),
    "kueue-executor-pod-group": ("etl", {"scheduler": {"queue": "team-a", "kueue": {"enabled": True}}, "executor": {"instances": 4}}),
    "kueue-per-executor-dynamic-allocation": ("etl", {"scheduler": {"queue": "team-a", "kueue": {"enabled": True, "executorPodGroup": False}}, "dynamicAllocation": {"enabled": True, "minExecutors": 1, "maxExecutors": 5}}),
    "gang-v1beta1": ("etl", {"scheduler": {"gang": {"enabled": True}}, "priorityClassName": "urgent", "executor": {"instances": 3}}),
    "gang-v1alpha3-kueue": ("etl", {"scheduler": {"queue": "team-a", "kueue": {"enabled": True}, "gang": {"enabled": True, "apiVersion": "scheduling.k8s.io/v1alpha3", "minCount": 2}}, "executor": {"instances": 3}}),
    "gang-v1alpha2": ("etl", {"scheduler": {"gang": {"enabled": True, "apiVersion": "scheduling.k8s.io/v1alpha2"}}, "dynamicAllocation": {"enabled": True, "minExecutors": 2, "maxExecutors": 6}, "executor": {"instances": 1}}),
    "gang-v1alpha1": ("etl", {"scheduler": {"name": "default-scheduler", "gang": {"enabled": True, "apiVersion": "scheduling.k8s.io/v1alpha1"}}}),
    "volcano-scheduler-queue": ("etl", {"scheduler": {"name": "volcano", "queue": "team-b"}, "volcano": {"podGroup": {"queue": "ignored-default"}}}),
    "ttl-everywhere": ("etl", {"ttl": "1h30m", "metrics": {"enabled": True, "podMonitor": {"enabled": True}}, "scheduler": {"gang": {"enabled": True}}, "ui": {"ingress": {"enabled": True}}}),
    # connect mode (Spark Connect server in the driver) and Gateway API routes
    "connect-defaults": ("notebooks", {"connect": {"enabled": True}}),
    "connect-no-network-policy": ("notebooks", {"connect": {"enabled": True}, "networkPolicy": {"enabled": False}}),
    "connect-token-static-executors-tuned": ("nb", {"connect": {"enabled": True, "port": 16000, "restartPolicy": "OnFailure", "authentication": {"secretName": "connect-token"},
                                                                "dynamicAllocation": {"enabled": False}, "probes": {"liveness": {"enabled": False}, "startup": {"initialDelaySeconds": 15}}},
                                                    "executor": {"instances": 3}, "sparkConf": {"spark.connect.session.manager.defaultSessionTimeout": "30min"}}),
    "connect-other-namespace-clients": ("nb", {"connect": {"enabled": True, "allowFrom": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "notebooks"}}, "podSelector": {"matchLabels": {"app": "jupyter"}}}]}}),
    "connect-node-port": ("nb", {"connect": {"enabled": True, "service": {"type": "NodePort", "nodePort": 31002}, "allowFrom": [{"ipBlock": {"cidr": "10.20.0.0/16"}}]}}),
    "connect-internal-load-balancer": ("nb", {"connect": {"enabled": True, "service": {"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/8"], "annotations": {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}}, "allowFrom": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}}),
    "connect-grpc-route": ("nb", {"connect": {"enabled": True, "grpcRoute": {"enabled": True, "parentRefs": [{"name": "gw", "namespace": "gateway-system", "sectionName": "grpc"}], "hostnames": ["connect.example.com"], "gatewayPeers": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway-system"}}}]}}}),
    "http-route-path": ("etl", {"ui": {"httpRoute": {"enabled": True, "parentRefs": [{"name": "gw", "namespace": "gateway-system"}], "hostnames": ["spark.example.com", "*.spark.example.com"], "gatewayPeers": [{"namespaceSelector": {}}]}}}),
    "http-route-host": ("etl", {"ui": {"httpRoute": {"enabled": True, "mode": "host", "domain": "spark.example.com", "parentRefs": [{"name": "gw"}], "annotations": {"team": "data"}}}, "networkPolicy": {"enabled": False}}),
    "ingress-and-http-route": ("etl", {"ui": {"ingress": {"enabled": True, "host": "old.example.com", "tls": True}, "httpRoute": {"enabled": True, "parentRefs": [{"name": "gw", "namespace": "gateway-system", "port": 443}], "gatewayPeers": [{"podSelector": {"matchLabels": {"app": "gateway"}}}]}}}),
    "longest-name-connect-everything": (LONGEST, {"scheduler": {"name": "volcano"}, "priorityClassName": "urgent", "connect": {"enabled": True, "grpcRoute": {"enabled": True, "parentRefs": [{"name": "gw"}], "hostnames": ["c.example.com"], "gatewayPeers": [{"namespaceSelector": {}}]}}, "ui": {"ingress": {"enabled": True, "mode": "host", "domain": "spark.example.com"}, "httpRoute": {"enabled": True, "mode": "host", "domain": "spark.example.com", "parentRefs": [{"name": "gw"}], "gatewayPeers": [{"namespaceSelector": {}}]}}}),
    # Spark's own connections (security.rpc, security.ioEncryption)
    "rpc-given-secret-io-encryption": ("etl", {"security": {"rpc": {"secret": "0123456789abcdef0123456789abcdef0123456789abcdef"}, "ioEncryption": {"enabled": True}}}),
    "rpc-existing-secret": ("etl", {"security": {"rpc": {"existingSecret": "team-a-spark-rpc", "existingSecretKey": "rpc.key"}}}),
    "rpc-authenticate-without-encryption": ("etl", {"security": {"rpc": {"encryption": False}}}),
    "rpc-off": ("etl", {"security": {"rpc": {"authenticate": False, "encryption": False}}}),
    "rpc-connect-secrets-files": ("nb", {"connect": {"enabled": True}, "secrets": {"files": [{"secretName": "krb", "mountPath": "/etc/krb"}]}}),
}

#: Shapes that only some Kubernetes versions serve: validated strictly on those (the native gang
#: fields of pods and its objects are alpha/beta APIs that each minor version reshaped).
GANG_VERSIONS = {"scheduling.k8s.io/v1alpha1": ["1.35"], "scheduling.k8s.io/v1alpha2": ["1.36"],
                 "scheduling.k8s.io/v1alpha3": ["1.37"], "scheduling.k8s.io/v1beta1": ["1.37"]}


def versions_of(data: dict[str, Any]) -> list[str]:
    """The Kubernetes versions a case's objects are validated against."""
    gang = (data.get("scheduler") or {}).get("gang") or {}
    if gang.get("enabled"):
        return GANG_VERSIONS[gang.get("apiVersion", "scheduling.k8s.io/v1beta1")]
    return KUBE_VERSIONS


@pytest.mark.parametrize("case", sorted(MATRIX))
def test_matrix_renders_valid_wired_objects(tmp_path: Path, case: str) -> None:
    name, data = MATRIX[case]
    objects, effective, _ = render_objects(tmp_path, data, name=name)
    parts = check_application(objects, app_name=name, namespace="spark-jobs", values=effective)
    for version in versions_of(data):
        for obj in [*objects, parts["template"]]:
            validate_strictly(obj, version)
    violations = restricted_violations(parts["pod"]) + restricted_violations(parts["template"])
    if case in RELAXED:
        assert violations, "the restricted checks accepted pods without security contexts"
    else:
        assert violations == [], violations


@pytest.mark.parametrize("path", sorted(VALUES_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_example_values_files_render_valid_wired_objects(tmp_path: Path, path: Path) -> None:
    objects, effective, _ = render_objects(tmp_path, {}, name="example-app", namespace="team-a", files=[path])
    parts = check_application(objects, app_name="example-app", namespace="team-a", values=effective)
    for version in KUBE_VERSIONS:
        for obj in [*objects, parts["template"]]:
            validate_strictly(obj, version)
    assert restricted_violations(parts["pod"]) == [] and restricted_violations(parts["template"]) == []


def test_matrix_is_large_enough() -> None:
    assert len(MATRIX) >= 20


def test_checker_catches_broken_wiring(tmp_path: Path) -> None:
    """The checker is not vacuous: break one wiring key after rendering and it complains."""
    objects, effective, _ = render_objects(tmp_path, {"app": {"mainApplicationFile": PI}, "ui": {"ingress": {"enabled": True}}}, name="etl")
    configmap = next(o for o in objects if o["kind"] == "ConfigMap")
    original = configmap["data"]["spark-defaults.conf"]
    for old, new in [
        ("/etc/spark/conf/executor-pod-template.yaml", "/elsewhere/t.yaml"),
        ("spark.kubernetes.executor.podNamePrefix          etl", "spark.kubernetes.executor.podNamePrefix          other"),
        ("spark.driver.port                                7078", "spark.driver.port                                7077"),
        ("etl-driver-svc.spark-jobs.svc", "etl-driver-svc"),
        ("spark.ui.proxyBase                               /etl", "spark.ui.proxyBase                               /x"),
        ("spark.submit.deployMode                          client", "spark.submit.deployMode                          cluster"),
    ]:
        assert old in original, old
        configmap["data"]["spark-defaults.conf"] = original.replace(old, new)
        with pytest.raises(AssertionError):
            check_application(objects, app_name="etl", namespace="spark-jobs", values=effective)
    configmap["data"]["spark-defaults.conf"] = original
    check_application(objects, app_name="etl", namespace="spark-jobs", values=effective)
