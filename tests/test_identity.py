"""The architecture's rule, proven: the CLI only computes values, the chart renders them.

`sparkhelm template` == a plain Helm render (helm-python-sdk, no sparkhelm code in between) of the
chart with the values `sparkhelm values` printed, for every example file and flag combination; and,
with the real binaries, == `helm template` of Helm 3.17 byte for byte and of Helm 4.3 object for object.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import helm_python
import pytest
import yaml

from sparkhelm.engine.manifests import format_manifest
from sparkhelm.spec.layers import merge
from tests.conftest import CHART, ROOT, VALUES_DIR
from tests.tools import client_env, run, tool

CASES = [
    [str(p)] for p in sorted(VALUES_DIR.glob("*.yaml"))
] + [
    [str(VALUES_DIR / "pyspark-pi.yaml"), "--set", "executor.instances=7,ui.ingress.enabled=true", "--set-string", "sparkConf.spark\\.x\\.y=007"],
    [str(VALUES_DIR / "dev.yaml"), str(VALUES_DIR / "prod.yaml"), "--set", "driver.nodeAffinity.values={a,b}"],
]


#: The RPC secret sparkhelm would generate, fixed where a test compares two renders (tests/test_rpc_auth.py
#: proves it is the chart's one random output, and that sparkhelm generates it).
PINNED_SECRET = "identity-test-secret-0123456789abcdef0123456789"


def _pinned_secret(values: dict) -> list[str]:
    """The --set that pins the secret of `values` (what `sparkhelm values` printed), if it has one."""
    secret = ((values.get("security") or {}).get("rpc") or {}).get("secret")
    return ["--set", f"security.rpc.secret={secret}"] if secret else []


def _plain_helm_render(values: dict, release: str, namespace: str) -> str:
    with helm_python.Chart.load(str(CHART)) as chart:
        templates = chart.render(values, name=release, namespace=namespace, is_install=True)
    return format_manifest(templates)[0]


@pytest.mark.parametrize("args", CASES, ids=lambda a: "+".join(Path(x).name for x in a if x.endswith(".yaml")) + ("+flags" if "--set" in a else ""))
@pytest.mark.parametrize("named", [True, False], ids=["named", "generated"])
def test_template_equals_helm_render_of_values(cli, args: list[str], named: bool) -> None:
    files = [x for x in args if x.endswith(".yaml")]
    flags = [x for x in args if not x.endswith(".yaml")]
    file_args = [part for f in files for part in ("-f", f)]
    name_args = ["--name", "identity-app"] if named else []
    values_result = cli("values", *file_args, *flags, *name_args)
    assert values_result.exit_code == 0, values_result.stderr
    values = yaml.safe_load(values_result.stdout)
    app_name = values["nameOverride"]
    # A generated name and the generated RPC secret are random: pin them by passing them back, as a
    # user re-running would (`helm install -f` of the printed values does the same).
    template_result = cli("template", *file_args, *flags, "--name", app_name, "-n", "ns-1", *_pinned_secret(values))
    assert template_result.exit_code == 0, template_result.stderr
    assert template_result.stdout == _plain_helm_render(values, app_name, "ns-1")


@pytest.mark.parametrize("path", sorted(VALUES_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_chart_alone_derives_what_the_cli_computes(cli, path: Path) -> None:
    """Raw `helm install NAME chart -f file` renders the same objects as sparkhelm with --name NAME."""
    user = yaml.safe_load(path.read_text())
    pinned = {"security": {"rpc": {"secret": PINNED_SECRET}}}  # else both sides draw their own at random
    template_result = cli("template", "-f", path, "--name", "ops-app", "-n", "prod", *_pinned_secret(pinned))
    assert template_result.exit_code == 0, template_result.stderr
    assert template_result.stdout == _plain_helm_render(merge(user, pinned), "ops-app", "prod")


def test_formatter_keeps_every_rendered_document_verbatim() -> None:
    values = yaml.safe_load((VALUES_DIR / "prod.yaml").read_text())
    with helm_python.Chart.load(str(CHART)) as chart:
        templates = chart.render(values, name="x", namespace="y")
    manifest, notes = format_manifest(templates)
    for path, text in templates.items():
        if path.endswith("NOTES.txt"):
            assert notes.strip() == text.strip()
            continue
        for document in text.split("\n---\n"):
            if document.strip():
                assert document.strip() in manifest


def test_render_is_deterministic(cli) -> None:
    pin = _pinned_secret({"security": {"rpc": {"secret": PINNED_SECRET}}})
    runs = {cli("template", "-f", VALUES_DIR / "prod.yaml", "--name", "same", *pin).stdout for _ in range(3)}
    assert len(runs) == 1


#: The chart's one documented exception: the RPC secret when no value gives it (templates/rpc-secret.yaml).
ALLOWED_RANDOM = {("rpc-secret.yaml", "randAlphaNum")}


def test_templates_use_no_nondeterministic_functions() -> None:
    banned = ("randAlphaNum", "randAlpha", "randNumeric", "randAscii", "randBytes", "uuidv4", "now", "lookup", "genCA", "genPrivateKey")
    for template in (CHART / "templates").iterdir():
        text = template.read_text()
        for word in banned:
            if (template.name, word) in ALLOWED_RANDOM:
                continue
            assert f" {word} " not in text and f"({word} " not in text and f"{{{{ {word}" not in text, (template.name, word)


def test_skipping_helms_duplicate_schema_check_changes_no_byte() -> None:
    """Values sparkhelm has checked render without Helm's second schema pass, to the same manifest."""
    from sparkhelm import api
    from sparkhelm.engine.embedded import EmbeddedEngine

    app, _ = api.render(api.Inputs(values_files=[VALUES_DIR / "prod.yaml"], name="same-bytes", chart=CHART), engine=EmbeddedEngine())
    engine = EmbeddedEngine()
    checked = engine.render(CHART, app.values, release="same-bytes", namespace="ns", prevalidated=True)
    unchecked = engine.render(CHART, app.values, release="same-bytes", namespace="ns", prevalidated=False)
    assert checked == unchecked


# --- against the real helm binaries ---------------------------------------------------------------
# The rule as an ops user would check it: `helm template RELEASE chart -f <(sparkhelm values ...)` with
# their own helm, against the console script. The embedded engine's output format is Helm 3.17's (byte
# for byte); Helm 4.3 writes a blank line before each `---`, so it is compared object for object.

SPARKHELM = Path(sys.executable).parent / "sparkhelm"
EXAMPLE_FILES = sorted(VALUES_DIR.glob("*.yaml"))
FLAG_MATRIX = {
    "plain": [],
    "set": ["--set", "executor.instances=7,ui.ingress.enabled=true", "--set", "driver.nodeAffinity.values={a,b}"],
    "set-string": ["--set-string", "sparkConf.spark\\.x\\.y=007", "--set-string", "app.arguments={1,2}"],
    "layered": ["-f", str(VALUES_DIR / "dev.yaml")],  # a second -f after the example file
    "etl": ["-f", str(ROOT / "examples" / "nightly-etl.yaml"), "--set", "executor.instances=6"],
}


def _console(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SPARKHELM_ENGINE="embedded")
    env.pop("SPARKHELM_CHART", None)
    return subprocess.run([str(SPARKHELM), *args], env=env, capture_output=True, text=True, timeout=120, check=False)


# every example file with every flag set and --name/-n; every example file with a generated name too
REAL_CASES = [(p, f, True) for p in EXAMPLE_FILES for f in FLAG_MATRIX] + [(p, "plain", False) for p in EXAMPLE_FILES]


@pytest.mark.parametrize(("path", "flags", "named"), REAL_CASES,
                         ids=[f"{p.name}-{f}-{'named' if n else 'generated'}" for p, f, n in REAL_CASES])
def test_console_template_equals_real_helm_template(path: Path, flags: str, named: bool, tmp_path: Path) -> None:
    helm3, helm4 = tool("helm3"), tool("helm4")
    assert SPARKHELM.is_file(), f"no console script next to {sys.executable}"
    args = ["-f", str(path), *FLAG_MATRIX[flags]]
    values = _console("values", *args, *(["--name", "real-id"] if named else []))
    assert values.returncode == 0, values.stderr
    name = yaml.safe_load(values.stdout)["nameOverride"]
    if named:
        assert name == "real-id"
    values_file = tmp_path / "computed.yaml"
    values_file.write_text(values.stdout)
    namespace = "ns-1" if named else "default"
    ns_args = ["-n", namespace] if named else []
    ours = _console("template", *args, "--name", name, *ns_args, *_pinned_secret(yaml.safe_load(values.stdout)))
    assert ours.returncode == 0, ours.stderr
    env = client_env(tmp_path / "home")
    by_helm3 = run(helm3, "template", name, ROOT / "charts" / "spark-client-app", "-n", namespace, "-f", values_file, env=env)
    assert by_helm3.returncode == 0, by_helm3.stderr
    assert ours.stdout == by_helm3.stdout, "sparkhelm template and Helm 3.17's helm template differ"
    by_helm4 = run(helm4, "template", name, ROOT / "charts" / "spark-client-app", "-n", namespace, "-f", values_file, env=env)
    assert by_helm4.returncode == 0, by_helm4.stderr
    assert [d for d in yaml.safe_load_all(ours.stdout) if d] == [d for d in yaml.safe_load_all(by_helm4.stdout) if d]
    assert by_helm4.stdout != ours.stdout and by_helm4.stdout.replace("\n\n---", "\n---") == ours.stdout, \
        "Helm 4.3 differs only by a blank line before ---"
