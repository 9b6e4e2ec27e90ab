"""Spark's own connections are authenticated and encrypted with the chart's defaults: proven with real Spark.

One application runs with the defaults (security.rpc: the secret a file from the app's Secret, AES
encryption) on the harness's kubelet: its driver starts, its two executors register, and then, while
it holds, three rogue executors are started against the driver the way the kubelet starts executors
(pods with the app's executor labels, which the NetworkPolicy admits, and Spark's executor entrypoint):

- `plain`: no authentication at all (a plaintext client);
- `wrong`: authentication with another secret (its own Secret, mounted where the real one is);
- `sasl`: the right secret, but without the encrypted protocol (Spark's SASL authentication).

Each is refused by the driver and never registers; the application then computes Pi, shuffles and
fetches blocks with its two good executors. A second application shows why the executor template
carries spark.master among the executors' JVM options: without it no executor reads the secret file. Meanwhile the test reads every pod spec, every ConfigMap
and the command line and environment of every process of the app's pods, and afterwards every log:
the secret is in none of them, in clear or in the form Spark uses in memory (base64).
"""

from __future__ import annotations

import base64
import copy
import http.client
import json
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import sparkdriver
from tests.sparkdriver import App, AppRun, SparkCluster

pytestmark = pytest.mark.spark

Obj = dict[str, Any]
NAME, NAMESPACE = "it-rpc-auth", "sh-rpc-auth"
RELEASE = "/tmp/release"  # the driver's /tmp is its scratch emptyDir
PI = re.compile(r"Pi is roughly 3\.1\d*")
#: rogue executor -> what it lacks
ROGUES = {91: "plain", 92: "wrong", 93: "sasl"}
#: how the driver answered each rogue, as the rogue logged it: a plaintext RPC is no authentication
#: challenge (the driver answers so and closes the connection; which of the two the rogue notices
#: first is a race); the handshake with the wrong secret fails; Spark's SASL challenge is refused (no
#: fallback to SASL, whose channel is not encrypted)
REFUSALS = {"plain": r"Unknown challenge message\.|(?i:connection from \S+:7078 (is )?closed)|Failed to send RPC .* to \S+:7078",
            "wrong": r"Authentication failed\.", "sasl": r"Unknown challenge message\."}
AUTH_OPTIONS = ("-Dspark.authenticate", "-Dspark.network.crypto.")


def _rogue(executor: Obj, ident: int, kind: str) -> Obj:
    """A copy of a real executor pod (as Spark created it) that lacks what `kind` says.

    It keeps the app's `app-name` and `spark-role: executor` labels, so the NetworkPolicy lets it
    reach the driver, but not Spark's own `spark-app-selector` / `spark-exec-id`: the driver's
    allocator does not watch it (what is tested is the driver's RPC, not its pod bookkeeping).
    """
    pod = copy.deepcopy(executor)
    meta = pod["metadata"]
    name = f"{NAME}-exec-{ident}"
    labels = {k: v for k, v in meta["labels"].items() if not k.startswith("spark-") or k == "spark-role"}
    pod["metadata"] = {"name": name, "namespace": NAMESPACE, "labels": labels,
                       "ownerReferences": meta.get("ownerReferences") or []}
    pod.pop("status", None)
    container = pod["spec"]["containers"][0]
    env = []
    for var in container["env"]:
        value = var.get("value", "")
        if var["name"] == "SPARK_EXECUTOR_ID":
            var = {"name": var["name"], "value": str(ident)}
        elif var["name"].startswith("SPARK_JAVA_OPT_") and value.startswith(AUTH_OPTIONS):
            if kind == "plain":
                continue
            if kind == "sasl" and value.startswith("-Dspark.network.crypto.enabled="):
                var = {"name": var["name"], "value": "-Dspark.network.crypto.enabled=false"}
        env.append(var)
    container["env"] = env
    volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "spark-rpc-auth")
    if kind == "plain":
        pod["spec"]["volumes"].remove(volume)
        container["volumeMounts"] = [m for m in container["volumeMounts"] if m["name"] != "spark-rpc-auth"]
    elif kind == "wrong":
        volume["secret"]["secretName"] = f"{NAME}-rogue-secret"
    return pod


def _get_json(address: str, port: int, path: str) -> Any:
    connection = http.client.HTTPConnection(address, port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 200, (path, response.status)
        return json.loads(response.read())
    finally:
        connection.close()


def _processes(record: Any) -> list[dict[str, str]]:
    """Command line and environment of every process of a running pod (its cgroup's members)."""
    found = []
    procs = record.cgroup / "cgroup.procs" if record.cgroup else None
    for pid in (procs.read_text().split() if procs and procs.exists() else []):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = Path(f"/proc/{pid}/environ").read_bytes().replace(b"\0", b"\n").decode(errors="replace")
        except OSError:  # ended meanwhile
            continue
        found.append({"pod": record.name, "pid": pid, "cmdline": cmdline, "environ": environ})
    return found


def attack_then_release(cluster: SparkCluster, run: AppRun) -> None:
    """Once both executors registered: start the rogues, wait for their end, observe everything, release the app."""
    kubelet = cluster.kubelet
    driver = kubelet.wait_started(NAMESPACE, f"{NAME}-driver", 180)
    try:
        cluster.wait_for_log(driver, r"Registered executor .* with ID", timeout=240, count=2)
        cluster.wait_for_log(driver, r"Holding until", timeout=120)
        executor = cluster.cluster.get("Pod", f"{NAME}-exec-1", NAMESPACE)
        assert executor is not None, "executor 1 is not in the API"
        cluster.cluster.seed({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                              "metadata": {"name": f"{NAME}-rogue-secret", "namespace": NAMESPACE},
                              "data": {"secret": base64.b64encode(secrets.token_hex(32).encode()).decode()}}, quiet=True)
        for ident, kind in ROGUES.items():
            cluster.cluster.seed(_rogue(executor, ident, kind))
        for ident in ROGUES:
            kubelet.wait(NAMESPACE, f"{NAME}-exec-{ident}", 120)
        # what the driver says about its executors, through the UI Service
        ui = next(o for o in run.objects if o["kind"] == "Service" and o["spec"].get("clusterIP") != "None")
        address, port = kubelet.service_ip(NAMESPACE, ui["metadata"]["name"]), ui["spec"]["ports"][0]["port"]
        app_id = _get_json(address, port, "/api/v1/applications")[0]["id"]
        run.notes["executors"] = _get_json(address, port, f"/api/v1/applications/{app_id}/allexecutors")
        run.notes["environment"] = _get_json(address, port, f"/api/v1/applications/{app_id}/environment")
        # every pod spec and ConfigMap of the namespace, every process of the app's running pods
        run.notes["pods"] = [cluster.cluster.get("Pod", n, NAMESPACE) for n in cluster.cluster.names("Pod", NAMESPACE)]
        run.notes["configmaps"] = [cluster.cluster.get("ConfigMap", n, NAMESPACE)
                                   for n in cluster.cluster.names("ConfigMap", NAMESPACE)]
        run.notes["processes"] = [p for (ns, _), record in list(kubelet.records.items()) if ns == NAMESPACE
                                  for p in _processes(record)]
    finally:
        cluster.release(run)


def without_master_option(objects: list[Obj]) -> None:
    """Break the chart's one workaround: executors without spark.master among their JVM options."""
    configmap = sparkdriver.configmap(objects)
    template = yaml.safe_load(configmap["data"]["executor-pod-template.yaml"])
    container = template["spec"]["containers"][0]
    container["env"] = [e for e in container["env"] if e["name"] != "SPARK_JAVA_OPT_MASTER"]
    configmap["data"]["executor-pod-template.yaml"] = yaml.safe_dump(template)


NO_MASTER = "it-rpc-no-master"
APPS = sparkdriver.register([
    App(NAME, NAMESPACE, ["pyspark-pi.yaml"],
        {"app": {"mainApplicationFile": f"local://{sparkdriver.APPS_IN_IMAGE}/pi_paths.py",
                 "arguments": ["4", "--hold-first", RELEASE, "--data-paths"]}},
        during=attack_then_release, cost=5),
    App(NO_MASTER, "sh-rpc-no-master", ["pyspark-pi.yaml"], {"executor": {"instances": 1}},
        mutate=without_master_option, cost=2),
])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AppRun]:
    return sparkdriver.suite_runs(tmp_path_factory)


@pytest.fixture(scope="module")
def run(runs: dict[str, AppRun]) -> AppRun:
    return runs[NAME]


def _rogue_records(run: AppRun) -> dict[str, Any]:
    return {r.name: r for r in run.executors if r.name in {f"{NAME}-exec-{i}" for i in ROGUES}}


def test_the_defaults_authenticate_and_encrypt(run: AppRun) -> None:
    assert not run.errors, run.describe()
    assert run.conf["spark.authenticate"] == "true" and run.conf["spark.network.crypto.enabled"] == "true"
    properties = dict(run.notes["environment"]["sparkProperties"])
    assert properties["spark.authenticate"] == "true"
    assert properties["spark.network.crypto.enabled"] == "true"
    assert properties["spark.network.crypto.cipher"] == "AES/GCM/NoPadding"
    assert properties["spark.network.crypto.saslFallback"] == "false"
    assert properties["spark.authenticate.secret.file"] == "*********(redacted)"  # Spark hides what names a secret
    assert "spark.authenticate.secret" not in properties


def test_spark_pi_computes_with_the_two_good_executors_only(run: AppRun) -> None:
    assert run.returncode == 0, run.describe()
    assert PI.search(run.log) and "Data paths: shuffled 10 keys, fetched 2 results" in run.log, run.describe()
    good = [r for r in run.executors if r.name in (f"{NAME}-exec-1", f"{NAME}-exec-2")]
    assert len(good) == 2, run.describe()
    for executor in good:
        assert re.search(rf"Registered executor .*\({re.escape(executor.ip)}:\d+\) with ID", run.log), run.describe()
        assert re.search(r"Finished task .* on " + re.escape(executor.ip), run.log), run.describe()
    registered = set(re.findall(r"Registered executor .* with ID (\d+)", run.log))
    assert registered == {"1", "2"}, run.describe()
    assert {e["id"] for e in run.notes["executors"]} == {"driver", "1", "2"}


@pytest.mark.parametrize(("ident", "kind"), sorted(ROGUES.items()))
def test_a_rogue_executor_reaches_the_driver_and_is_refused(run: AppRun, ident: int, kind: str) -> None:
    rogue = _rogue_records(run)[f"{NAME}-exec-{ident}"]
    assert rogue.exit_code not in (0, None), run.describe()
    # the network let it through: the driver's authentication is what refused it
    assert (rogue.name, f"{NAME}-driver", 7078) in run.attempts, run.attempts
    assert (rogue.name, f"{NAME}-driver", 7078) not in run.refused
    log = rogue.log()
    assert "Successfully registered with driver" not in log, log[-3000:]
    assert re.search(REFUSALS[kind], log), log[-3000:]
    assert re.search(r"Exception in thread \"main\"", log), log[-3000:]
    assert f"with ID {ident}" not in run.log


def test_the_secret_is_in_no_pod_spec_configmap_process_or_log(run: AppRun) -> None:
    secret = run.values["security"]["rpc"]["secret"]
    forms = {secret, base64.b64encode(secret.encode()).decode()}  # Spark keys its handshake with the file's base64
    places: dict[str, str] = {}
    for pod in run.notes["pods"]:
        places[f"pod {pod['metadata']['name']}"] = json.dumps(pod)
        env_names = [e["name"] for c in pod["spec"]["containers"] for e in c.get("env", [])]
        assert not [n for n in env_names if "AUTH_SECRET" in n], (pod["metadata"]["name"], env_names)
    for configmap in run.notes["configmaps"]:
        places[f"configmap {configmap['metadata']['name']}"] = json.dumps(configmap)
    for process in run.notes["processes"]:
        places[f"{process['pod']} pid {process['pid']} cmdline"] = process["cmdline"]
        places[f"{process['pod']} pid {process['pid']} environ"] = process["environ"]
    for record in [run.driver, *run.executors]:
        assert record is not None
        places[f"log of {record.name}"] = record.log()
    pods = {p["metadata"]["name"] for p in run.notes["pods"]}
    assert {f"{NAME}-driver", f"{NAME}-exec-1", f"{NAME}-exec-2"} <= pods
    assert any(name.startswith("spark-exec-") for name in (c["metadata"]["name"] for c in run.notes["configmaps"]))
    java = [p for p in run.notes["processes"] if "java" in p["cmdline"].split(" ", 1)[0]]
    assert {p["pod"] for p in java} >= {f"{NAME}-driver", f"{NAME}-exec-1", f"{NAME}-exec-2"}, run.notes["processes"]
    leaks = sorted(where for where, text in places.items() if any(form in text for form in forms))
    assert leaks == []


def test_executors_read_the_secret_file_and_speak_the_encrypted_protocol(run: AppRun) -> None:
    for executor in (f"{NAME}-exec-1", f"{NAME}-exec-2"):
        cmdline = next(p["cmdline"] for p in run.notes["processes"] if p["pod"] == executor and "java" in p["cmdline"])
        for option in ("-Dspark.authenticate=true", "-Dspark.authenticate.secret.file=/etc/spark/rpc-auth/secret",
                       "-Dspark.network.crypto.enabled=true", "-Dspark.network.crypto.cipher=AES/GCM/NoPadding",
                       "-Dspark.network.crypto.saslFallback=false"):
            assert option in cmdline, (executor, cmdline)



def test_without_spark_master_executors_cannot_read_the_secret_file(runs: dict[str, AppRun]) -> None:
    """Why the executor template carries SPARK_JAVA_OPT_MASTER: without it Spark ignores the file, no executor starts."""
    broken = runs[NO_MASTER]
    assert broken.returncode not in (0, None), broken.describe()
    assert broken.executors, broken.describe()
    for executor in broken.executors:
        assert executor.exit_code not in (0, None)
        assert "A secret key must be specified via the spark.authenticate.secret config" in executor.log(), broken.describe()
    assert "Registered executor" not in broken.log
