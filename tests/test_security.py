"""Secure defaults: Pod Security "restricted", least-privilege RBAC, NetworkPolicy flows, secrets,
the UI, Volcano. Renders go through the real embedded Helm engine; raw-chart cases through
helm_python without the CLI, as an ops team's `helm install` would."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

from sparkhelm.spec import layers as values_mod
from tests.conftest import CHART, PI, render_objects
from tests.invariants import parse_spark_defaults
from tests.netpol import allowed, external, pod
from tests.pss import restricted_violations
from tests.test_bad_input import assert_one_line_error

Obj = dict[str, Any]
NS = "spark-jobs"
BASE = {"app": {"mainApplicationFile": PI}}


def merged(extra: Obj) -> Obj:
    return values_mod.merge(BASE, extra)


def render(tmp_path: Path, extra: Obj | None = None, name: str = "etl") -> dict[str, list[Obj]]:
    """Rendered objects by kind; the executor pod template parsed as kind 'ExecutorTemplate'."""
    objects, _, _ = render_objects(tmp_path, merged(extra or {}), name=name, namespace=NS)
    by_kind: dict[str, list[Obj]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    configmap = by_kind["ConfigMap"][0]
    by_kind["ExecutorTemplate"] = [yaml.safe_load(configmap["data"]["executor-pod-template.yaml"])]
    by_kind["Conf"] = [parse_spark_defaults(configmap["data"]["spark-defaults.conf"])]  # type: ignore[list-item]
    return by_kind


def raw_render_error(values: Obj) -> str:
    """The error of a plain Helm render of the chart (no sparkhelm involved)."""
    with helm_python.Chart.load(str(CHART)) as chart, pytest.raises(Exception) as caught:
        chart.render(values, name="etl", namespace=NS)
    return str(caught.value)


# --- Pod Security Standards "restricted" -------------------------------------------------------


def test_defaults_are_restricted_with_read_only_root_and_scratch_dirs(tmp_path: Path) -> None:
    objs = render(tmp_path)
    driver, template = objs["Pod"][0], objs["ExecutorTemplate"][0]
    for pod_obj in (driver, template):
        assert restricted_violations(pod_obj) == []
        spec = pod_obj["spec"]
        container = spec["containers"][0]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert spec["securityContext"]["runAsUser"] == 185 and spec["securityContext"]["runAsNonRoot"] is True
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        for path in ("/tmp", "/opt/spark/work-dir"):
            assert volumes[mounts[path]]["emptyDir"] == {}, path
        assert not spec.get("hostNetwork") and not any("hostPath" in v for v in spec["volumes"])


def test_scratch_size_and_medium(tmp_path: Path) -> None:
    objs = render(tmp_path, {"scratch": {"mountPaths": ["/tmp"], "sizeLimit": "1Gi", "medium": "Memory"}})
    for pod_obj in (objs["Pod"][0], objs["ExecutorTemplate"][0]):
        scratch = [v for v in pod_obj["spec"]["volumes"] if v["name"].startswith("scratch-")]
        assert scratch == [{"name": "scratch-0", "emptyDir": {"sizeLimit": "1Gi", "medium": "Memory"}}]


def test_security_context_can_be_relaxed_from_values(tmp_path: Path) -> None:
    objs = render(tmp_path, {"driver": {"securityContext": {"readOnlyRootFilesystem": False, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}})
    assert objs["Pod"][0]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is False
    assert restricted_violations(objs["Pod"][0]) == []


@pytest.mark.parametrize(("mutate", "needle"), [
    (lambda s: s.update(hostNetwork=True), "hostNetwork"),
    (lambda s: s["volumes"].append({"name": "h", "hostPath": {"path": "/"}}), "hostPath"),
    (lambda s: s["containers"][0]["securityContext"].update(privileged=True), "privileged"),
    (lambda s: s["containers"][0]["securityContext"].update(allowPrivilegeEscalation=True), "allowPrivilegeEscalation"),
    (lambda s: s["containers"][0]["securityContext"]["capabilities"].update(drop=[]), "drop ALL"),
    (lambda s: s["containers"][0]["securityContext"]["capabilities"].update(add=["SYS_ADMIN"]), "adds"),
    (lambda s: s["securityContext"].update(runAsUser=0), "runAsUser=0"),
    (lambda s: s["securityContext"].pop("runAsNonRoot"), "runAsNonRoot"),
    (lambda s: s["securityContext"].update(seccompProfile={"type": "Unconfined"}), "seccomp"),
    (lambda s: s["containers"][0].setdefault("ports", []).append({"containerPort": 80, "hostPort": 80}), "hostPort"),
    (lambda s: s["volumes"].append({"name": "n", "nfs": {"server": "x", "path": "/"}}), "nfs"),
    (lambda s: s["securityContext"].update(sysctls=[{"name": "kernel.msgmax", "value": "1"}]), "sysctl"),
])
def test_restricted_checks_catch_each_violation(tmp_path: Path, mutate: Any, needle: str) -> None:
    driver = render(tmp_path)["Pod"][0]
    mutate(driver["spec"])
    problems = restricted_violations(driver)
    assert any(needle in p for p in problems), problems


# --- RBAC -----------------------------------------------------------------------------------------

DRIVER_RULES = {
    "pods": {"get", "list", "watch", "create", "patch", "delete", "deletecollection"},
    "configmaps": {"get", "list", "create", "delete", "deletecollection"},
    "services": {"deletecollection"},
    "persistentvolumeclaims": {"get", "list", "create", "delete", "deletecollection"},
}


def test_driver_role_is_exactly_what_a_client_mode_driver_needs(tmp_path: Path) -> None:
    objs = render(tmp_path)
    (role,) = objs["Role"]
    granted: dict[str, set[str]] = {}
    for rule in role["rules"]:
        assert rule["apiGroups"] == [""] and "resourceNames" not in rule
        for resource in rule["resources"]:
            granted.setdefault(resource, set()).update(rule["verbs"])
    assert granted == DRIVER_RULES
    flat = yaml.safe_dump(role["rules"])
    assert "*" not in flat and "secrets" not in flat
    assert not {"escalate", "bind", "impersonate"} & set().union(*granted.values())
    assert "ClusterRole" not in objs and "ClusterRoleBinding" not in objs
    (binding,) = objs["RoleBinding"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "etl-driver", "namespace": NS}]


def test_executors_run_as_their_own_account_without_a_token(tmp_path: Path) -> None:
    objs = render(tmp_path)
    accounts = {sa["metadata"]["name"]: sa for sa in objs["ServiceAccount"]}
    assert set(accounts) == {"etl-driver", "etl-executor"}
    assert accounts["etl-executor"]["automountServiceAccountToken"] is False
    template = objs["ExecutorTemplate"][0]["spec"]
    assert template["serviceAccountName"] == "etl-executor" and template["automountServiceAccountToken"] is False
    assert objs["Conf"][0]["spark.kubernetes.authenticate.executor.serviceAccountName"] == "etl-executor"
    bound = {s["name"] for b in objs["RoleBinding"] for s in b["subjects"]}
    assert "etl-executor" not in bound
    assert objs["Pod"][0]["spec"]["serviceAccountName"] == "etl-driver"


def test_existing_executor_account(tmp_path: Path) -> None:
    objs = render(tmp_path, {"executor": {"serviceAccount": {"create": False, "name": "spark-exec"}}})
    assert [sa["metadata"]["name"] for sa in objs["ServiceAccount"]] == ["etl-driver"]
    assert objs["ExecutorTemplate"][0]["spec"]["serviceAccountName"] == "spark-exec"
    assert objs["Conf"][0]["spark.kubernetes.authenticate.executor.serviceAccountName"] == "spark-exec"


# --- NetworkPolicy ----------------------------------------------------------------------------------

DRIVER = pod(NS, app_name="etl", spark_role="driver")
EXECUTOR = pod(NS, app_name="etl", spark_role="executor")
OTHER_EXECUTOR = pod(NS, app_name="other", spark_role="executor")
NEIGHBOUR = pod(NS, app="jupyter")
INGRESS_NGINX = pod("ingress-nginx", app="ingress-nginx")
KUBE_DNS = pod("kube-system", k8s_app="kube-dns")
API_SERVER = external("10.0.0.1")
OBJECT_STORE = external("52.216.1.1")


def policies(tmp_path: Path, extra: Obj | None = None) -> list[Obj]:
    return render(tmp_path, extra).get("NetworkPolicy", [])


def test_default_policies_allow_the_app_and_nothing_else(tmp_path: Path) -> None:
    pols = policies(tmp_path)
    assert sorted(p["metadata"]["name"] for p in pols) == ["etl-driver-netpol", "etl-exec-netpol"]
    yes = [
        (EXECUTOR, DRIVER, 7078, "TCP"), (EXECUTOR, DRIVER, 7079, "TCP"), (DRIVER, EXECUTOR, 7079, "TCP"),
        (EXECUTOR, EXECUTOR, 7079, "TCP"), (DRIVER, KUBE_DNS, 53, "UDP"), (EXECUTOR, KUBE_DNS, 53, "TCP"),
        (DRIVER, API_SERVER, 443, "TCP"), (DRIVER, API_SERVER, 6443, "TCP"),
        # without networkPolicy.apiServer.cidrs the driver reaches any address on the API ports (documented)
        (DRIVER, OBJECT_STORE, 443, "TCP"),
    ]
    no = [
        (OTHER_EXECUTOR, DRIVER, 7078, "TCP"), (NEIGHBOUR, DRIVER, 7078, "TCP"), (NEIGHBOUR, DRIVER, 4040, "TCP"),
        (INGRESS_NGINX, DRIVER, 4040, "TCP"), (EXECUTOR, DRIVER, 4040, "TCP"), (EXECUTOR, DRIVER, 22, "TCP"),
        (DRIVER, EXECUTOR, 7078, "TCP"), (OTHER_EXECUTOR, EXECUTOR, 7079, "TCP"), (EXECUTOR, OTHER_EXECUTOR, 7079, "TCP"),
        (EXECUTOR, API_SERVER, 443, "TCP"), (DRIVER, OBJECT_STORE, 9000, "TCP"), (EXECUTOR, OBJECT_STORE, 443, "TCP"),
        (DRIVER, NEIGHBOUR, 8080, "TCP"),
    ]
    for src, dst, port, protocol in yes:
        assert allowed(pols, src, dst, port, protocol), (src, dst, port)
    for src, dst, port, protocol in no:
        assert not allowed(pols, src, dst, port, protocol), (src, dst, port)


def test_ui_is_reachable_from_the_ingress_controller_only_with_an_ingress(tmp_path: Path) -> None:
    pols = policies(tmp_path, {"ui": {"ingress": {"enabled": True}}})
    assert allowed(pols, INGRESS_NGINX, DRIVER, 4040)
    assert not allowed(pols, NEIGHBOUR, DRIVER, 4040)
    assert not allowed(pols, INGRESS_NGINX, DRIVER, 7078)
    custom = policies(tmp_path, {"ui": {"ingress": {"enabled": True}, "port": 4050}, "networkPolicy": {
        "ingressControllerPeers": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}}]}})
    assert allowed(custom, pod("traefik"), DRIVER, 4050) and not allowed(custom, INGRESS_NGINX, DRIVER, 4050)


def test_nodeport_ui_is_open_and_ui_peers_are_added(tmp_path: Path) -> None:
    pols = policies(tmp_path, {"ui": {"service": {"type": "NodePort"}}})
    assert allowed(pols, external("203.0.113.9"), DRIVER, 4040) and allowed(pols, NEIGHBOUR, DRIVER, 4040)
    assert not allowed(pols, NEIGHBOUR, DRIVER, 7078)
    monitoring = pod("monitoring", app="prometheus")
    pols = policies(tmp_path, {"networkPolicy": {"uiPeers": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]}})
    assert allowed(pols, monitoring, DRIVER, 4040) and not allowed(pols, INGRESS_NGINX, DRIVER, 4040)


def test_tightened_dns_api_and_user_egress(tmp_path: Path) -> None:
    pols = policies(tmp_path, {"executor": {"blockManagerPort": 7090}, "networkPolicy": {
        "dnsPeers": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "apiServer": {"cidrs": ["10.0.0.1/32"], "ports": [443]},
        "egress": [{"to": [{"ipBlock": {"cidr": "52.216.0.0/15"}}], "ports": [{"port": 443, "protocol": "TCP"}]}],
    }})
    assert allowed(pols, DRIVER, KUBE_DNS, 53, "UDP") and not allowed(pols, DRIVER, NEIGHBOUR, 53, "UDP")
    assert allowed(pols, DRIVER, API_SERVER, 443) and not allowed(pols, DRIVER, external("10.0.0.2"), 443)
    assert not allowed(pols, DRIVER, API_SERVER, 6443)
    assert allowed(pols, EXECUTOR, OBJECT_STORE, 443) and allowed(pols, DRIVER, OBJECT_STORE, 443)
    assert not allowed(pols, EXECUTOR, external("8.8.8.8"), 443)
    assert allowed(pols, DRIVER, EXECUTOR, 7090) and allowed(pols, EXECUTOR, EXECUTOR, 7090)
    assert not allowed(pols, DRIVER, EXECUTOR, 7079)


def test_policy_ports_follow_the_pinned_spark_ports(tmp_path: Path) -> None:
    objs = render(tmp_path, {"driver": {"port": 30000, "blockManagerPort": 30001}, "executor": {"blockManagerPort": 30002}})
    conf = objs["Conf"][0]
    assert (conf["spark.driver.port"], conf["spark.driver.blockManager.port"], conf["spark.blockManager.port"]) == ("30000", "30001", "30002")
    pols = objs["NetworkPolicy"]
    assert allowed(pols, EXECUTOR, DRIVER, 30000) and allowed(pols, EXECUTOR, DRIVER, 30001)
    assert allowed(pols, DRIVER, EXECUTOR, 30002) and not allowed(pols, EXECUTOR, DRIVER, 7078)


def test_network_policy_can_be_disabled(tmp_path: Path) -> None:
    pols = policies(tmp_path, {"networkPolicy": {"enabled": False}})
    assert pols == [] and allowed(pols, NEIGHBOUR, DRIVER, 7078) and allowed(pols, EXECUTOR, OBJECT_STORE, 443)


# --- secrets and credentials ----------------------------------------------------------------------


def test_secret_env_and_files_reach_driver_and_executors(tmp_path: Path) -> None:
    objs = render(tmp_path, {"secrets": {
        "env": [{"name": "AWS_ACCESS_KEY_ID", "secretName": "s3", "key": "id"}],
        "files": [{"secretName": "krb", "mountPath": "/etc/krb", "items": [{"key": "keytab", "path": "app.keytab"}]}],
    }})
    for pod_obj in (objs["Pod"][0], objs["ExecutorTemplate"][0]):
        container = pod_obj["spec"]["containers"][0]
        env = {e["name"]: e for e in container["env"]}
        assert env["AWS_ACCESS_KEY_ID"] == {"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": "s3", "key": "id"}}}
        mount = next(m for m in container["volumeMounts"] if m["mountPath"] == "/etc/krb")
        assert mount["readOnly"] is True
        volume = next(v for v in pod_obj["spec"]["volumes"] if v["name"] == mount["name"])
        assert volume["secret"] == {"secretName": "krb", "defaultMode": 0o444, "items": [{"key": "keytab", "path": "app.keytab"}]}
    configmap = objs["ConfigMap"][0]
    assert "s3" not in configmap["data"]["spark-defaults.conf"]


def test_no_default_value_looks_like_a_credential(tmp_path: Path) -> None:
    """The defaults render (the chart's credential check passed on them) and hold no key material."""
    conf_map = render(tmp_path)["ConfigMap"][0]
    assert "PRIVATE KEY" not in yaml.safe_dump(conf_map)


CREDENTIAL_CASES = [
    ("s3a-secret-key", ["--set", "sparkConf.spark\\.hadoop\\.fs\\.s3a\\.secret\\.key=abc123"], "sparkConf.spark.hadoop.fs.s3a.secret.key looks like a credential"),
    ("s3a-access-key", ["--set", "sparkConf.spark\\.hadoop\\.fs\\.s3a\\.access\\.key=someid"], "sparkConf.spark.hadoop.fs.s3a.access.key"),
    ("session-token", ["--set", "sparkConf.spark\\.hadoop\\.fs\\.s3a\\.session\\.token=x"], "session.token"),
    ("keystore-password-camel", ["--set", "sparkConf.spark\\.ssl\\.keyStorePassword=x"], "spark.ssl.keyStorePassword"),
    ("azure-account-key", ["--set", "sparkConf.spark\\.hadoop\\.fs\\.azure\\.account\\.key\\.acct\\.dfs\\.core\\.windows\\.net=x"], "azure.account.key"),
    ("oauth-token", ["--set", "sparkConf.spark\\.kubernetes\\.authenticate\\.submission\\.oauthToken=x"], "oauthToken"),
    ("executor-env-secret", ["--set", "sparkConf.spark\\.executorEnv\\.AWS_SECRET_ACCESS_KEY=x"], "executorEnv.AWS_SECRET_ACCESS_KEY"),
    ("aws-key-id-value", ["--set", "sparkConf.spark\\.myapp\\.input=AKIAABCDEFGHIJKLMNOP"], "an AWS access key id"),
    ("url-password", ["--set", "sparkConf.spark\\.myapp\\.db=postgresql://etl:hunter2@db:5432/x"], "a password in a URL"),
    ("spark-env-export", ["--set-string", "sparkEnv=export PYSPARK_PYTHON=python3\nexport DB_PASSWORD=hunter2"], "sparkEnv line 2 (DB_PASSWORD)"),
    ("driver-env-literal", ["--set", "driver.env[0].name=API_TOKEN,driver.env[0].value=abc"], "driver.env[0] (API_TOKEN)"),
    ("executor-env-private-key", ["--set", "executor.env[0].name=PEM,executor.env[0].value=-----BEGIN RSA PRIVATE KEY-----"], "a private key"),
    ("argument-jwt", ["--set", "app.arguments[0]=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc"], "a JSON web token"),
    ("argument-github-token", ["--set", "app.arguments[0]=ghp_abcdefghijklmnopqrstuvwxyz0123456789"], "a GitHub token"),
]


@pytest.mark.parametrize(("case", "args", "needle"), CREDENTIAL_CASES, ids=[c[0] for c in CREDENTIAL_CASES])
def test_credentials_are_refused_with_a_pointer_to_secrets(cli: Any, case: str, args: list[str], needle: str) -> None:
    result = cli("values", "--set", f"app.mainApplicationFile={PI}", *args)
    assert_one_line_error(result, needle)
    assert "secrets.env" in result.stderr and "secrets.files" in result.stderr


ALLOWED_CONF = {
    "spark.hadoop.fs.s3a.aws.credentials.provider": "com.amazonaws.auth.WebIdentityTokenCredentialsProvider",
    "spark.hadoop.fs.s3a.secret.key": "${env.AWS_SECRET_ACCESS_KEY}",
    "spark.myapp.secret.file": "/etc/app/secret",
    "spark.kubernetes.executor.secretKeyRef.DB_PASSWORD": "db:password",
    "spark.kubernetes.executor.secrets.krb": "/etc/krb",
    "spark.security.credentials.hive.enabled": "false",
    "spark.kerberos.renewal.credentials": "ccache",
    "spark.kubernetes.kerberos.tokenSecret.name": "hadoop-token",
    "spark.kubernetes.kerberos.tokenSecret.itemKey": "token",
    "spark.sql.catalog.tokenizer": "x",
    "spark.redaction.regex": "(?i)secret|password",
    "spark.eventLog.dir": "s3a://logs/spark-events",
}


def test_look_alikes_that_are_not_credentials_pass(tmp_path: Path) -> None:
    objs = render(tmp_path, {"sparkConf": ALLOWED_CONF, "sparkEnv": "export HADOOP_TOKEN_FILE_LOCATION=/etc/t\nexport DB_PASSWORD=$(cat /etc/db/password)\n",
                              "driver": {"env": [{"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/var/run/token"}]}})
    conf = objs["Conf"][0]
    assert all(conf[k] == v for k, v in ALLOWED_CONF.items())


@pytest.mark.parametrize(("values", "needle"), [
    ({"sparkConf": {"spark.hadoop.fs.s3a.secret.key": "abc"}}, "sparkConf.spark.hadoop.fs.s3a.secret.key looks like a credential"),
    ({"sparkEnv": "export AWS_SECRET_ACCESS_KEY=abc"}, "sparkEnv line 1 (AWS_SECRET_ACCESS_KEY)"),
    ({"app": {"mainApplicationFile": PI, "arguments": ["AKIAABCDEFGHIJKLMNOP"]}}, "app.arguments[0] holds what looks like an AWS access key id"),
    ({"ui": {"ingress": {"enabled": True, "annotations": {"nginx.ingress.kubernetes.io/configuration-snippet": "x"}}}}, "snippet"),
])
def test_raw_helm_render_refuses_the_same(values: Obj, needle: str) -> None:
    assert needle in raw_render_error(merged(values))


CREDENTIAL_VALUE_EXAMPLES = {
    "an AWS access key id": "AKIAABCDEFGHIJKLMNOP",
    "a private key": "-----BEGIN OPENSSH PRIVATE KEY-----",
    "a GitHub token": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "a Slack token": "xoxb-1234567890-abcdef",
    "a JSON web token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc",
    "a Google API key": "AIza" + "A" * 35,
    "a password in a URL": "postgresql://etl:hunter2@db:5432/x",
}


def test_every_credential_value_pattern_has_an_example_the_hint_lets_through() -> None:
    """The chart runs the value patterns only where valueHint matches: a hint that misses one hides it."""
    patterns = yaml.safe_load((CHART / "files" / "credentials.yaml").read_text())
    assert set(CREDENTIAL_VALUE_EXAMPLES) == set(patterns["values"])
    for what, example in CREDENTIAL_VALUE_EXAMPLES.items():
        assert re.search(patterns["values"][what], example), what
        assert re.search(patterns["valueHint"], example), f"valueHint misses {what}"


@pytest.mark.parametrize("what", list(CREDENTIAL_VALUE_EXAMPLES))
def test_raw_helm_render_refuses_every_credential_value(what: str) -> None:
    values = {"app": {"mainApplicationFile": PI, "arguments": ["x", CREDENTIAL_VALUE_EXAMPLES[what]]}}
    assert f"app.arguments[1] holds what looks like {what}" in raw_render_error(merged(values))


def test_redaction_and_kill_defaults_and_overrides(tmp_path: Path) -> None:
    conf = render(tmp_path)["Conf"][0]
    assert conf["spark.ui.killEnabled"] == "false"
    regex = conf["spark.redaction.regex"]
    for word in ("secret", "password", "token", "access[.]?key", "credential", "account[.]?key"):
        assert word in regex
    assert "spark.redaction.string.regex" in conf
    conf = render(tmp_path, {"ui": {"killEnabled": True}, "sparkConf": {"spark.redaction.regex": "(?i)secret"}})["Conf"][0]
    assert conf["spark.ui.killEnabled"] == "true" and conf["spark.redaction.regex"] == "(?i)secret"


def test_redaction_regex_hides_what_the_credential_check_looks_for() -> None:
    """Java and Python agree on these simple regexes: every credential key we refuse is also redacted."""
    import re

    regex = yaml.safe_load((CHART / "files" / "secure-defaults.yaml").read_text())["spark.redaction.regex"]
    for key in ("spark.hadoop.fs.s3a.secret.key", "spark.hadoop.fs.s3a.access.key", "spark.ssl.keyStorePassword",
                "spark.hadoop.fs.azure.account.key.a.dfs.core.windows.net", "spark.hadoop.fs.s3a.session.token",
                "spark.hadoop.fs.azure.account.oauth2.client.secret", "spark.executorEnv.DB_PASSWORD"):
        assert re.search(regex, key), key


# --- UI Ingress -----------------------------------------------------------------------------------


def test_ingress_auth_annotations(tmp_path: Path) -> None:
    basic = render(tmp_path, {"ui": {"ingress": {"enabled": True, "auth": {"basicAuthSecret": "htpasswd", "realm": "Team A"}}}})["Ingress"][0]
    ann = basic["metadata"]["annotations"]
    assert ann["nginx.ingress.kubernetes.io/auth-type"] == "basic"
    assert ann["nginx.ingress.kubernetes.io/auth-secret"] == "htpasswd" and ann["nginx.ingress.kubernetes.io/auth-realm"] == "Team A"
    external_auth = render(tmp_path, {"ui": {"ingress": {"enabled": True, "auth": {"url": "https://sso/auth", "signin": "https://sso/start"}}}})["Ingress"][0]
    ann = external_auth["metadata"]["annotations"]
    assert ann["nginx.ingress.kubernetes.io/auth-url"] == "https://sso/auth" and ann["nginx.ingress.kubernetes.io/auth-signin"] == "https://sso/start"
    assert not any(k.endswith("-snippet") for k in ann)


@pytest.mark.parametrize("key", ["nginx.ingress.kubernetes.io/configuration-snippet", "nginx.ingress.kubernetes.io/server-snippet", "nginx.ingress.kubernetes.io/auth-snippet"])
@pytest.mark.parametrize("where", ["ui.ingress.annotations", "commonAnnotations"])
def test_snippet_annotations_are_refused(cli: Any, key: str, where: str) -> None:
    escaped = key.replace(".", "\\.")
    result = cli("template", "--set", f"app.mainApplicationFile={PI}", "--set", "ui.ingress.enabled=true", "--set", f"{where}.{escaped}=x")
    assert_one_line_error(result, key)


# --- Volcano --------------------------------------------------------------------------------------


def test_volcano_podgroup_links_driver_and_executors(tmp_path: Path) -> None:
    objs = render(tmp_path, {"scheduler": {"name": "volcano"}, "priorityClassName": "urgent",
                             "volcano": {"podGroup": {"queue": "team-a", "minMember": 1, "minResources": {"cpu": "4", "memory": "16Gi"}}}})
    (group,) = objs["PodGroup"]
    assert group["apiVersion"] == "scheduling.volcano.sh/v1beta1" and group["metadata"]["name"] == "etl-podgroup"
    assert group["spec"] == {"minMember": 1, "queue": "team-a", "priorityClassName": "urgent", "minResources": {"cpu": "4", "memory": "16Gi"}}
    for pod_obj in (objs["Pod"][0], objs["ExecutorTemplate"][0]):
        assert pod_obj["metadata"]["annotations"]["scheduling.k8s.io/group-name"] == "etl-podgroup"
        assert pod_obj["spec"]["schedulerName"] == "volcano"


@pytest.mark.parametrize("extra", [{}, {"scheduler": {"name": "yunikorn"}}, {"scheduler": {"name": "volcano"}, "volcano": {"podGroup": {"enabled": False}}}])
def test_no_podgroup_without_volcano(tmp_path: Path, extra: Obj) -> None:
    objs = render(tmp_path, extra)
    assert "PodGroup" not in objs
    assert "scheduling.k8s.io/group-name" not in (objs["ExecutorTemplate"][0]["metadata"].get("annotations") or {})


# --- connect mode ---------------------------------------------------------------------------------------


def test_connect_mode_keeps_the_pods_restricted_and_the_role_unchanged(tmp_path: Path) -> None:
    """A Spark Connect server needs no more permission than a batch driver, and its token stays on the driver."""
    batch = render(tmp_path)
    objs = render(tmp_path, {"connect": {"enabled": True, "authentication": {"secretName": "connect-token"}}})
    assert restricted_violations(objs["Pod"][0]) == [] and restricted_violations(objs["ExecutorTemplate"][0]) == []
    assert objs["Role"][0]["rules"] == batch["Role"][0]["rules"]
    driver_env = {e["name"] for e in objs["Pod"][0]["spec"]["containers"][0]["env"]}
    executor_env = {e["name"] for e in objs["ExecutorTemplate"][0]["spec"]["containers"][0].get("env", [])}
    assert "SPARK_CONNECT_AUTHENTICATE_TOKEN" in driver_env and "SPARK_CONNECT_AUTHENTICATE_TOKEN" not in executor_env
    assert not any("executorEnv" in key or "authenticate.token" in key for key in objs["Conf"][0])
