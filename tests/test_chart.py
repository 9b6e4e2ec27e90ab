"""The chart on its own, as ops teams use it with plain Helm."""

from __future__ import annotations

import json
import re
from pathlib import Path

import helm_python
import jsonschema
import pytest
import yaml

from sparkhelm.spec import layers as values_mod
from tests.conftest import CHART, PI, ROOT, VALUES_DIR

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
DEFAULTS = yaml.safe_load((CHART / "values.yaml").read_text())
ALL_VALUES_FILES = sorted(VALUES_DIR.glob("*.yaml")) + sorted((CHART / "ci").glob("*-values.yaml"))


def render(values: dict, release: str = "my-app", namespace: str = "ns") -> dict[str, str]:
    with helm_python.Chart.load(str(CHART)) as chart:
        return chart.render(values, name=release, namespace=namespace)


def test_chart_metadata() -> None:
    meta = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2" and meta["type"] == "application"
    assert meta["kubeVersion"] == ">=1.25.0-0"
    assert DEFAULTS["image"]["tag"] == "" and meta["appVersion"]


def test_schema_is_self_contained_draft7() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    refs = re.findall(r'"\$ref":\s*"([^"]+)"', (CHART / "values.schema.json").read_text())
    assert refs and all(ref.startswith("#/definitions/") for ref in refs)
    assert "global" in SCHEMA["properties"]


@pytest.mark.parametrize("path", ALL_VALUES_FILES, ids=lambda p: p.name)
def test_values_files_are_schema_valid(path: Path) -> None:
    merged = values_mod.coalesce(DEFAULTS, yaml.safe_load(path.read_text()))
    jsonschema.Draft7Validator(SCHEMA).validate(merged)


def test_global_is_accepted() -> None:
    render({"global": {"imageRegistry": "x"}, "app": {"mainApplicationFile": PI}})


@pytest.mark.parametrize("path", [None, *sorted((CHART / "ci").glob("*-values.yaml"))], ids=lambda p: p.name if p else "defaults")
def test_helm_lint_strict_has_no_errors(path: Path | None) -> None:
    values = yaml.safe_load(path.read_text()) if path else {}
    report = helm_python.lint(str(CHART), values, strict=True, namespace="ns")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def _leaf_keys_without_doc(text: str) -> list[str]:
    """Leaf keys of values.yaml with no helm-docs `# --` comment on them or on an ancestor.

    A documented key covers its children (helm-docs documents the whole object), as for
    securityContext blocks whose defaults are Kubernetes objects.
    """
    lines = text.splitlines()
    missing = []
    ancestors: list[tuple[int, bool]] = []
    for index, line in enumerate(lines):
        match = re.match(r"^(\s*)([A-Za-z][\w]*):(.*)$", line)
        if not match:
            continue
        indent, key, rest = len(match.group(1)), match.group(2), match.group(3).strip()
        while ancestors and ancestors[-1][0] >= indent:
            ancestors.pop()
        block = []
        back = index - 1
        while back >= 0 and lines[back].strip().startswith("#"):
            block.append(lines[back].strip())
            back -= 1
        documented = any(comment.startswith("# --") for comment in block)
        following = next((x for x in lines[index + 1:] if x.strip() and not x.strip().startswith("#")), "")
        is_parent = rest == "" and (len(following) - len(following.lstrip())) > indent
        covered = any(doc for _, doc in ancestors)
        if not is_parent and not documented and not covered:
            missing.append(key)
        ancestors.append((indent, documented))
    return missing


def test_every_value_is_documented() -> None:
    assert _leaf_keys_without_doc((CHART / "values.yaml").read_text()) == []
    assert _leaf_keys_without_doc("a:\n  # -- doc\n  b: 1\nc: 2\n") == ["c"]


@pytest.mark.parametrize(("values", "release", "message"), [
    ({"app": {"mainApplicationFile": PI}}, "x" * 48, "limit is 47"),
    ({"app": {"mainApplicationFile": PI}}, "my.app", "DNS-1035"),
    ({"app": {"mainApplicationFile": PI}, "sparkConf": {"spark.driver.host": "x"}}, "ok", "sparkConf.spark.driver.host is set by the chart"),
    ({"app": {"mainApplicationFile": PI}, "driver": {"nodeAffinity": {"values": ["a"]}, "affinity": {"nodeAffinity": {}}}}, "ok", "keep one of them"),
    ({"app": {"mainApplicationFile": ""}}, "ok", "mainApplicationFile"),
])
def test_chart_refuses_bad_input_for_raw_helm_users(values: dict, release: str, message: str) -> None:
    with pytest.raises(helm_python.HelmError, match=re.escape(message)):
        render(values, release=release)


def test_name_override_beats_release_name() -> None:
    out = render({"nameOverride": "etl", "app": {"mainApplicationFile": PI}}, release="some-release")
    pod = yaml.safe_load(out["spark-client-app/templates/driver-pod.yaml"])
    assert pod["metadata"]["name"] == "etl-driver"
    assert pod["metadata"]["labels"]["app.kubernetes.io/instance"] == "some-release"


def test_driver_pod_details() -> None:
    out = render({"app": {"mainApplicationFile": "local:///opt/app/main.jar", "mainClass": "com.example.Main", "arguments": ["--date", 20240101, True]},
                  "driver": {"memory": "2g"}, "image": {"pullSecrets": ["regcred"]}, "hadoop": {"configMap": "hadoop"}})
    pod = yaml.safe_load(out["spark-client-app/templates/driver-pod.yaml"])
    container = pod["spec"]["containers"][0]
    assert container["args"][:3] == ["/opt/spark/bin/spark-submit", "--conf", "spark.driver.bindAddress=$(SPARK_DRIVER_BIND_ADDRESS)"]
    assert container["args"][3:] == ["--class", "com.example.Main", "/opt/app/main.jar", "--date", "20240101", "true"]
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert "annotations" not in pod["metadata"]  # no checksum: a bare Pod is never rolled
    # 2g heap + max(384m, 10%) overhead
    assert container["resources"] == {"requests": {"cpu": "1", "memory": "2432Mi"}, "limits": {"memory": "2432Mi"}}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["HADOOP_CONF_DIR"] == "/etc/hadoop/conf"
    template = yaml.safe_load(yaml.safe_load(out["spark-client-app/templates/configmap.yaml"])["data"]["executor-pod-template.yaml"])
    assert {"name": "HADOOP_CONF_DIR", "value": "/etc/hadoop/conf"} in template["spec"]["containers"][0]["env"]
    assert template["spec"]["imagePullSecrets"] == [{"name": "regcred"}]


def test_spark_conf_values_print_as_spark_expects() -> None:
    out = render({"app": {"mainApplicationFile": PI}, "sparkConf": {"spark.a": 1000000, "spark.b": 0.25, "spark.c": True, "spark.d": "x y"}})
    conf = yaml.safe_load(out["spark-client-app/templates/configmap.yaml"])["data"]["spark-defaults.conf"]
    assert re.search(r"^spark\.a +1000000$", conf, re.M)
    assert re.search(r"^spark\.b +0\.25$", conf, re.M)
    assert re.search(r"^spark\.c +true$", conf, re.M)
    assert re.search(r"^spark\.d +x y$", conf, re.M)


@pytest.mark.parametrize(("values", "expected"), [
    ({}, "kubectl port-forward -n ns svc/my-app-ui-svc 4040:4040"),
    ({"ui": {"ingress": {"enabled": True, "host": "spark.example.com", "tls": {"enabled": True}}}}, "https://spark.example.com/my-app/"),
    ({"ui": {"ingress": {"enabled": True, "mode": "host", "domain": "example.com"}}}, "http://my-app.example.com/"),
    ({"driver": {"restartPolicy": "OnFailure"}}, "executors of a failed"),
])
def test_notes(values: dict, expected: str) -> None:
    notes = render({"app": {"mainApplicationFile": PI}, **values})["spark-client-app/templates/NOTES.txt"]
    assert expected in notes
    assert "kubectl logs -f -n ns my-app-driver" in notes
    assert "helm uninstall -n ns my-app" in notes


def test_wiring_keys_file_is_shared_by_chart_and_cli() -> None:
    wiring = yaml.safe_load((CHART / "files" / "wiring-keys.yaml").read_text())
    out = render({"ui": {"ingress": {"enabled": True}}, "dynamicAllocation": {"enabled": True},
                  "executor": {"memoryOverhead": "1g", "requestCores": 1, "limitCores": 2}, "image": {"pullSecrets": ["a"]},
                  "app": {"mainApplicationFile": PI, "jars": ["a.jar"], "files": ["f"], "pyFiles": ["p.zip"], "packages": ["a:b:1"], "repositories": ["r"], "archives": ["z.zip"]}})
    connect = render({"connect": {"enabled": True}})
    rendered_keys = set()
    for rendered in (out, connect):
        conf = yaml.safe_load(rendered["spark-client-app/templates/configmap.yaml"])["data"]["spark-defaults.conf"]
        rendered_keys |= {line.split()[0] for line in conf.splitlines() if line and not line.startswith("#")}
    # every key the chart sets is declared as wiring (except user-overridable defaults), and vice versa
    declared = set(wiring)
    overridable = set(yaml.safe_load((CHART / "files" / "secure-defaults.yaml").read_text())) | {"spark.jars.ivy"}
    # not in the conf: images are one key; the bind address is on the command line; the Connect server
    # binds every address by Spark's default, and its token comes from a Secret as an environment variable;
    # the RPC secret is a file at spark.authenticate.secret.file, the one path of both pods
    assert declared - rendered_keys <= {"spark.kubernetes.driver.container.image", "spark.kubernetes.executor.container.image", "spark.driver.bindAddress",
                                        "spark.connect.grpc.binding.address", "spark.connect.authenticate.token",
                                        "spark.authenticate.secret", "spark.authenticate.secret.driver.file", "spark.authenticate.secret.executor.file"}
    # set by the chart in connect mode only, refused in sparkConf there only (tests/test_connect_chart.py)
    connect_only = {"spark.dynamicAllocation.executorIdleTimeout"}
    assert rendered_keys - declared <= overridable | connect_only
    assert not overridable & declared


def test_example_files_exist() -> None:
    names = {p.name for p in VALUES_DIR.glob("*.yaml")}
    assert {"dev.yaml", "prod.yaml", "pyspark-pi.yaml", "scala-pi.yaml", "ui-host-ingress.yaml"} <= names
    prod = yaml.safe_load((VALUES_DIR / "prod.yaml").read_text())
    assert prod["scheduler"]["name"] == "volcano" and prod["ui"]["ingress"]["mode"] == "path"
    assert prod["driver"]["nodeAffinity"]["values"] and prod["executor"]["nodeAffinity"]["values"]
    text = (VALUES_DIR / "prod.yaml").read_text()
    assert all(tier in text for tier in ("routine", "urgent", "exceptional", "rush"))
    assert (ROOT / "README.md").is_file()


@pytest.mark.parametrize(("tls", "expected"), [
    (False, None),
    (True, [{"secretName": "my-app-ui-tls", "hosts": ["spark.example.com"]}]),
    ({"enabled": True}, [{"secretName": "my-app-ui-tls", "hosts": ["spark.example.com"]}]),
    ({"enabled": False, "secretName": "x"}, None),
    ([{"secretName": "wild"}], [{"secretName": "wild", "hosts": ["spark.example.com"]}]),
    ([{"secretName": "wild", "hosts": ["other.example.com"]}], [{"secretName": "wild", "hosts": ["other.example.com"]}]),
])
def test_ingress_tls_forms(tls: object, expected: object) -> None:
    out = render({"app": {"mainApplicationFile": PI}, "ui": {"ingress": {"enabled": True, "host": "spark.example.com", "tls": tls}}})
    ingress = yaml.safe_load(out["spark-client-app/templates/ui-ingress.yaml"])
    assert ingress["spec"].get("tls") == expected
    conf = yaml.safe_load(out["spark-client-app/templates/configmap.yaml"])["data"]["spark-defaults.conf"]
    scheme = "https" if expected else "http"
    assert re.search(rf"^spark\.ui\.proxyRedirectUri +{scheme}://spark\.example\.com$", conf, re.M)


def test_dependencies_map_and_pull_secret_objects() -> None:
    out = render({"app": {"mainApplicationFile": PI, "pyFiles": ["a.zip"], "dependencies": {"pyFiles": ["b.zip"], "packages": ["g:a:1"]}},
                  "image": {"pullSecrets": ["one", {"name": "two"}]}})
    conf = yaml.safe_load(out["spark-client-app/templates/configmap.yaml"])["data"]["spark-defaults.conf"]
    assert re.search(r"^spark\.submit\.pyFiles +a\.zip,b\.zip$", conf, re.M)
    assert re.search(r"^spark\.jars\.packages +g:a:1$", conf, re.M)
    assert re.search(r"^spark\.jars\.ivy +/tmp/\.ivy2$", conf, re.M)
    assert re.search(r"^spark\.kubernetes\.container\.image\.pullSecrets +one,two$", conf, re.M)
    pod = yaml.safe_load(out["spark-client-app/templates/driver-pod.yaml"])
    assert pod["spec"]["imagePullSecrets"] == [{"name": "one"}, {"name": "two"}]
