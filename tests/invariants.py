"""The wiring invariants of the chart (the README lists them), checked on rendered objects (reusable by every render test).

`check_application(objects, app_name=..., namespace=..., values=...)` raises AssertionError with
every violated rule; `values` are the effective values (chart defaults + computed values).
"""

from __future__ import annotations

import base64
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS_1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_KEY_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
IN_CLUSTER_MASTER = "k8s://https://kubernetes.default.svc:443"


SCHEMAS = Path(__file__).parent / "schemas"


@cache
def _crd_schema(kind: str, api_version: str) -> dict[str, Any] | None:
    path = SCHEMAS / f"{kind.lower()}-{api_version.replace('/', '-')}.json"
    return json.loads(path.read_text()) if path.is_file() else None


#: Gateway API kinds the chart renders -> (fixture under tests/schemas/gateway-api, the apiVersion in it).
GATEWAY_SCHEMAS = {
    ("HTTPRoute", "gateway.networking.k8s.io/v1"): ("httproute-v1.json", "gateway.networking.k8s.io/v1"),
    ("GRPCRoute", "gateway.networking.k8s.io/v1"): ("grpcroute-v1alpha2.json", "gateway.networking.k8s.io/v1alpha2"),
}


def _strict(node: Any) -> Any:
    """A copy of a schema in which every object that lists properties refuses others (kubernetes-validate's --strict)."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _strict(value) for key, value in node.items()}
    if isinstance(out.get("properties"), dict) and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


@cache
def gateway_schema(kind: str, api_version: str) -> dict[str, Any] | None:
    """The strict schema of a Gateway API route (tests/schemas/gateway-api/README.md), metadata left to kubernetes-validate."""
    entry = GATEWAY_SCHEMAS.get((kind, api_version))
    if entry is None:
        return None
    filename, published_version = entry
    published: dict[str, Any] = json.loads((SCHEMAS / "gateway-api" / filename).read_text())
    assert published["properties"]["apiVersion"]["enum"] == [published_version], filename
    published["properties"]["apiVersion"] = {"type": "string", "enum": [api_version]}
    published["properties"]["metadata"] = {"type": "object"}
    schema: dict[str, Any] = _strict(published)
    schema["required"] = sorted({*schema.get("required", []), "metadata", "spec"})
    return schema


def validate_strictly(obj: dict[str, Any], version: str) -> None:
    """Kubernetes schemas of `version` in strict mode; a CRD kind (Volcano's PodGroup) against tests/schemas;
    a Gateway API route against its published schema, made strict, its metadata as Kubernetes checks any object's."""
    gateway = gateway_schema(obj["kind"], obj["apiVersion"])
    crd = _crd_schema(obj["kind"], obj["apiVersion"])
    if gateway is not None:
        jsonschema.Draft7Validator(gateway).validate(obj)
        kubernetes_validate.validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]}, version, strict=True)
    elif crd is not None:
        jsonschema.Draft7Validator(crd).validate(obj)
    else:
        kubernetes_validate.validate(obj, version, strict=True)


_PROPERTY_WHITESPACE = " \t\f"
_PROPERTY_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _unescape_property(text: str) -> str:
    """java.util.Properties' escapes: \\t \\n \\r \\f \\uXXXX, and a backslash before anything else drops."""
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char != "\\" or index + 1 == len(text):
            out.append(char)
            index += 1
            continue
        nxt = text[index + 1]
        if nxt == "u":
            out.append(chr(int(text[index + 2 : index + 6], 16)))
            index += 6
        else:
            out.append(_PROPERTY_ESCAPES.get(nxt, nxt))
            index += 2
    return "".join(out)


def _split_property(line: str) -> tuple[str, str]:
    """A logical line as Properties.load splits it: the key ends at an unescaped whitespace, '=' or ':';
    whitespace and at most one '=' or ':' separate it from the value."""
    index, escaped = 0, False
    while index < len(line):
        char = line[index]
        if not escaped and (char in "=:" or char in _PROPERTY_WHITESPACE):
            break
        escaped = char == "\\" and not escaped
        index += 1
    key, rest = line[:index], line[index:]
    rest = rest.lstrip(_PROPERTY_WHITESPACE)
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(_PROPERTY_WHITESPACE)
    return _unescape_property(key), _unescape_property(rest)


def parse_spark_defaults(text: str) -> dict[str, str]:
    """spark-defaults.conf as Spark reads it: java.util.Properties.load, then each value trimmed.

    Hand-written (about 40 lines) because the test dependencies hold no properties reader (PyPI's
    javaproperties would do); tests/test_chart_sparkconf.py checks it against the JVM's own
    Properties.load on the same rendered files. A line that ends in an odd
    number of backslashes would continue on the next one; the chart never writes one, so that is an
    error here.
    """
    conf: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.lstrip(_PROPERTY_WHITESPACE)
        if not line or line[0] in "#!":
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        assert trailing % 2 == 0, f"spark-defaults.conf line continues on the next one: {raw!r}"
        key, value = _split_property(line)
        assert key not in conf, f"spark-defaults.conf sets {key} twice"
        conf[key] = value.strip("".join(chr(c) for c in range(33)))
    return conf


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _one(objects: list[dict[str, Any]], kind: str, problems: list[str]) -> dict[str, Any] | None:
    found = [o for o in objects if o["kind"] == kind]
    if len(found) != 1:
        problems.append(f"expected exactly one {kind}, found {len(found)}")
        return None
    return found[0]


def _get(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def check_names_and_labels(objects: list[dict[str, Any]], problems: list[str]) -> None:
    """Names <= 63 (DNS-1123), Service names DNS-1035, label keys and values valid."""
    for obj in objects:
        meta = obj["metadata"]
        name = meta["name"]
        if len(name) > 63 or not DNS_1123_SUBDOMAIN.match(name):
            problems.append(f"{obj['kind']}/{name}: name longer than 63 or not DNS-1123")
        if obj["kind"] == "Service" and not DNS_1035.match(name):
            problems.append(f"Service/{name}: not a DNS-1035 label")
        for key, value in (meta.get("labels") or {}).items():
            if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
                problems.append(f"{obj['kind']}/{name}: label {key}={value!r} is not a valid label value")
            if len(key.rsplit("/", 1)[-1]) > 63 or not LABEL_KEY_NAME.match(key.rsplit("/", 1)[-1]):
                problems.append(f"{obj['kind']}/{name}: label key {key!r} is invalid")


def check_application(objects: list[dict[str, Any]], *, app_name: str, namespace: str, values: dict[str, Any]) -> dict[str, Any]:
    """Check all invariants; return the parsed pieces (conf, template, pods) for further asserts."""
    problems: list[str] = []
    # 1. app-name
    if len(app_name) > 47 or not DNS_1035.match(app_name):
        problems.append(f"app-name {app_name!r} is not a DNS-1035 label of <= 47 characters")
    for obj in objects:
        labels = obj["metadata"].get("labels") or {}
        if labels.get("app-name") != app_name:
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: app-name label is {labels.get('app-name')!r}")
        if obj["metadata"].get("namespace") != namespace:
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: namespace {obj['metadata'].get('namespace')!r}")
        if not obj["metadata"]["name"].startswith(app_name + "-"):
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: name does not start with the app-name")
    check_names_and_labels(objects, problems)

    pod = _one(objects, "Pod", problems)
    configmap = _one(objects, "ConfigMap", problems)
    if pod is None or configmap is None:
        raise AssertionError("; ".join(problems))
    conf = parse_spark_defaults(configmap["data"]["spark-defaults.conf"])
    template = yaml.safe_load(configmap["data"]["executor-pod-template.yaml"])
    container = pod["spec"]["containers"][0]
    pod_labels = pod["metadata"]["labels"]
    env = {e["name"]: e for e in container.get("env", [])}
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}

    # 2. driver pod name
    if conf.get("spark.kubernetes.driver.pod.name") != pod["metadata"]["name"]:
        problems.append("spark.kubernetes.driver.pod.name != driver pod name")
    if pod_labels.get("spark-role") != "driver":
        problems.append("driver pod lacks spark-role: driver")

    # 3. driver host, ports, headless Service
    services = {s["metadata"]["name"]: s for s in objects if s["kind"] == "Service"}
    headless = [s for s in services.values() if s["spec"].get("clusterIP") == "None"]
    if len(headless) != 1:
        problems.append(f"expected one headless Service, found {len(headless)}")
    else:
        svc = headless[0]
        expected_host = f"{svc['metadata']['name']}.{namespace}.svc"
        if conf.get("spark.driver.host") != expected_host:
            problems.append(f"spark.driver.host {conf.get('spark.driver.host')!r} != {expected_host!r}")
        if svc["spec"].get("publishNotReadyAddresses") is not True:
            problems.append("headless Service lacks publishNotReadyAddresses: true")
        svc_ports = {p["port"]: p.get("targetPort") for p in svc["spec"]["ports"]}
        for key in ("spark.driver.port", "spark.driver.blockManager.port"):
            port = int(conf.get(key, "-1"))
            if svc_ports.get(port) != port:
                problems.append(f"{key}={port} is not a port (and targetPort) of the headless Service")
            if port not in ports.values():
                problems.append(f"{key}={port} is not a container port of the driver")
        if not _selects(svc["spec"]["selector"], pod_labels):
            problems.append("headless Service does not select the driver pod")
        if _selects(svc["spec"]["selector"], template["metadata"]["labels"]):
            problems.append("headless Service selects executor pods too")
    if env.get("SPARK_DRIVER_BIND_ADDRESS", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") != "status.podIP":
        problems.append("driver bind address is not the pod IP")
    if "spark.driver.bindAddress=$(SPARK_DRIVER_BIND_ADDRESS)" not in container.get("args", []):
        problems.append("spark-submit is not given spark.driver.bindAddress")

    # 4. executor pod name prefix
    if conf.get("spark.kubernetes.executor.podNamePrefix") != app_name:
        problems.append("spark.kubernetes.executor.podNamePrefix != app-name")

    # 5. executor template path == ConfigMap mount + item
    conf_dir = env.get("SPARK_CONF_DIR", {}).get("value")
    mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
    cm_volumes = [v for v in pod["spec"].get("volumes", []) if v.get("configMap", {}).get("name") == configmap["metadata"]["name"]]
    if len(cm_volumes) != 1:
        problems.append("the ConfigMap is not mounted exactly once in the driver")
    else:
        volume = cm_volumes[0]
        mount = mounts.get(volume["name"])
        if not mount or mount.get("readOnly") is not True or mount["mountPath"] != conf_dir:
            problems.append("the ConfigMap is not mounted read-only at SPARK_CONF_DIR")
        else:
            items = {i["key"]: i["path"] for i in volume["configMap"].get("items", [])} or {k: k for k in configmap["data"]}
            for key in ("spark-defaults.conf", "spark-env.sh", "executor-pod-template.yaml"):
                if key not in items or key not in configmap["data"]:
                    problems.append(f"{key} is not in the mounted ConfigMap")
            expected = f"{mount['mountPath']}/{items.get('executor-pod-template.yaml')}"
            if conf.get("spark.kubernetes.executor.podTemplateFile") != expected:
                problems.append(f"podTemplateFile {conf.get('spark.kubernetes.executor.podTemplateFile')!r} != {expected!r}")

    # 6. UI: Service -> driver UI port; Ingress path == proxyBase
    ui_services = [s for s in services.values() if (s["metadata"].get("labels") or {}).get("app.kubernetes.io/component") == "ui"]
    ui_port = int(conf.get("spark.ui.port", "4040"))
    if len(ui_services) != 1:
        problems.append(f"expected one UI Service, found {len(ui_services)}")
    else:
        ui_svc = ui_services[0]
        if not _selects(ui_svc["spec"]["selector"], pod_labels) or _selects(ui_svc["spec"]["selector"], template["metadata"]["labels"]):
            problems.append("UI Service does not select the driver (only)")
        if [p.get("targetPort") for p in ui_svc["spec"]["ports"]] != [ui_port] or ports.get("spark-ui") != ui_port:
            problems.append("UI Service does not route to the driver's spark.ui.port")
    ingresses = [o for o in objects if o["kind"] == "Ingress"]
    ingress_values = _get(values, "ui.ingress") or {}
    if bool(ingresses) != bool(ingress_values.get("enabled")):
        problems.append("Ingress presence does not match ui.ingress.enabled")
    for ingress in ingresses:
        rule = ingress["spec"]["rules"][0]
        path = rule["http"]["paths"][0]
        backend = path["backend"]["service"]
        if ui_services and (backend["name"] != ui_services[0]["metadata"]["name"] or backend["port"]["number"] != ui_services[0]["spec"]["ports"][0]["port"]):
            problems.append("Ingress does not route to the UI Service port")
        if ingress_values.get("mode") == "path":
            prefix = path["path"].removesuffix("(/|$)(.*)")
            if conf.get("spark.ui.proxyBase") != prefix or prefix == path["path"]:
                problems.append(f"spark.ui.proxyBase {conf.get('spark.ui.proxyBase')!r} != Ingress path prefix {prefix!r}")
            if ingress["metadata"].get("annotations", {}).get("nginx.ingress.kubernetes.io/rewrite-target") != "/$2":
                problems.append("path-mode Ingress lacks the rewrite to /$2")
            if not conf.get("spark.ui.proxyRedirectUri"):
                problems.append("path mode without spark.ui.proxyRedirectUri")
        else:
            domain = ingress_values.get("domain") or ingress_values.get("host")
            if rule.get("host") != f"{app_name}.{domain}":
                problems.append(f"host-mode Ingress host {rule.get('host')!r} is not <app>.<domain>")
            if "spark.ui.proxyBase" in conf:
                problems.append("host mode must not set spark.ui.proxyBase")
    routes = [o for o in objects if o["kind"] == "HTTPRoute"]
    check_ui_route(routes, conf, ui_services, values, app_name, problems)
    if not ingresses and not routes and "spark.ui.proxyBase" in conf:
        problems.append("spark.ui.proxyBase without an Ingress or an HTTPRoute")

    # 6b. Connect mode: the server, its port, Service, probes and route
    check_connect(objects, conf, pod, container, template, values, problems)

    # 6c. Spark's RPC authentication and encryption: the secret is a file from a Secret on both sides
    check_rpc_security(objects, conf, pod, template, values, problems)

    # 7. client mode, in-cluster master, namespace
    if conf.get("spark.submit.deployMode") != "client":
        problems.append("spark.submit.deployMode is not client")
    if conf.get("spark.master") != IN_CLUSTER_MASTER:
        problems.append(f"spark.master is {conf.get('spark.master')!r}")
    if conf.get("spark.kubernetes.namespace") != namespace:
        problems.append("spark.kubernetes.namespace != release namespace")

    # 8. executor template
    t_labels = template["metadata"]["labels"]
    t_spec = template["spec"]
    if t_labels.get("app-name") != app_name or t_labels.get("spark-role") != "executor":
        problems.append("executor template lacks app-name / spark-role: executor")
    for key, field in (("priorityClassName", "priorityClassName"), ("scheduler.name", "schedulerName")):
        if (_get(values, key) or None) != t_spec.get(field):
            problems.append(f"executor template {field} {t_spec.get(field)!r} != {key} {_get(values, key)!r}")
        if (_get(values, key) or None) != pod["spec"].get(field):
            problems.append(f"driver {field} {pod['spec'].get(field)!r} != {key} {_get(values, key)!r}")
    for role, spec in (("executor", t_spec), ("driver", pod["spec"])):
        wanted = _get(values, f"{role}.nodeAffinity.values")
        terms = (((spec.get("affinity") or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms")
        explicit = (_get(values, f"{role}.affinity") or {}).get("nodeAffinity")
        if wanted:
            expression = {"key": _get(values, f"{role}.nodeAffinity.key") or "type", "operator": "In", "values": wanted}
            if terms != [{"matchExpressions": [expression]}]:
                problems.append(f"{role} node affinity {terms!r} != {expression!r}")
        elif explicit is not None and (spec.get("affinity") or {}).get("nodeAffinity") != explicit:
            problems.append(f"{role} affinity.nodeAffinity not rendered as given")
        elif explicit is None and terms:
            problems.append(f"{role} has a node affinity nobody asked for")
        if (_get(values, f"{role}.tolerations") or None) != spec.get("tolerations"):
            problems.append(f"{role} tolerations differ from values")
        if (_get(values, f"{role}.podSecurityContext") or None) != spec.get("securityContext"):
            problems.append(f"{role} pod securityContext differs from values")
    t_container = t_spec["containers"][0]
    if (_get(values, "executor.securityContext") or None) != t_container.get("securityContext"):
        problems.append("executor container securityContext differs from values")
    if conf.get("spark.kubernetes.executor.podTemplateContainerName") != t_container["name"]:
        problems.append("podTemplateContainerName != the template's container")
    if t_spec.get("enableServiceLinks") is not False or pod["spec"].get("enableServiceLinks") is not False:
        problems.append("enableServiceLinks must be false on driver and executors")
    # A failed pod's reason is the tail of its log when Spark wrote no termination message.
    for role, spark_container in (("driver", container), ("executor", t_container)):
        if spark_container.get("terminationMessagePolicy") != "FallbackToLogsOnError":
            problems.append(f"{role} container lacks terminationMessagePolicy: FallbackToLogsOnError")
    check_operations(objects, pod, template, conf, values, problems)
    if problems:
        raise AssertionError("wiring invariants violated:\n  " + "\n  ".join(problems))
    return {"conf": conf, "template": template, "pod": pod, "configmap": configmap}


def _secret_file(pod: dict[str, Any], path: str) -> tuple[str, str] | None:
    """(Secret name, key) of the read-only secret volume item that puts a file at `path` in the pod's first container."""
    container = pod["spec"]["containers"][0]
    volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        secret = volumes.get(mount["name"], {}).get("secret")
        if secret is None or mount.get("readOnly") is not True or mount.get("subPath"):
            continue
        for item in secret.get("items") or []:
            if f"{mount['mountPath'].rstrip('/')}/{item['path']}" == path:
                return secret["secretName"], item["key"]
    return None


def check_rpc_security(objects: list[dict[str, Any]], conf: dict[str, str], pod: dict[str, Any], template: dict[str, Any],
                       values: dict[str, Any], problems: list[str]) -> None:
    """security.rpc: spark.authenticate reads one Secret's key as a read-only file at one path in the driver and the
    executors; encryption only with authentication; the secret never in an environment variable or the ConfigMap."""
    rpc = _get(values, "security.rpc") or {}
    auth, encryption = conf.get("spark.authenticate"), conf.get("spark.network.crypto.enabled")
    if auth != ("true" if rpc.get("authenticate") else "false"):
        problems.append(f"spark.authenticate {auth!r} != security.rpc.authenticate {rpc.get('authenticate')!r}")
    if encryption != ("true" if rpc.get("authenticate") and rpc.get("encryption") else "false"):
        problems.append(f"spark.network.crypto.enabled {encryption!r} does not follow security.rpc")
    if conf.get("spark.io.encryption.enabled") != ("true" if _get(values, "security.ioEncryption.enabled") else "false"):
        problems.append("spark.io.encryption.enabled does not follow security.ioEncryption.enabled")
    for key in ("spark.authenticate.secret", "spark.authenticate.secret.driver.file", "spark.authenticate.secret.executor.file"):
        if key in conf:
            problems.append(f"{key} is in spark-defaults.conf")
    secrets = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Secret"}
    for role, spec_pod in (("driver", pod), ("executor", template)):
        for env in spec_pod["spec"]["containers"][0].get("env") or []:
            if "AUTH_SECRET" in env["name"]:
                problems.append(f"{role} has the environment variable {env['name']}")
    if auth != "true":
        if "spark.authenticate.secret.file" in conf or any(o["metadata"]["name"].endswith("-rpc-secret") for o in secrets.values()):
            problems.append("authentication is off but a secret file or Secret is rendered")
        return
    executor_env = {e["name"]: e.get("value") for e in template["spec"]["containers"][0].get("env") or []}
    if executor_env.get("SPARK_JAVA_OPT_MASTER") != f"-Dspark.master={conf.get('spark.master')}":
        problems.append("executors lack spark.master among their JVM options: Spark would not read the secret file")
    path = conf.get("spark.authenticate.secret.file", "")
    sources = {role: _secret_file(spec_pod, path) for role, spec_pod in (("driver", pod), ("executor", template))}
    if sources["driver"] is None or sources["driver"] != sources["executor"]:
        problems.append(f"spark.authenticate.secret.file {path!r} is not the same read-only Secret item in both pods: {sources}")
        return
    name, key = sources["driver"]
    if rpc.get("existingSecret"):
        if (name, key) != (rpc["existingSecret"], rpc.get("existingSecretKey") or "secret") or secrets:
            problems.append(f"existingSecret: mounted {name}/{key}, rendered Secrets {sorted(secrets)}")
    elif name not in secrets or key not in (secrets[name].get("data") or {}) or secrets[name].get("immutable") is not True:
        problems.append(f"the mounted Secret {name} (key {key}) is not an immutable Secret the chart renders")
    else:
        secret = base64.b64decode(secrets[name]["data"][key]).decode()
        if rpc.get("secret") and secret != rpc["secret"]:
            problems.append("the rendered secret is not security.rpc.secret")
        configmaps = [o for o in objects if o["kind"] == "ConfigMap"]
        if any(secret in json.dumps(o) for o in [pod, template, *configmaps]):
            problems.append("the RPC secret appears in clear in a pod spec or a ConfigMap")


def _meta(obj: dict[str, Any], field: str) -> dict[str, str]:
    return obj["metadata"].get(field) or {}


def check_operations(objects: list[dict[str, Any]], pod: dict[str, Any], template: dict[str, Any], conf: dict[str, str],
                     values: dict[str, Any], problems: list[str]) -> None:
    """Metrics, queues and gangs: what scrapes or groups the pods must point at them.

    9. The PodMonitor selects the driver (and no executor), on the driver's UI port, at the paths the
       driver serves; without one, metrics scrape annotations name the same port and path.
    10. A gang (native PodGroup/Workload, Kueue pod group, YuniKorn task group) names an object or a
       group that exists, holds only executors, and expects no more executors than Spark asks for.
    11. `ttl` is on every object as sparkhelm.io/ttl.
    """
    container = pod["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    ui_port = int(conf.get("spark.ui.port", "4040"))
    served = conf.get("spark.metrics.conf.driver.sink.prometheusServlet.path")
    driver_path = served.rstrip("/") + "/" if served is not None else None  # the servlet's context answers at .../
    monitors = [o for o in objects if o["kind"] == "PodMonitor"]
    annotations = _meta(pod, "annotations")
    if monitors:
        if driver_path is None or conf.get("spark.ui.prometheus.enabled") != "true":
            problems.append("a PodMonitor without the driver's PrometheusServlet sink or spark.ui.prometheus.enabled")
        for monitor in monitors:
            selector = monitor["spec"]["selector"]["matchLabels"]
            if not _selects(selector, _meta(pod, "labels")) or _selects(selector, template["metadata"]["labels"]):
                problems.append("the PodMonitor does not select the driver pod (only)")
            if monitor["spec"].get("namespaceSelector") != {"matchNames": [pod["metadata"]["namespace"]]}:
                problems.append("the PodMonitor does not look in the release namespace")
            endpoints = monitor["spec"]["podMetricsEndpoints"]
            if {ports.get(e["port"]) for e in endpoints} != {ui_port}:
                problems.append("the PodMonitor does not scrape the driver's spark.ui.port")
            if [e["path"] for e in endpoints] != [driver_path, "/metrics/executors/prometheus"]:
                problems.append(f"the PodMonitor scrapes {[e['path'] for e in endpoints]}, the driver serves {driver_path}")
        if "prometheus.io/scrape" in annotations:
            problems.append("the driver carries scrape annotations and a PodMonitor: Prometheus would scrape it twice")
    elif driver_path is not None:
        if annotations.get("prometheus.io/scrape") != "true" or annotations.get("prometheus.io/port") != str(ui_port) \
                or annotations.get("prometheus.io/path") != driver_path:
            problems.append("metrics are served but the driver's scrape annotations do not name spark.ui.port and the path")
    elif "prometheus.io/scrape" in annotations and not _get(values, "driver.annotations"):
        problems.append("scrape annotations without metrics")

    spec = template["spec"]
    groups = {o["metadata"]["name"]: o for o in objects if o["apiVersion"].startswith("scheduling.k8s.io/")}
    reference = (spec.get("schedulingGroup") or {}).get("podGroupName") or (spec.get("workloadRef") or {}).get("name")
    if reference or groups:
        group = groups.get(reference or "")
        if group is None or len(groups) != 1:
            problems.append(f"the executors name the gang {reference!r}, the chart renders {sorted(groups)}")
        else:
            kind = "Workload" if "workloadRef" in spec else "PodGroup"
            if group["kind"] != kind:
                problems.append(f"the executors name a {kind}, the chart renders a {group['kind']}")
            policy = group["spec"]["podGroups"][0]["policy"] if kind == "Workload" else group["spec"]["schedulingPolicy"]
            if "workloadRef" in spec and spec["workloadRef"].get("podGroup") != group["spec"]["podGroups"][0]["name"]:
                problems.append("the executors' workloadRef.podGroup is not the Workload's pod group")
            wanted = _initial_executors(conf)
            if policy["gang"]["minCount"] > max(wanted, 1):
                problems.append(f"gang minCount {policy['gang']['minCount']} > the {wanted} executors Spark asks for")
        if "schedulingGroup" in pod["spec"] or "workloadRef" in pod["spec"]:
            problems.append("the driver is in a gang: it creates the executors, the gang would never be complete")
    t_labels, t_annotations = template["metadata"]["labels"], template["metadata"].get("annotations") or {}
    kueue_group = t_annotations.get("kueue.x-k8s.io/pod-group-name") or t_labels.get("kueue.x-k8s.io/pod-group-name")
    if kueue_group:
        if t_annotations.get("kueue.x-k8s.io/pod-group-total-count") != conf.get("spark.executor.instances") \
                or conf.get("spark.dynamicAllocation.enabled") == "true":
            problems.append("the Kueue pod group's size is not the fixed spark.executor.instances")
        if "kueue.x-k8s.io/pod-group-name" in _meta(pod, "labels") or "kueue.x-k8s.io/pod-group-name" in annotations:
            problems.append("the driver is in the Kueue pod group of its executors")
    if t_labels.get("kueue.x-k8s.io/queue-name") != _meta(pod, "labels").get("kueue.x-k8s.io/queue-name"):
        problems.append("the driver and the executors are in different Kueue queues")
    for key in ("yunikorn.apache.org/app-id", "yunikorn.apache.org/queue"):
        if t_labels.get(key) != _meta(pod, "labels").get(key):
            problems.append(f"the driver and the executors differ in {key}")
    task_groups = annotations.get("yunikorn.apache.org/task-groups")
    if task_groups is not None:
        names = [g["name"] for g in json.loads(task_groups)]
        if annotations.get("yunikorn.apache.org/task-group-name") not in names or t_annotations.get("yunikorn.apache.org/task-group-name") not in names:
            problems.append("a pod's YuniKorn task group is not among the driver's task groups")
    queue = _get(values, "scheduler.queue")
    for volcano in (o for o in objects if o["apiVersion"].startswith("scheduling.volcano.sh/")):
        if queue and volcano["spec"].get("queue") != queue:
            problems.append(f"the Volcano PodGroup's queue {volcano['spec'].get('queue')!r} is not scheduler.queue {queue!r}")
    ttl = _get(values, "ttl")
    for obj in objects:
        if ttl and _meta(obj, "annotations").get("sparkhelm.io/ttl") != ttl:
            problems.append(f"{obj['kind']}/{obj['metadata']['name']} lacks sparkhelm.io/ttl: {ttl}")
        if not ttl and "sparkhelm.io/ttl" in _meta(obj, "annotations"):
            problems.append(f"{obj['kind']}/{obj['metadata']['name']} has a ttl nobody set")


def _initial_executors(conf: dict[str, str]) -> int:
    instances = int(conf.get("spark.executor.instances", "2"))
    if conf.get("spark.dynamicAllocation.enabled") == "true":
        return max(instances, int(conf.get("spark.dynamicAllocation.minExecutors", "0")))
    return instances
CONNECT_SERVER = "org.apache.spark.sql.connect.service.SparkConnectServer"
CONNECT_SERVICE = "spark.connect.SparkConnectService"


def check_ui_route(routes: list[dict[str, Any]], conf: dict[str, str], ui_services: list[dict[str, Any]],
                   values: dict[str, Any], app_name: str, problems: list[str]) -> None:
    """Invariant 6 for the Gateway API HTTPRoute: backend = the UI Service port; path mode rewrites the
    prefix to / with ReplacePrefixMatch and the prefix is spark.ui.proxyBase; host mode is <app>.<domain>."""
    route_values = _get(values, "ui.httpRoute") or {}
    if len(routes) != (1 if route_values.get("enabled") else 0):
        problems.append(f"{len(routes)} HTTPRoutes with ui.httpRoute.enabled={route_values.get('enabled')!r}")
    for route in routes:
        spec = route["spec"]
        if not spec.get("parentRefs") or spec["parentRefs"] != route_values.get("parentRefs"):
            problems.append("HTTPRoute parentRefs differ from ui.httpRoute.parentRefs")
        (rule,) = spec["rules"]
        (backend,) = rule["backendRefs"]
        if ui_services and (backend.get("name"), backend.get("port")) != (ui_services[0]["metadata"]["name"], ui_services[0]["spec"]["ports"][0]["port"]):
            problems.append("HTTPRoute does not route to the UI Service port")
        (match,) = rule["matches"]
        if (route_values.get("mode") or "path") == "path":
            prefix = match["path"]["value"]
            if match["path"].get("type") != "PathPrefix" or conf.get("spark.ui.proxyBase") != prefix or prefix in ("", "/"):
                problems.append(f"spark.ui.proxyBase {conf.get('spark.ui.proxyBase')!r} != HTTPRoute path prefix {prefix!r}")
            rewrite = [f for f in rule.get("filters") or [] if f.get("type") == "URLRewrite"]
            if [f["urlRewrite"]["path"] for f in rewrite] != [{"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}]:
                problems.append("path-mode HTTPRoute does not replace its prefix with / (URLRewrite ReplacePrefixMatch)")
            if any("nginx.ingress.kubernetes.io" in key for key in (route["metadata"].get("annotations") or {})):
                problems.append("HTTPRoute carries ingress-nginx annotations")
            if not conf.get("spark.ui.proxyRedirectUri"):
                problems.append("path mode without spark.ui.proxyRedirectUri")
        else:
            if spec.get("hostnames") != [f"{app_name}.{route_values.get('domain')}"]:
                problems.append(f"host-mode HTTPRoute hostnames {spec.get('hostnames')!r} are not [<app>.<domain>]")
            if match["path"] != {"type": "PathPrefix", "value": "/"} or rule.get("filters"):
                problems.append("host-mode HTTPRoute must serve / as it is")
            if "spark.ui.proxyBase" in conf:
                problems.append("host mode must not set spark.ui.proxyBase")


def check_connect(objects: list[dict[str, Any]], conf: dict[str, str], pod: dict[str, Any], container: dict[str, Any],
                  template: dict[str, Any], values: dict[str, Any], problems: list[str]) -> None:
    """Connect mode: spark-submit runs the server (no application file), its gRPC port is the container's,
    the Connect Service's (selecting the driver only) and the GRPCRoute's backend; TCP probes on it (never
    grpc: the server has no health service); no Connect object at all without connect.enabled."""
    enabled = bool(_get(values, "connect.enabled"))
    services = [s for s in objects if s["kind"] == "Service" and (s["metadata"].get("labels") or {}).get("app.kubernetes.io/component") == "connect"]
    routes = [o for o in objects if o["kind"] == "GRPCRoute"]
    args = container.get("args", [])
    if not enabled:
        if services or routes or any(k.startswith("spark.connect.") for k in conf) or CONNECT_SERVER in args:
            problems.append("Connect objects or keys without connect.enabled")
        return
    port = _get(values, "connect.port")
    if args[3:] != ["--class", CONNECT_SERVER]:
        problems.append(f"the driver's spark-submit runs {args[3:]!r}, not --class {CONNECT_SERVER} alone")
    if conf.get("spark.connect.grpc.binding.port") != str(port) or conf.get("spark.connect.grpc.port.maxRetries") != "0":
        problems.append("spark.connect.grpc.binding.port is not connect.port (or the server may move to another port)")
    if "spark.connect.grpc.binding.address" in conf:
        problems.append("the server binds one address only: the Service, the probes or port-forwards miss it")
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    if ports.get("spark-connect") != port:
        problems.append("the driver container does not expose connect.port")
    probes = {name: container.get(name) for name in ("startupProbe", "readinessProbe", "livenessProbe")}
    for name, probe in probes.items():
        if probe is not None and (set(probe) & {"grpc", "httpGet", "exec"} or probe.get("tcpSocket") != {"port": port}):
            problems.append(f"{name} is not a TCP probe of connect.port: {probe!r}")
    if probes["readinessProbe"] is None:
        problems.append("no readiness probe: the Connect Service would send clients to a server that does not listen yet")
    if pod["spec"].get("restartPolicy") != (_get(values, "connect.restartPolicy") or "Always"):
        problems.append("the driver's restartPolicy is not connect.restartPolicy")
    if len(services) != 1:
        problems.append(f"expected one Connect Service, found {len(services)}")
    else:
        svc = services[0]
        if not _selects(svc["spec"]["selector"], pod["metadata"]["labels"]) or _selects(svc["spec"]["selector"], template["metadata"]["labels"]):
            problems.append("the Connect Service does not select the driver (only)")
        if [(p["port"], p.get("targetPort")) for p in svc["spec"]["ports"]] != [(port, port)]:
            problems.append("the Connect Service does not route connect.port to the driver's connect.port")
        if svc["spec"].get("publishNotReadyAddresses"):
            problems.append("the Connect Service publishes a server that is not ready")
    route_values = _get(values, "connect.grpcRoute") or {}
    if len(routes) != (1 if route_values.get("enabled") else 0):
        problems.append(f"{len(routes)} GRPCRoutes with connect.grpcRoute.enabled={route_values.get('enabled')!r}")
    for route in routes:
        (rule,) = route["spec"]["rules"]
        backends = [(b.get("name"), b.get("port")) for b in rule["backendRefs"]]
        if services and backends != [(services[0]["metadata"]["name"], port)]:
            problems.append(f"GRPCRoute backends {backends!r} are not the Connect Service port")
        if [m.get("method", {}).get("service") for m in rule.get("matches", [])] != [CONNECT_SERVICE]:
            problems.append("GRPCRoute does not match Spark Connect's gRPC service")
        if route["spec"].get("parentRefs") != route_values.get("parentRefs") or not route_values.get("parentRefs"):
            problems.append("GRPCRoute parentRefs differ from connect.grpcRoute.parentRefs")
