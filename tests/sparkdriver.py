"""Spark applications rendered by the chart, run for real on the harness's kubelet, and checked.

`SparkCluster` is an emulated API server with the real kubelet of tests/harness/podrunner.py: the
rendered objects are applied to it (or `sparkhelm run` installs them), the kubelet runs the driver
pod from its manifest, Spark's driver creates its executor pods, the kubelet runs those too, and
the job computes. Only `spark.master` is redirected (to the emulator), besides what the kubelet
gives every pod in place of a cluster's network (its address and its DNS, see podrunner.py);
every setting, name, port, label, Service and NetworkPolicy is the rendered one, so the chart's
wiring is what makes a run work or fail. `wiring_problems()` compares what Spark asked the API
server for with the chart's values; `ui_problems()` what the Spark UI answered through the UI
Service.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from tests.conftest import VALUES_DIR, render_objects
from tests.harness import RunningCluster
from tests.harness.cluster import RESOURCES
from tests.harness.podrunner import Image, PodRecord, PodRunner, spark_image
from tests.invariants import parse_spark_defaults

Obj = dict[str, Any]
ROOT = Path(__file__).resolve().parent.parent
SPARK_APPS = Path(__file__).resolve().parent / "spark_apps"
#: Where the test applications are in the harness's image (tests/spark_apps is mounted there).
APPS_IN_IMAGE = "/opt/sparkhelm-tests"
WIRING_KEYS = ROOT / "charts" / "spark-client-app" / "files" / "wiring-keys.yaml"
STARTING_UP = "Spark is starting up"
#: Spark names its executor ConfigMap itself (KubernetesClientUtils.configMapNameExecutor); no setting changes it.
SPARK_EXECUTOR_CONFIGMAP = re.compile(r"^spark-exec-[0-9a-f]+-conf-map$")
#: Spark log lines that mean a configuration key we set was not taken as meant.
CONFIG_COMPLAINT = re.compile(r"deprecat|ignor|unknown|unrecogni[sz]|not supported|invalid", re.IGNORECASE)
#: Spark 4.1+: executors dial the driver's pod IP (true, the default) or `spark.driver.host` (false).
DRIVER_POD_IP = "spark.kubernetes.executor.useDriverPodIP"
#: JVM options of the harness's image, for two shared cores: C1 only, the serial collector and no
#: bytecode verification of Spark's jars cut the CPU of a JVM start by more than half. They change
#: how fast Java starts, not what Spark connects to, resolves or computes.
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:+UnlockDiagnosticVMOptions "
               "-XX:-BytecodeVerificationRemote")


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
    if shutil.which("java") is None or shutil.which("javac") is None:
        return "no `java`/`javac` on PATH: install a JDK 17 or newer to run Spark"
    return None


def python_pods(directory: Path, **options: Any) -> Iterator[tuple[RunningCluster, PodRunner]]:
    """An emulated API server whose pods run here, the image being this machine's Python (for fixtures).

    Skipped where the harness's kubelet cannot run, except under SPARKHELM_REQUIRE_SPARK (CI).
    """
    import pytest

    reason = PodRunner.unavailable()
    if reason:
        if os.environ.get("SPARKHELM_REQUIRE_SPARK"):
            pytest.fail(f"the harness kubelet is required here (SPARKHELM_REQUIRE_SPARK is set): {reason}")
        pytest.skip(reason)
    cluster = RunningCluster(directory)
    image = Image(layers={}, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, workdir="/", entrypoint="")
    try:
        runner = PodRunner(cluster, directory / "kubelet", image, **options)
    except BaseException:
        cluster.close()
        raise
    yield cluster, runner
    runner.close()
    cluster.close()


def require_spark() -> Path:
    """pyspark's directory, once Java, pyspark and the harness's kubelet are all usable here.

    Skipped where one is missing, except under SPARKHELM_REQUIRE_SPARK (CI), where that fails.
    """
    import pytest

    reason = java_missing() or PodRunner.unavailable()
    home = spark_home()
    if home is None:
        reason = reason or f"pyspark is not installed: pip install pyspark=={chart_app_version()}"
    if reason:
        if os.environ.get("SPARKHELM_REQUIRE_SPARK"):
            pytest.fail(f"Spark runs are required here (SPARKHELM_REQUIRE_SPARK is set): {reason}")
        pytest.skip(reason)
    assert home is not None
    return home


def jar_in_image(values_file: str) -> str:
    """The jar a values file names (`local://` stripped): where the examples jar must be in the image."""
    data = yaml.safe_load((VALUES_DIR / values_file).read_text())
    return str(data["app"]["mainApplicationFile"]).removeprefix("local://")


_LAYERS: dict[tuple[Path, str], Path] = {}


def build_examples_layer(home: Path, directory: Path, jar_in_image: str) -> Path:
    """Compile SparkPi.java against Spark's jars into a jar at `jar_in_image` of an image layer for /opt/spark.

    Built once per test session (the layer is read-only to the pods).
    """
    if (home, jar_in_image) in _LAYERS:
        return _LAYERS[(home, jar_in_image)]
    classes = directory / "classes"
    classes.mkdir(parents=True, exist_ok=True)
    subprocess.run(["javac", "-d", str(classes), "-cp", str(home / "jars" / "*"), str(SPARK_APPS / "SparkPi.java")],
                   check=True)
    layer = directory / "layer"
    jar = layer / jar_in_image.removeprefix("/opt/spark/")
    jar.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["jar", "cf", str(jar), "-C", str(classes), "."], check=True)
    _LAYERS[(home, jar_in_image)] = layer
    return layer


def sparkhelm_script() -> Path:
    """The installed `sparkhelm` console script (the one users run), next to this Python."""
    script = Path(sys.executable).parent / "sparkhelm"
    return script if script.exists() else Path(shutil.which("sparkhelm") or "sparkhelm")


def harness_image(home: Path, examples_layer: Path) -> Image:
    """The apache/spark image of the tests: the pyspark wheel, the test-built examples jar, the test apps."""
    image = spark_image(home, {"/opt/spark": [examples_layer], APPS_IN_IMAGE: [SPARK_APPS]})
    image.env["JAVA_TOOL_OPTIONS"] = JVM_OPTIONS
    return image


def memory_mi(text: str) -> int:
    """Spark's memory syntax (512m, 4g, 1024k, 2t) in MiB."""
    match = re.fullmatch(r"(\d+)([kmgt]?)b?", text.strip().lower())
    assert match, f"not a Spark memory size: {text!r}"
    factor = {"k": 1 / 1024, "": 1, "m": 1, "g": 1024, "t": 1024 * 1024}[match.group(2)]
    return int(int(match.group(1)) * factor)


def _one(objects: list[Obj], kind: str, **labels: str) -> Obj:
    found = [
        o for o in objects
        if o["kind"] == kind and all((o["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, f"expected one {kind} {labels}, rendered {len(found)}"
    return found[0]


def driver_pod(objects: list[Obj]) -> Obj:
    """The rendered driver Pod."""
    return _one(objects, "Pod", **{"spark-role": "driver"})


def configmap(objects: list[Obj]) -> Obj:
    """The rendered ConfigMap holding spark-defaults.conf and the executor pod template."""
    return _one(objects, "ConfigMap")


def spark_conf(objects: list[Obj]) -> dict[str, str]:
    """The rendered spark-defaults.conf as a dict."""
    return parse_spark_defaults(configmap(objects)["data"]["spark-defaults.conf"])


def set_conf(objects: list[Obj], key: str, value: str | None) -> None:
    """Change (or, with None, remove) one line of the rendered spark-defaults.conf: a deliberate breakage."""
    cm = configmap(objects)
    lines = [line for line in cm["data"]["spark-defaults.conf"].splitlines() if line.split(" ", 1)[0] != key]
    if value is not None:
        lines.append(f"{key} {value}")
    cm["data"]["spark-defaults.conf"] = "\n".join(lines) + "\n"


# --- applications -----------------------------------------------------------------------------


@dataclass
class App:
    """One application: values files of values/ plus test values, and an optional breakage."""

    name: str
    namespace: str
    files: list[str]
    values: Obj = field(default_factory=dict)
    #: changes the rendered objects before they are applied (a breakage)
    mutate: Callable[[list[Obj]], None] | None = None
    #: runs in a thread once the app is submitted (e.g. read the UI, then release the app)
    during: Callable[[SparkCluster, AppRun], None] | None = None
    #: submit with `sparkhelm run` (these arguments) instead of applying the rendered objects
    cli: list[str] | None = None
    #: rough CPU cost (1 = a driver and one executor): the costliest apps start first
    cost: int = 1


@dataclass
class AppRun:
    """What became of one application: its objects, pods, requests, UI answers and CLI result."""

    app: App
    objects: list[Obj]
    values: Obj
    conf: dict[str, str]
    driver: PodRecord | None = None
    executors: list[PodRecord] = field(default_factory=list)
    #: (method, path, verb, body or None) of every request the driver pod sent to the API server
    requests: list[tuple[str, str, str, Obj | None]] = field(default_factory=list)
    #: UI path -> (status, Location header, links and sources of the page)
    ui: dict[str, tuple[int, str | None, list[str]]] = field(default_factory=dict)
    cli: subprocess.CompletedProcess[str] | None = None
    #: pod-to-pod TCP connection attempts (source pod, destination pod, port) and the refused ones
    attempts: list[tuple[str, str, int]] = field(default_factory=list)
    refused: list[tuple[str, str, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: what a `during` hook wants the tests to see
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.app.name

    @property
    def namespace(self) -> str:
        return self.app.namespace

    @property
    def returncode(self) -> int | None:
        return self.driver.exit_code if self.driver else None

    @property
    def log(self) -> str:
        return self.driver.log() if self.driver else ""

    def created(self, plural: str) -> list[Obj]:
        """The bodies the driver POSTed for a resource (e.g. "pods")."""
        return [
            body for method, path, _, body in self.requests
            if method == "POST" and body is not None and path.split("?")[0].rsplit("/", 1)[-1] == plural
        ]

    def describe(self) -> str:
        """The driver's log tail and each executor's last lines, for assertion messages."""
        parts = [f"--- driver {self.driver.name if self.driver else '(never ran)'} exit {self.returncode} ---",
                 self.log[-3000:]]
        for executor in self.executors:
            tail = "\n".join(line for line in executor.log().splitlines() if not line.startswith("\t"))[-1200:]
            parts += [f"--- {executor.name} exit {executor.exit_code} {executor.waiting} ---", tail]
        return "\n".join(parts + self.errors)


def render(app: App, directory: Path) -> tuple[list[Obj], Obj]:
    """The app's objects and effective values, rendered by the chart (embedded engine)."""
    directory.mkdir(parents=True, exist_ok=True)
    objects, values, _ = render_objects(directory, app.values, name=app.name, namespace=app.namespace,
                                        files=[VALUES_DIR / f for f in app.files])
    return objects, values


def through_the_service(app_values: Obj) -> Obj:
    """`app_values` plus what makes executors dial `spark.driver.host` (the Service), unless the chart does it.

    Spark 4.1+ defaults `spark.kubernetes.executor.useDriverPodIP` to true (executors dial the
    driver's pod IP; the Service is not used). Today only `sparkConf` can set it; once the chart
    sets it itself (a wiring key in files/wiring-keys.yaml), `sparkConf` may not, so this adds it
    only while the chart does not own it.
    """
    if f"\n{DRIVER_POD_IP}:" in "\n" + WIRING_KEYS.read_text():
        return app_values
    conf = {**(app_values.get("sparkConf") or {}), DRIVER_POD_IP: "false"}
    return {**app_values, "sparkConf": conf}


class SparkCluster:
    """An emulated API server, the harness's kubelet and the Spark image: apps run here as in a cluster.

    With `volcano`, the cluster serves Volcano's PodGroup resource and its kubelet runs pods whose
    schedulerName is volcano (Volcano's gang scheduling itself is not modelled: with the chart's
    minMember 1 it admits each pod as it comes).
    """

    def __init__(self, directory: Path, image: Image, *, volcano: bool = True) -> None:
        self.directory = directory
        self.cluster = RunningCluster(directory)
        if volcano:
            self.cluster.install_volcano()
        try:
            self.kubelet = PodRunner(self.cluster, directory / "kubelet", image,
                                     schedulers=("default-scheduler", "volcano") if volcano else ("default-scheduler",))
        except BaseException:
            self.cluster.close()
            raise

    def close(self) -> None:
        """Kill every pod, remove the network, stop the API server."""
        try:
            self.kubelet.close()
        finally:
            self.cluster.close()

    # --- running apps ---------------------------------------------------------------------

    def prepare(self, app: App) -> AppRun:
        """Render the app (and break it, if asked); create its namespace and what an admin would have."""
        objects, values = render(app, self.directory / "render" / app.name)
        if app.mutate is not None:
            app.mutate(objects)
        if self.cluster.get("Namespace", app.namespace, None) is None:
            self.cluster.add_namespace(app.namespace)
        if values.get("priorityClassName") and self.cluster.get("PriorityClass", values["priorityClassName"], None) is None:
            self.cluster.seed({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                               "metadata": {"name": values["priorityClassName"]}, "value": 1000}, quiet=True)
        return AppRun(app=app, objects=objects, values=values, conf=spark_conf(objects))

    def submit(self, run: AppRun) -> None:
        """Apply the rendered objects (as `kubectl apply` of `helm template` would), or run `sparkhelm run`."""
        if run.app.cli is None:
            self.cluster.seed_many([o for o in run.objects if o["kind"] in RESOURCES])
            return
        values_file = self.directory / "values" / f"{run.name}.yaml"
        values_file.parent.mkdir(parents=True, exist_ok=True)
        values_file.write_text(yaml.safe_dump(run.app.values))
        files = [arg for f in run.app.files for arg in ("-f", str(VALUES_DIR / f))]
        argv = [str(sparkhelm_script()), "run", *files, "-f", str(values_file), "--name", run.name,
                "-n", run.namespace, "--wait", "--logs", "--timeout", "4m", *run.app.cli]
        env = {**os.environ, "KUBECONFIG": str(self.cluster.kubeconfig), "SPARKHELM_ENGINE": "embedded"}
        for unset in ("SPARKHELM_CHART", "HELM_DRIVER", "KUBERNETES_SERVICE_HOST"):
            env.pop(unset, None)
        run.cli = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)

    def run_all(self, apps: list[App], *, parallel: int = 5, timeout: float = 240) -> dict[str, AppRun]:
        """Run the apps side by side (as several teams would on one cluster) until every driver has ended.

        At most `parallel` apps run at once, the costliest first (the cheap ones fill the gaps at
        the end): more JVMs than that on two cores only add thrashing (and Spark's own timeouts
        start to fire).
        """
        runs = {app.name: self.prepare(app) for app in sorted(apps, key=lambda a: -a.cost)}
        slots = threading.Semaphore(parallel)

        def follow(run: AppRun) -> None:
            with slots:
                self._follow(run, timeout)

        threads = []
        for run in runs.values():
            thread = threading.Thread(target=follow, args=(run,), name=f"app-{run.name}", daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
        return runs

    def _follow(self, run: AppRun, timeout: float) -> None:
        try:
            worker = threading.Thread(target=self.submit, args=(run,), daemon=True)
            worker.start()
            if run.app.during is not None:
                self.kubelet.wait_started(run.namespace, f"{run.name}-driver", timeout)
                run.app.during(self, run)
            worker.join(timeout)
            run.driver = self.kubelet.wait(run.namespace, f"{run.name}-driver", timeout)
            for (namespace, name) in list(self.kubelet.records):  # executors end with or after the driver
                if namespace == run.namespace:
                    self.kubelet.wait(namespace, name, 30)
        except AssertionError as error:
            run.errors.append(str(error))
        finally:
            self._observe(run)

    def _observe(self, run: AppRun) -> None:
        records = self.kubelet.records
        run.driver = records.get((run.namespace, f"{run.name}-driver"), run.driver)
        run.executors = sorted((r for (ns, _), r in records.items()
                                if ns == run.namespace and r.labels.get("spark-role") == "executor"),
                               key=lambda r: (len(r.name), r.name))
        driver_ip = run.driver.ip if run.driver else None
        for request in list(self.cluster.emulator._requests):
            if driver_ip is None or request._raw_request.remote != driver_ip:
                continue
            body = request.data if isinstance(request.data, dict) else (
                json.loads(request.body) if request.body.strip()[:1] == b"{" else None)
            run.requests.append((request.method.value, str(request.url.relative()), self.cluster.emulator._verb(request),
                                 body))
        run.errors += [f"harness kubelet fault: {e}" for e in self.kubelet.errors]
        mine = {r.name for (ns, _), r in records.items() if ns == run.namespace}
        run.attempts = [a for a in self.kubelet.attempts() if a[0] in mine or a[1] in mine]
        run.refused = [a for a in self.kubelet.refused() if a[0] in mine or a[1] in mine]

    # --- actions during a run -------------------------------------------------------------

    def wait_for_log(self, record: PodRecord, pattern: str, timeout: float, count: int = 1) -> None:
        """Wait until a pod's log matches `pattern` `count` times (or the pod ended)."""
        deadline = time.monotonic() + timeout
        while len(re.findall(pattern, record.log())) < count:
            if record.done.is_set() or time.monotonic() > deadline:
                raise AssertionError(f"{record.name} never logged {pattern!r} ({count}x):\n{record.log()[-3000:]}")
            time.sleep(0.1)

    def read_ui(self, run: AppRun, paths: tuple[str, ...] = ("/", "/jobs/"), timeout: float = 60) -> None:
        """GET each path through the UI Service (once past Spark's "starting up" page); no redirect followed."""
        service = next(o for o in run.objects if o["kind"] == "Service" and o["spec"].get("clusterIP") != "None")
        port = service["spec"]["ports"][0]["port"]
        address = self.kubelet.service_ip(run.namespace, service["metadata"]["name"])
        deadline = time.monotonic() + timeout
        for path in paths:
            while True:
                connection = http.client.HTTPConnection(address, port, timeout=10)
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
            run.ui[path] = (status, location, links)

    def release(self, run: AppRun, volume_path: str = "/tmp") -> None:
        """Create the file an app holds for (`--hold /tmp/release`) in the driver's volume at `volume_path`."""
        driver = self.kubelet.record(run.namespace, f"{run.name}-driver")
        pod = driver_pod(run.objects)
        mount = next(m for m in pod["spec"]["containers"][0]["volumeMounts"] if m["mountPath"] == volume_path)
        (driver.volumes[mount["name"]] / "release").touch()

    def delete_pod(self, namespace: str, name: str) -> None:
        """DELETE a pod through the API, as `kubectl delete pod` does."""
        request = urllib.request.Request(f"{self.cluster.url}/api/v1/namespaces/{namespace}/pods/{name}",
                                         method="DELETE")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200


# --- the session's suite ---------------------------------------------------------------------

_SUITE: list[App] = []
_RUNS: dict[str, AppRun] = {}


def register(apps: list[App]) -> list[App]:
    """Add a test module's apps to the session's suite: every collected app runs once, side by side.

    Two cores are shared best by starting all the JVMs of the session together: one app's waits
    (for executors, for a release) are another app's CPU time.
    """
    known = {app.name for app in _SUITE}
    _SUITE.extend(app for app in apps if app.name not in known)
    return apps


def suite_runs(factory: Any) -> dict[str, AppRun]:
    """Run every registered app (the first time any test asks) and return all their runs by name."""
    if not _RUNS:
        home = require_spark()
        layer = build_examples_layer(home, factory.mktemp("examples"), jar_in_image("scala-pi.yaml"))
        cluster = SparkCluster(factory.mktemp("cluster"), harness_image(home, layer))
        try:
            _RUNS.update(cluster.run_all(_SUITE))
        finally:
            cluster.close()
    return _RUNS


# --- checks ------------------------------------------------------------------------------------


def expected_executors(conf: dict[str, str]) -> int:
    """How many executors Spark requests at start: the instances, or dynamic allocation's initial number."""
    instances = int(conf.get("spark.executor.instances", "2"))
    if conf.get("spark.dynamicAllocation.enabled") == "true":
        return max(instances, int(conf.get("spark.dynamicAllocation.minExecutors", "0")),
                   int(conf.get("spark.dynamicAllocation.initialExecutors", "0")))
    return instances


def expected_driver_url(run: AppRun) -> str:
    """The driver URL executors must be given: `spark.driver.host` (the Service), or the pod IP under Spark's default."""
    host = run.conf["spark.driver.host"] if run.conf.get(DRIVER_POD_IP) == "false" else (run.driver.ip if run.driver else "")
    return f"spark://CoarseGrainedScheduler@{host}:{run.conf['spark.driver.port']}"


def _allowed(role: Obj, verb: str, plural: str) -> bool:
    return any(
        plural in rule.get("resources", []) and verb in rule.get("verbs", []) and "" in rule.get("apiGroups", [])
        for rule in role.get("rules", [])
    )


def wiring_problems(run: AppRun) -> list[str]:
    """Every way what Spark did differs from what the chart's values say it should do."""
    problems: list[str] = list(run.errors)
    objects, values, conf, app = run.objects, run.values, run.conf, run.name
    template = yaml.safe_load(configmap(objects)["data"]["executor-pod-template.yaml"])
    if run.returncode != 0:
        problems.append(f"the driver exited with {run.returncode}")
    pods = run.created("pods")
    want = expected_executors(conf)
    names = [p["metadata"]["name"] for p in pods]
    if sorted(names)[:want] != sorted(f"{app}-exec-{i}" for i in range(1, want + 1)) or len(names) < want:
        problems.append(f"executor pods {names}, expected {want} named {app}-exec-N")

    executor_values = values["executor"]
    memory = memory_mi(str(executor_values["memory"]))
    overhead = (memory_mi(str(executor_values["memoryOverhead"])) if executor_values.get("memoryOverhead")
                else max(384, memory // 10))
    tspec, tmeta = template["spec"], template["metadata"]
    tcontainer = next(c for c in tspec["containers"] if c["name"] == conf["spark.kubernetes.executor.podTemplateContainerName"])
    image = f"{values['image']['repository']}:{values['image']['tag'] or chart_app_version()}"
    driver_uid = run.driver.uid if run.driver else ""
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
        if [(o.get("kind"), o.get("uid")) for o in owners] != [("Pod", driver_uid)]:
            problems.append(f"{name}: ownerReferences {owners}, expected the driver pod uid {driver_uid}")
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
        if env.get("SPARK_DRIVER_URL") != expected_driver_url(run):
            problems.append(f"{name}: SPARK_DRIVER_URL {env.get('SPARK_DRIVER_URL')}, expected {expected_driver_url(run)}")

    for method, path, _verb, body in run.requests:
        if method != "POST" or body is None or "/pods" in path:
            continue
        created = body.get("metadata", {}).get("name", "")
        if not created.startswith(f"{app}-") and not SPARK_EXECUTOR_CONFIGMAP.match(created):
            problems.append(f"Spark created {body.get('kind')} {created!r} outside the app's name prefix")

    role = _one(objects, "Role")
    for method, path, verb, _ in run.requests:
        parts = path.split("?")[0].rstrip("/").split("/")
        resource_name = parts[parts.index("namespaces") + 2] if "namespaces" in parts else parts[-1]
        if not _allowed(role, verb, resource_name):
            problems.append(f"the driver's Role does not allow {verb} {resource_name} ({method} {path})")
    if not run.requests:
        problems.append("no request of the driver pod reached the API server")

    for line in run.log.splitlines():
        if re.search(r"\b(ERROR)\b", line):
            problems.append(f"Spark logged an error: {line.strip()}")
        elif re.search(r"\bWARN\b", line) and (CONFIG_COMPLAINT.search(line) or any(key in line for key in conf)):
            problems.append(f"Spark warned about the configuration: {line.strip()}")
    return problems


def ui_problems(run: AppRun) -> list[str]:
    """The UI's redirect and links must carry what the Ingress forwards: the proxy base in path mode."""
    problems: list[str] = []
    ingress = run.values["ui"]["ingress"]
    path_mode = ingress["enabled"] and ingress["mode"] == "path"
    base = (ingress.get("path") or f"/{run.name}").rstrip("/") if path_mode else ""
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
        if not path_mode and link.startswith(f"/{run.name}/"):
            problems.append(f"link {link} carries a proxy base in host mode")
    return problems
