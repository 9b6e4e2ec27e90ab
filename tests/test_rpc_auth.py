"""Spark's own connections authenticated and encrypted by default (security.rpc), as rendered.

The shared secret is a file from a Kubernetes Secret on the driver and the executors, never an
environment variable, a ConfigMap entry or an argument; sparkhelm generates it (so `template` stays
a Helm render of `values`), a plain `helm install` gets one from randAlphaNum (the chart's one
non-deterministic output, pinned here to that Secret's data); `explain` hides it. What Spark does with
it is proven with real Spark in tests/test_rpc_auth_spark.py.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

from sparkhelm.engine.manifests import format_manifest, parse_manifest
from sparkhelm.spec import compute as compute_mod
from sparkhelm.spec.naming import AppNames
from tests.conftest import CHART, PI, render_objects
from tests.invariants import parse_spark_defaults
from tests.pss import restricted_violations
from tests.test_bad_input import assert_one_line_error

Obj = dict[str, Any]
NS = "spark-jobs"
SECRET_FILE = "/etc/spark/rpc-auth/secret"
GIVEN = "0123456789abcdefghijABCDEFGHIJ0123456789abcdefghij"
AUTH_KEYS = ("spark.authenticate", "spark.authenticate.secret", "spark.authenticate.secret.file",
             "spark.authenticate.secret.driver.file", "spark.authenticate.secret.executor.file",
             "spark.network.crypto.enabled", "spark.io.encryption.enabled")


def _render(tmp_path: Path, values: Obj | None = None, name: str = "etl") -> tuple[dict[str, list[Obj]], Obj, str]:
    objects, effective, manifest = render_objects(tmp_path, values or {}, name=name, namespace=NS)
    by_kind: dict[str, list[Obj]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    configmap = by_kind["ConfigMap"][0]
    by_kind["ExecutorTemplate"] = [yaml.safe_load(configmap["data"]["executor-pod-template.yaml"])]
    by_kind["Conf"] = [parse_spark_defaults(configmap["data"]["spark-defaults.conf"])]
    return by_kind, effective, manifest


def _mount(pod: Obj) -> tuple[Obj, Obj]:
    """The RPC secret's volume mount and volume of a pod (driver or executor template)."""
    container = pod["spec"]["containers"][0]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "spark-rpc-auth")
    volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "spark-rpc-auth")
    return mount, volume


def _raw_render(values: Obj) -> str:
    """A plain Helm render (helm-python-sdk, no sparkhelm code), as `helm template etl chart` would make it."""
    with helm_python.Chart.load(str(CHART)) as chart:
        templates = chart.render(values, name="etl", namespace=NS, is_install=True)
    return format_manifest(templates)[0]


# --- on by default, the secret as a file -------------------------------------------------------


def test_defaults_authenticate_and_encrypt_with_a_generated_secret_file(tmp_path: Path) -> None:
    objs, effective, manifest = _render(tmp_path)
    conf = objs["Conf"][0]
    assert conf["spark.authenticate"] == "true"
    assert conf["spark.network.crypto.enabled"] == "true"
    assert conf["spark.authenticate.secret.file"] == SECRET_FILE
    assert conf["spark.io.encryption.enabled"] == "false"
    # the secure defaults beyond Spark's backward-compatible ones
    assert conf["spark.network.crypto.cipher"] == "AES/GCM/NoPadding"
    assert conf["spark.network.crypto.authEngineVersion"] == "2"
    assert conf["spark.network.crypto.saslFallback"] == "false"
    assert not {"spark.authenticate.secret", "spark.authenticate.secret.driver.file", "spark.authenticate.secret.executor.file"} & set(conf)

    secret = effective["security"]["rpc"]["secret"]
    assert re.fullmatch(r"[A-Za-z0-9]{64}", secret)
    (stored,) = objs["Secret"]
    assert stored["metadata"]["name"] == AppNames("etl").rpc_secret
    assert stored["immutable"] is True and stored["type"] == "Opaque"
    assert base64.b64decode(stored["data"]["secret"]).decode() == secret
    for pod in (objs["Pod"][0], objs["ExecutorTemplate"][0]):
        mount, volume = _mount(pod)
        assert mount == {"name": "spark-rpc-auth", "mountPath": "/etc/spark/rpc-auth", "readOnly": True}
        assert volume["secret"] == {"secretName": "etl-rpc-secret", "defaultMode": 0o444, "items": [{"key": "secret", "path": "secret"}]}
        assert restricted_violations(pod) == []
    # in clear nowhere but the Secret: no pod spec, ConfigMap or argument holds it (nor an env var)
    without_secret = [o for kind, objects in objs.items() if kind not in ("Secret", "Conf") for o in objects]
    assert secret not in json.dumps(without_secret)
    assert base64.b64encode(secret.encode()).decode() not in json.dumps(without_secret)
    assert "AUTH_SECRET" not in manifest


def test_each_computation_generates_a_new_secret_and_keeps_the_users_other_security_values() -> None:
    first = compute_mod.compute(CHART, sets=["security.ioEncryption.enabled=true"], name="a")
    second = compute_mod.compute(CHART, name="a")
    one, two = first.values["security"]["rpc"]["secret"], second.values["security"]["rpc"]["secret"]
    assert one != two and len(one) == len(two) == compute_mod.RPC_SECRET_LENGTH
    assert first.values["security"]["ioEncryption"] == {"enabled": True}


@pytest.mark.parametrize(("sets", "kept"), [
    (["security.rpc.secret=" + GIVEN], GIVEN),
    (["security.rpc.existingSecret=team-rpc"], None),
    (["security.rpc.authenticate=false", "security.rpc.encryption=false"], None),
], ids=["given", "existing-secret", "off"])
def test_no_secret_is_generated_when_one_is_given_or_none_is_needed(sets: list[str], kept: str | None) -> None:
    computed = compute_mod.compute(CHART, sets=sets, name="a").values
    assert (computed.get("security") or {}).get("rpc", {}).get("secret") == kept


def test_an_existing_secret_is_mounted_and_the_chart_stores_none(tmp_path: Path) -> None:
    objs, effective, _ = _render(tmp_path, {"security": {"rpc": {"existingSecret": "team-rpc", "existingSecretKey": "rpc.key"}}})
    assert "Secret" not in objs
    assert "secret" not in effective["security"]["rpc"] or not effective["security"]["rpc"]["secret"]
    for pod in (objs["Pod"][0], objs["ExecutorTemplate"][0]):
        _, volume = _mount(pod)
        assert volume["secret"]["secretName"] == "team-rpc"
        assert volume["secret"]["items"] == [{"key": "rpc.key", "path": "secret"}]
    assert objs["Conf"][0]["spark.authenticate.secret.file"] == SECRET_FILE


@pytest.mark.parametrize(("rpc", "auth", "crypto"), [
    ({"encryption": False}, "true", "false"),
    ({"authenticate": False, "encryption": False}, "false", "false"),
], ids=["authenticate-only", "off"])
def test_authentication_and_encryption_turn_off_separately(tmp_path: Path, rpc: Obj, auth: str, crypto: str) -> None:
    objs, _, _ = _render(tmp_path, {"security": {"rpc": rpc}})
    conf = objs["Conf"][0]
    assert (conf["spark.authenticate"], conf["spark.network.crypto.enabled"]) == (auth, crypto)
    mounted = [any(v["name"] == "spark-rpc-auth" for v in pod["spec"].get("volumes", []))
               for pod in (objs["Pod"][0], objs["ExecutorTemplate"][0])]
    assert mounted == [auth == "true"] * 2
    assert ("Secret" in objs) == (auth == "true")
    assert ("spark.authenticate.secret.file" in conf) == (auth == "true")


def test_io_encryption_is_a_value_off_by_default(tmp_path: Path) -> None:
    objs, _, _ = _render(tmp_path, {"security": {"ioEncryption": {"enabled": True}}})
    assert objs["Conf"][0]["spark.io.encryption.enabled"] == "true"


def test_the_cipher_and_engine_version_stay_overridable(tmp_path: Path) -> None:
    objs, _, _ = _render(tmp_path, {"sparkConf": {"spark.network.crypto.cipher": "AES/CTR/NoPadding"}})
    assert objs["Conf"][0]["spark.network.crypto.cipher"] == "AES/CTR/NoPadding"


# --- determinism: sparkhelm pins the secret, raw Helm has the one documented exception ---------


def test_sparkhelm_template_is_the_helm_render_of_sparkhelm_values(cli) -> None:
    values = cli("values", "--set", f"app.mainApplicationFile={PI}", "--name", "etl")
    assert values.exit_code == 0, values.stderr
    computed = yaml.safe_load(values.stdout)
    secret = computed["security"]["rpc"]["secret"]
    # the secret is random like a generated name: pass it back, as `helm install -f` of the output does
    template = cli("template", "--set", f"app.mainApplicationFile={PI}", "--name", "etl", "-n", NS,
                   "--set", f"security.rpc.secret={secret}")
    assert template.exit_code == 0, template.stderr
    assert template.stdout == _raw_render(computed)


def _without_secret_data(manifest: str) -> list[Obj]:
    objects = parse_manifest(manifest)
    for obj in objects:
        if obj["kind"] == "Secret":
            obj["data"] = "<data>"
    return objects


def test_raw_helm_renders_differ_only_in_the_secret_data() -> None:
    """The chart's one exception to determinism: randAlphaNum, in the Secret's data and nowhere else."""
    first, second = _raw_render({}), _raw_render({})
    assert first != second
    assert _without_secret_data(first) == _without_secret_data(second)
    secrets = [base64.b64decode(o["data"]["secret"]).decode() for m in (first, second) for o in parse_manifest(m) if o["kind"] == "Secret"]
    assert len(secrets) == 2 and all(re.fullmatch(r"[A-Za-z0-9]{64}", s) for s in secrets)
    assert _raw_render({"security": {"rpc": {"secret": GIVEN}}}) == _raw_render({"security": {"rpc": {"secret": GIVEN}}})
    assert _raw_render({"security": {"rpc": {"existingSecret": "x"}}}) == _raw_render({"security": {"rpc": {"existingSecret": "x"}}})


def test_rand_is_called_in_one_place_only() -> None:
    calls = {path.name: re.findall(r"(?:\(|\{\{-?|\|)\s*(rand[A-Z][A-Za-z]*)", path.read_text()) for path in (CHART / "templates").iterdir()}
    assert {name: found for name, found in calls.items() if found} == {"rpc-secret.yaml": ["randAlphaNum"]}


# --- what the CLI shows ------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["table", "json", "yaml"])
def test_explain_hides_the_generated_secret_and_values_prints_it(cli, output: str) -> None:
    result = cli("explain", "--set", f"app.mainApplicationFile={PI}", "-o", output)
    assert result.exit_code == 0, result.stderr
    assert "<generated, hidden>" in result.stdout
    assert not re.search(r"\b[A-Za-z0-9]{64}\b", result.stdout)
    printed = cli("values", "--set", f"app.mainApplicationFile={PI}")
    assert re.fullmatch(r"[A-Za-z0-9]{64}", yaml.safe_load(printed.stdout)["security"]["rpc"]["secret"])


def test_explain_hides_a_given_secret_in_the_value_and_in_the_flag_that_set_it(cli) -> None:
    result = cli("explain", "--set", f"executor.instances=3,security.rpc.secret={GIVEN}", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert GIVEN not in result.stdout
    rows = {row["key"]: row for row in json.loads(result.stdout)}
    assert rows["security.rpc.secret"]["value"] == "<hidden>"
    assert rows["executor.instances"]["source"] == "--set executor.instances=3,security.rpc.secret=<hidden>"
    escaped = cli("explain", "--set-string", "security.rpc.secret=abc\\," + GIVEN, "-o", "json")
    assert escaped.exit_code == 0, escaped.stderr
    assert GIVEN not in escaped.stdout and "not shown" in escaped.stdout


def test_a_refused_secret_is_not_echoed(cli) -> None:
    result = cli("values", "--set", "security.rpc.secret=tooShortToBeASecret")
    assert_one_line_error(result, "security.rpc.secret is not valid")
    assert "tooShortToBeASecret" not in result.stderr


# --- refusals: wiring keys and the rules of the values ------------------------------------------


@pytest.mark.parametrize("key", AUTH_KEYS)
def test_spark_keys_the_chart_sets_are_refused_in_sparkconf(cli, key: str) -> None:
    escaped = key.replace(".", "\\.")
    result = cli("values", "--set", f"app.mainApplicationFile={PI}", "--set-string", f"sparkConf.{escaped}=/etc/x/secret")
    assert_one_line_error(result, f"sparkConf.{key} is set by the chart")
    assert "security." in result.stderr


@pytest.mark.parametrize(("values", "needle"), [
    ({"security": {"rpc": {"authenticate": False}}}, "security.rpc.encryption needs security.rpc.authenticate"),
    ({"security": {"rpc": {"encryption": False}, "ioEncryption": {"enabled": True}}}, "security.ioEncryption.enabled needs security.rpc.encryption"),
    ({"security": {"rpc": {"secret": GIVEN, "existingSecret": "x"}}}, "security.rpc.secret and security.rpc.existingSecret are both set"),
    ({"security": {"rpc": {"authenticate": False, "encryption": False, "existingSecret": "x"}}}, "security.rpc.existingSecret is set but security.rpc.authenticate is false"),
    ({"driver": {"volumes": [{"name": "auth", "emptyDir": {}}], "volumeMounts": [{"name": "auth", "mountPath": "/etc/spark/rpc-auth"}]}},
     "the RPC secret (security.rpc) and driver.volumeMounts[0] both mount /etc/spark/rpc-auth"),
    ({"executor": {"volumes": [{"name": "spark-rpc-auth", "emptyDir": {}}]}}, "executor.volumes[0] is named \"spark-rpc-auth\""),
], ids=["encrypt-without-auth", "io-without-rpc-encryption", "secret-and-existing", "existing-without-auth", "mount-path", "volume-name"])
def test_contradictions_are_refused_by_sparkhelm_and_by_the_chart_alone(cli, tmp_path: Path, values: Obj, needle: str) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump({"app": {"mainApplicationFile": PI}, **values}))
    assert_one_line_error(cli("values", "-f", path), needle)
    with helm_python.Chart.load(str(CHART)) as chart, pytest.raises(Exception) as caught:
        chart.render(values, name="etl", namespace=NS)
    assert needle in str(caught.value)


def test_the_credential_refusal_does_not_trip_on_the_charts_own_secret(tmp_path: Path) -> None:
    """A secret that looks like an AWS key id renders: it is stored in the Secret, and the checks read sparkConf, env, args."""
    aws_like = "AKIAABCDEFGHIJKLMNOP" + "x" * 20
    objs, _, _ = _render(tmp_path, {"security": {"rpc": {"secret": aws_like}}})
    assert base64.b64decode(objs["Secret"][0]["data"]["secret"]).decode() == aws_like
