"""Run Spark's own client-mode driver, as the rendered driver pod would, against the API emulator.

`run_driver()` does what the kubelet does with the rendered driver Pod (mount its ConfigMap, fill
its environment, run its command) on this machine, with the pyspark wheel standing in for the
image's `$SPARK_HOME`. Only the master URL and the driver host are redirected to loopback (the
pod's own address, `status.podIP`, is 127.0.0.1 here); every other setting is the rendered one.
`wiring_problems()` then compares what Spark asked the API server to create with the chart's
values, and `ui_problems()` what the Spark UI answered with what the Ingress forwards.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from tests.harness import RunningCluster
from tests.invariants import parse_spark_defaults

ROOT = Path(__file__).resolve().parent.parent
SPARK_APPS = Path(__file__).resolve().parent / "spark_apps"
PYTHON_APP = SPARK_APPS / "wait_for_release.py"
JVM_APP_SOURCE = SPARK_APPS / "WaitForRelease.java"
JVM_APP_CLASS = "sparkhelm.itest.WaitForRelease"
DRIVER_IP = "127.0.0.1"
STARTING_UP = "Spark is starting up"
#: Spark names its executor ConfigMap itself (KubernetesClientUtils.configMapNameExecutor); no setting changes it.
SPARK_EXECUTOR_CONFIGMAP = re.compile(r"^spark-exec-[0-9a-f]+-conf-map$")
#: Spark log lines that mean a configuration key we set was not taken as meant.
CONFIG_COMPLAINT = re.compile(r"deprecat|ignor|unknown|unrecogni[sz]|not supported|invalid", re.IGNORECASE)


def chart_app_version() -> str:
    """The chart's appVersion: the Spark version of its default image, and the pyspark CI installs."""
    return str(yaml.safe_load((ROOT / "charts" / "spark-client-app" / "Chart.yaml").read_text())["appVersion"])


def spark_home() -> Path | None:
    """The installed pyspark package directory, which is a complete `$SPARK_HOME` (bin/, jars/)."""
    try:
        import pyspark
    except ImportError:
        return None
    return Path(pyspark.__file__).resolve().parent


def java_missing() -> str | None:
    """Why the JVM cannot run here, or None."""
    if shutil.which("java") is None:
        return "no `java` on PATH: install a JDK 17 or newer to run Spark's driver"
    return None


def build_jvm_app(home: Path, directory: Path) -> Path:
    """Compile WaitForRelease.java against Spark's jars into a jar (javac and jar come with the JDK)."""
    classes = directory / "classes"
    classes.mkdir(parents=True, exist_ok=True)
    classpath = str(home / "jars" / "*")
    subprocess.run(["javac", "-d", str(classes), "-cp", classpath, str(JVM_APP_SOURCE)], check=True)
    jar = directory / "wait-for-release.jar"
    subprocess.run(["jar", "cf", str(jar), "-C", str(classes), "."], check=True)
    return jar


def memory_mi(text: str) -> int:
    """Spark's memory syntax (512m, 4g, 1024k, 2t) in MiB."""
    match = re.fullmatch(r"(\d+)([kmgt]?)b?", text.strip().lower())
    assert match, f"not a Spark memory size: {text!r}"
    factor = {"k": 1 / 1024, "": 1, "m": 1, "g": 1024, "t": 1024 * 1024}[match.group(2)]
    return int(int(match.group(1)) * factor)


@dataclass
class DriverRun:
    """What one spark-submit did: its exit code, its log, its requests, and what the UI answered."""

    app_name: str
    namespace: str
    driver_uid: str
    returncode: int | None
    log: str
    #: (method, path, verb, body or None) of every request Spark made, in order
    requests: list[tuple[str, str, str, dict[str, Any] | None]]
    #: UI path -> (status, Location header, links and sources of the page)
    ui: dict[str, tuple[int, str | None, list[str]]] = field(default_factory=dict)

    def created(self, plural: str) -> list[dict[str, Any]]:
        """The bodies Spark POSTed for a resource (e.g. "pods")."""
        return [
            body for method, path, _, body in self.requests
            if method == "POST" and body is not None and path.split("?")[0].rsplit("/", 1)[-1] == plural
        ]


def _one(objects: list[dict[str, Any]], kind: str, **labels: str) -> dict[str, Any]:
    found = [
        o for o in objects
        if o["kind"] == kind and all((o["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, f"expected one {kind} {labels}, rendered {len(found)}"
    return found[0]


def driver_pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The rendered driver Pod."""
    return _one(objects, "Pod", **{"spark-role": "driver"})


def configmap(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The rendered ConfigMap holding spark-defaults.conf and the executor pod template."""
    return _one(objects, "ConfigMap")


class _Mounts:
    """The driver container's volume mounts, made local directories under `root`."""

    def __init__(self, pod: dict[str, Any], cm: dict[str, Any], root: Path, home: Path, spark_home_in_image: str):
        volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
        self.paths: dict[str, Path] = {spark_home_in_image: home}
        for mount in pod["spec"]["containers"][0].get("volumeMounts", []):
            local = root / mount["mountPath"].strip("/")
            local.mkdir(parents=True, exist_ok=True)
            volume = volumes[mount["name"]]
            source = volume.get("configMap")
            if source and source["name"] == cm["metadata"]["name"]:
                items = source.get("items") or [{"key": k, "path": k} for k in cm["data"]]
                for item in items:
                    (local / item["path"]).write_text(cm["data"][item["key"]])
            self.paths[mount["mountPath"]] = local

    def local(self, text: str) -> str:
        """A path inside the pod as a path here (the longest mount that contains it), else unchanged."""
        for inside in sorted(self.paths, key=len, reverse=True):
            if text == inside or text.startswith(inside.rstrip("/") + "/"):
                return str(self.paths[inside]) + text[len(inside.rstrip("/")):]
        return text

    def localise_properties(self, path: Path) -> None:
        """Rewrite the values of a mounted .conf file that name paths inside the pod."""
        lines = []
        for line in path.read_text().splitlines():
            key, sep, value = line.strip().partition(" ")
            if sep and not key.startswith("#"):
                line = f"{key} {self.local(value.strip())}"
            lines.append(line)
        path.write_text("\n".join(lines) + "\n")


def _expand(text: str, env: dict[str, str]) -> str:
    """The kubelet's `$(VAR)` expansion in command, args and env values."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), text)


def _field_ref(pod: dict[str, Any], path: str) -> str:
    return {
        "status.podIP": DRIVER_IP,
        "metadata.name": pod["metadata"]["name"],
        "metadata.namespace": pod["metadata"]["namespace"],
    }[path]


def _fetch_ui(port: int, paths: tuple[str, ...], deadline: float) -> dict[str, tuple[int, str | None, list[str]]]:
    """GET each path once the UI is past its "starting up" page; redirects are not followed."""
    answers: dict[str, tuple[int, str | None, list[str]]] = {}
    for path in paths:
        while True:
            connection = http.client.HTTPConnection(DRIVER_IP, port, timeout=10)
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                body = response.read().decode("utf-8", "replace")
                status, location = response.status, response.getheader("Location")
            except OSError:
                status, location, body = 0, None, STARTING_UP
            finally:
                connection.close()
            if STARTING_UP not in body or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        links = sorted(set(re.findall(r'(?:href|src)="([^"#]+)"', body)))
        answers[path] = (status, location, links)
    return answers


def run_driver(
    cluster: RunningCluster,
    objects: list[dict[str, Any]],
    workdir: Path,
    *,
    release: Path,
    executors: int,
    ui_paths: tuple[str, ...] = ("/", "/jobs/"),
    timeout: float = 90,
) -> DriverRun:
    """Seed the rendered driver pod, run its spark-submit here, wait for `executors` pods, read the UI.

    `release` is the file the test application waits for (its first argument): it is created once
    the executors were requested and the UI was read, so Spark then stops cleanly. The process
    group is killed whatever happens.
    """
    home = spark_home()
    assert home is not None, "pyspark is not installed"
    pod, cm = driver_pod(objects), configmap(objects)
    namespace = pod["metadata"]["namespace"]
    app_name = pod["metadata"]["labels"]["app-name"]
    container = pod["spec"]["containers"][0]
    command = container.get("command", []) + container.get("args", [])
    spark_home_in_image = command[0].rsplit("/bin/", 1)[0]
    mounts = _Mounts(pod, cm, workdir / "pod", home, spark_home_in_image)
    for conf_file in (workdir / "pod").rglob("*.conf"):
        mounts.localise_properties(conf_file)

    if cluster.get("Namespace", namespace, None) is None:
        cluster.add_namespace(namespace)
    running = dict(pod)
    running["status"] = {
        "phase": "Running",
        "podIP": DRIVER_IP,
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [
            {"name": container["name"], "ready": True, "started": True, "restartCount": 0, "image": container["image"],
             "imageID": "", "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}
        ],
    }
    seeded = cluster.seed(running, quiet=True)
    already = len(cluster.emulator._requests)

    env: dict[str, str] = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),  # no ~/.kube/config of this machine reaches Spark's client
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": DRIVER_IP,
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }
    if "JAVA_HOME" in os.environ:
        env["JAVA_HOME"] = os.environ["JAVA_HOME"]
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = mounts.local(_expand(var["value"], env))
        elif "fieldRef" in var.get("valueFrom", {}):
            env[var["name"]] = _field_ref(pod, var["valueFrom"]["fieldRef"]["fieldPath"])
    # Only spark-submit itself moves to the local $SPARK_HOME: the remaining arguments name the test
    # application and its release file, which are paths on this machine already.
    argv = [_expand(arg, env) for arg in command]
    argv[0] = mounts.local(argv[0])
    argv[1:1] = ["--conf", f"spark.master=k8s://{cluster.url}", "--conf", f"spark.driver.host={DRIVER_IP}"]

    log_path = workdir / "driver.log"
    ui_port = next(p["containerPort"] for p in container["ports"] if p["name"] == "spark-ui")
    _ports_free([p["containerPort"] for p in container["ports"]])
    ui: dict[str, tuple[int, str | None, list[str]]] = {}
    deadline = time.monotonic() + timeout
    with log_path.open("w") as log:
        process = subprocess.Popen(argv, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            while time.monotonic() < deadline and process.poll() is None:
                if len(_pod_posts(cluster, already)) >= executors:
                    break
                time.sleep(0.1)
            if process.poll() is None:
                ui = _fetch_ui(ui_port, ui_paths, deadline)
            release.touch()
            returncode: int | None = process.wait(max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            returncode = None
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
    return DriverRun(
        app_name=app_name,
        namespace=namespace,
        driver_uid=seeded["metadata"]["uid"],
        returncode=returncode,
        log=log_path.read_text(errors="replace"),
        requests=_requests(cluster, already),
        ui=ui,
    )


def _ports_free(ports: list[int]) -> None:
    """Spark moves to the next port when one is taken, which would look like a wiring fault: say so first."""
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind((DRIVER_IP, port))
            except OSError:
                raise AssertionError(f"port {port} on {DRIVER_IP} is in use by another process; "
                                     "the driver pins it, so stop that process and run again") from None


def _pod_posts(cluster: RunningCluster, since: int) -> list[Any]:
    return [r for r in list(cluster.emulator._requests)[since:]
            if r.method.value == "POST" and r.url.path.endswith("/pods")]


def _requests(cluster: RunningCluster, since: int) -> list[tuple[str, str, str, dict[str, Any] | None]]:
    out = []
    for r in list(cluster.emulator._requests)[since:]:
        body = r.data if isinstance(r.data, dict) else (json.loads(r.body) if r.body.strip()[:1] == b"{" else None)
        out.append((r.method.value, str(r.url.relative()), cluster.emulator._verb(r), body))
    return out


# --- checks ------------------------------------------------------------------------------------


def expected_executors(conf: dict[str, str]) -> int:
    """How many executors Spark requests at start: the instances, or dynamic allocation's initial number."""
    instances = int(conf.get("spark.executor.instances", "2"))
    if conf.get("spark.dynamicAllocation.enabled") == "true":
        return max(instances, int(conf.get("spark.dynamicAllocation.minExecutors", "0")),
                   int(conf.get("spark.dynamicAllocation.initialExecutors", "0")))
    return instances


def _allowed(role: dict[str, Any], verb: str, plural: str) -> bool:
    return any(
        plural in rule.get("resources", []) and verb in rule.get("verbs", []) and "" in rule.get("apiGroups", [])
        for rule in role.get("rules", [])
    )


def wiring_problems(run: DriverRun, objects: list[dict[str, Any]], values: dict[str, Any]) -> list[str]:
    """Every way what Spark did differs from what the chart's values say it should do."""
    problems: list[str] = []
    app, cm = run.app_name, configmap(objects)
    conf = parse_spark_defaults(cm["data"]["spark-defaults.conf"])
    template = yaml.safe_load(cm["data"]["executor-pod-template.yaml"])
    if run.returncode != 0:
        problems.append(f"spark-submit exited with {run.returncode}")
    pods = run.created("pods")
    want = expected_executors(conf)
    names = [p["metadata"]["name"] for p in pods]
    if sorted(names) != sorted(f"{app}-exec-{i}" for i in range(1, want + 1)):
        problems.append(f"executor pods {names}, expected {want} named {app}-exec-N")

    executor_values = values["executor"]
    memory = memory_mi(str(executor_values["memory"]))
    overhead = (memory_mi(str(executor_values["memoryOverhead"])) if executor_values.get("memoryOverhead")
                else max(384, memory // 10))
    driver_port = str(values["driver"]["port"])
    tspec, tmeta = template["spec"], template["metadata"]
    tcontainer = next(c for c in tspec["containers"] if c["name"] == conf["spark.kubernetes.executor.podTemplateContainerName"])
    image = f"{values['image']['repository']}:{values['image']['tag'] or chart_app_version()}"
    for pod in pods:
        name, spec, meta = pod["metadata"]["name"], pod["spec"], pod["metadata"]
        labels = meta.get("labels") or {}
        for key, value in tmeta.get("labels", {}).items():
            if labels.get(key) != value:
                problems.append(f"{name}: label {key}={labels.get(key)!r}, template has {value!r}")
        if labels.get("app-name") != app or labels.get("spark-role") != "executor":
            problems.append(f"{name}: labels app-name/spark-role are {labels.get('app-name')}/{labels.get('spark-role')}")
        for key, value in (tmeta.get("annotations") or {}).items():
            if (meta.get("annotations") or {}).get(key) != value:
                problems.append(f"{name}: annotation {key} missing")
        owners = meta.get("ownerReferences") or []
        if [(o.get("kind"), o.get("uid")) for o in owners] != [("Pod", run.driver_uid)]:
            problems.append(f"{name}: ownerReferences {owners}, expected the driver pod uid {run.driver_uid}")
        for key in ("priorityClassName", "schedulerName", "affinity", "tolerations", "securityContext",
                    "serviceAccountName", "automountServiceAccountToken", "enableServiceLinks"):
            if spec.get(key) != tspec.get(key):
                problems.append(f"{name}: spec.{key} is {spec.get(key)!r}, template has {tspec.get(key)!r}")
        container = spec["containers"][0]
        if container.get("securityContext") != tcontainer.get("securityContext"):
            problems.append(f"{name}: container securityContext {container.get('securityContext')}")
        if container.get("image") != image:
            problems.append(f"{name}: image {container.get('image')}, expected {image}")
        resources = container.get("resources", {})
        cpu = str(executor_values.get("requestCores") or executor_values["cores"])
        if str(resources.get("requests", {}).get("cpu")) != cpu:
            problems.append(f"{name}: cpu request {resources.get('requests', {}).get('cpu')}, expected {cpu}")
        for kind in ("requests", "limits"):
            if resources.get(kind, {}).get("memory") != f"{memory + overhead}Mi":
                problems.append(f"{name}: memory {kind} {resources.get(kind, {}).get('memory')}, "
                                f"expected {memory + overhead}Mi")
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        if env.get("SPARK_DRIVER_URL") != f"spark://CoarseGrainedScheduler@{DRIVER_IP}:{driver_port}":
            problems.append(f"{name}: SPARK_DRIVER_URL {env.get('SPARK_DRIVER_URL')}, expected port {driver_port}")

    for method, path, _verb, body in run.requests:
        if method != "POST" or body is None or "/pods" in path:
            continue
        created = body.get("metadata", {}).get("name", "")
        if not created.startswith(f"{app}-") and not SPARK_EXECUTOR_CONFIGMAP.match(created):
            problems.append(f"Spark created {body.get('kind')} {created!r} outside the app's name prefix")

    role = _one(objects, "Role")
    for method, path, verb, _ in run.requests:
        plural = path.split("?")[0].rstrip("/").split("/")
        resource_name = plural[plural.index("namespaces") + 2] if "namespaces" in plural else plural[-1]
        if not _allowed(role, verb, resource_name):
            problems.append(f"the driver's Role does not allow {verb} {resource_name} ({method} {path})")

    for line in run.log.splitlines():
        if re.search(r"\b(ERROR)\b", line):
            problems.append(f"Spark logged an error: {line.strip()}")
        elif re.search(r"\bWARN\b", line) and (CONFIG_COMPLAINT.search(line) or any(key in line for key in conf)):
            problems.append(f"Spark warned about the configuration: {line.strip()}")
    return problems


def ui_problems(run: DriverRun, values: dict[str, Any]) -> list[str]:
    """The UI's redirect and links must carry what the Ingress forwards: the proxy base in path mode."""
    problems: list[str] = []
    ingress = values["ui"]["ingress"]
    path_mode = ingress["enabled"] and ingress["mode"] == "path"
    base = (ingress.get("path") or f"/{run.app_name}").rstrip("/") if path_mode else ""
    status, location, _ = run.ui.get("/", (0, None, []))
    if status not in (301, 302, 303, 307, 308) or location is None:
        return [f"GET / on the UI answered {status} without a redirect"]
    if urlsplit(location).path != f"{base}/jobs/":
        problems.append(f"GET / redirects to {location}, expected the path {base}/jobs/")
    status, _, links = run.ui.get("/jobs/", (0, None, []))
    if status != 200:
        problems.append(f"GET /jobs/ answered {status}")
    local = [link for link in links if link.startswith("/")]
    if not local:
        problems.append("the jobs page has no links")
    for link in local:
        if path_mode and not link.startswith(f"{base}/"):
            problems.append(f"link {link} does not carry spark.ui.proxyBase {base}")
        if not path_mode and link.startswith(f"/{run.app_name}/"):
            problems.append(f"link {link} carries a proxy base in host mode")
    return problems
