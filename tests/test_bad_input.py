"""Bad input: exit code 2, one line on stderr naming the key, file or flag, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkhelm.engine.embedded import EmbeddedEngine
from sparkhelm.errors import UserError
from sparkhelm.spec.layers import user_values
from tests.conftest import CHART, PI, write_values

OK = ["--set", f"app.mainApplicationFile={PI}"]

# (id, extra CLI args, text the single stderr line must contain)
SET_CASES = [
    ("negative-instances", ["--set", "executor.instances=-1"], "executor.instances"),
    ("memory-garbage", ["--set", "executor.memory=lots"], "executor.memory"),
    ("memory-with-space", ["--set-string", "driver.memory=2 GB"], "driver.memory"),
    ("cores-not-int", ["--set", "driver.cores=abc"], "driver.cores"),
    ("cores-zero", ["--set", "executor.cores=0"], "executor.cores"),
    ("pull-policy-enum", ["--set", "image.pullPolicy=Sometimes"], "image.pullPolicy"),
    ("restart-policy-always", ["--set", "driver.restartPolicy=Always"], "driver.restartPolicy"),
    ("ingress-mode-enum", ["--set", "ui.ingress.mode=subdomain"], "ui.ingress.mode"),
    ("service-type-enum", ["--set", "ui.service.type=LoadBalancer"], "ui.service.type"),
    ("unknown-key-typo", ["--set", "executor.instance=3"], "executor.instance"),
    ("unknown-top-level", ["--set", "excutor.instances=3"], "excutor"),
    ("reserved-driver-port", ["--set", "sparkConf.spark\\.driver\\.port=7100"], "driver.port"),
    ("reserved-prefix", ["--set", "sparkConf.spark\\.kubernetes\\.executor\\.podNamePrefix=x"], "sparkConf.spark.kubernetes.executor.podNamePrefix"),
    ("reserved-master", ["--set", "sparkConf.spark\\.master=local[*]"], "spark.master"),
    ("reserved-proxybase", ["--set", "sparkConf.spark\\.ui\\.proxyBase=/x"], "ui.ingress.path"),
    ("non-spark-conf-key", ["--set", "sparkConf.foo=bar"], "sparkConf"),
    ("host-mode-no-domain", ["--set", "ui.ingress.enabled=true,ui.ingress.mode=host"], "ui.ingress.domain"),
    ("driver-port-privileged", ["--set", "driver.port=80"], "driver.port"),
    ("nodeport-out-of-range", ["--set", "ui.service.type=NodePort,ui.service.nodePort=80"], "ui.service.nodePort"),
    ("bad-ingress-host", ["--set", "ui.ingress.host=Not_A_Host"], "ui.ingress.host"),
    ("bad-priority-class", ["--set", "priorityClassName=Urgent"], "priorityClassName"),
    ("bad-request-cores", ["--set", "executor.requestCores=fast"], "executor.requestCores"),
    ("bad-resource-quantity", ["--set", "driver.resources.requests.memory=lots"], "driver.resources.requests.memory"),
    ("bad-name-override", ["--set", "nameOverride=UPPER"], "nameOverride"),
    ("affinity-twice", ["--set", "driver.nodeAffinity.values={a},driver.affinity.nodeAffinity.x=1"], "driver.nodeAffinity.values"),
    ("bad-name-uppercase", ["--name", "MyApp"], "--name"),
    ("bad-name-too-long", ["--name", "a" * 48], "--name"),
    ("bad-name-leading-digit", ["--name", "1app"], "--name"),
    ("bad-name-trailing-dash", ["--name", "app-"], "--name"),
    ("bad-name-dot", ["--name", "my.app"], "--name"),
    ("set-without-equals", ["--set", "executor.instances"], "--set"),
    ("set-empty-key-segment", ["--set", "executor..instances=1"], "--set"),
    ("instances-word", ["--set", "executor.instances=two"], "executor.instances"),
    ("instances-float", ["--set", "executor.instances=1.5"], "executor.instances"),
    ("bool-word", ["--set", "ui.ingress.enabled=maybe"], "ui.ingress.enabled"),
    ("list-as-string", ["--set", "driver.tolerations=x"], "driver.tolerations"),
    ("memory-fraction", ["--set", "driver.memory=1.5g"], "driver.memory"),
    ("memory-negative", ["--set", "executor.memory=-1g"], "executor.memory"),
    ("limit-cores-negative", ["--set", "executor.limitCores=-1"], "executor.limitCores"),
    ("port-too-high", ["--set", "driver.port=70000"], "driver.port"),
    ("max-executors-negative", ["--set", "dynamicAllocation.maxExecutors=-3"], "dynamicAllocation.maxExecutors"),
    ("ingress-host-url", ["--set", "ui.ingress.host=https://spark.example.com"], "ui.ingress.host"),
    ("ingress-domain-upper", ["--set", "ui.ingress.enabled=true,ui.ingress.mode=host,ui.ingress.domain=Spark.Example.com"], "ui.ingress.domain"),
    ("name-override-underscore", ["--set", "nameOverride=a_b"], "nameOverride"),
    ("name-override-too-long", ["--set", "nameOverride=" + "n" * 48], "nameOverride"),
    ("unknown-nested-key", ["--set", "ui.ingres.enabled=true"], "ui.ingres"),
    ("reserved-kill-enabled", ["--set", "sparkConf.spark\\.ui\\.killEnabled=true"], "ui.killEnabled"),
    ("reserved-executor-sa", ["--set", "sparkConf.spark\\.kubernetes\\.authenticate\\.executor\\.serviceAccountName=x"], "executor.serviceAccount.name"),
    ("reserved-block-manager", ["--set", "sparkConf.spark\\.blockManager\\.port=7100"], "executor.blockManagerPort"),
    ("credential-in-spark-conf", ["--set", "sparkConf.spark\\.hadoop\\.fs\\.s3a\\.secret\\.key=abc"], "sparkConf.spark.hadoop.fs.s3a.secret.key"),
    ("credential-in-env", ["--set", "executor.env[0].name=DB_PASSWORD,executor.env[0].value=x"], "executor.env[0]"),
    ("snippet-annotation", ["--set", "ui.ingress.annotations.nginx\\.ingress\\.kubernetes\\.io/server-snippet=x"], "server-snippet"),
    ("secret-env-bad-name", ["--set", "secrets.env[0].name=1BAD,secrets.env[0].secretName=s,secrets.env[0].key=k"], "secrets.env[0].name"),
    ("secret-env-missing-key", ["--set", "secrets.env[0].name=A,secrets.env[0].secretName=s"], "secrets.env[0].key"),
    ("secret-file-relative", ["--set", "secrets.files[0].secretName=s,secrets.files[0].mountPath=etc/s"], "secrets.files[0].mountPath"),
    ("scratch-relative", ["--set", "scratch.mountPaths[0]=tmp"], "scratch.mountPaths[0]"),
    ("scratch-medium", ["--set", "scratch.medium=Disk"], "scratch.medium"),
    ("netpol-bad-cidr", ["--set", "networkPolicy.apiServer.cidrs[0]=nope"], "networkPolicy.apiServer.cidrs[0]"),
    ("podgroup-zero", ["--set", "volcano.podGroup.minMember=0"], "volcano.podGroup.minMember"),
    ("set-only-equals", ["--set", "=x"], "--set"),
    ("set-trailing-comma-key", ["--set", "executor.instances=1,d"], "--set"),
    ("bad-engine", ["--engine", "docker"], "--engine"),
    ("bad-chart-dir", ["--chart", "/nonexistent"], "--chart"),
]


def assert_one_line_error(result, needle: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sparkhelm: error: "), lines[0]
    assert needle in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


@pytest.mark.parametrize(("case", "args", "needle"), SET_CASES, ids=[c[0] for c in SET_CASES])
@pytest.mark.parametrize("command", ["template", "values", "run"])
def test_bad_flags_and_values(cli, case: str, args: list[str], needle: str, command: str) -> None:
    extra = ["--dry-run"] if command == "run" else []
    assert_one_line_error(cli(command, *OK, *args, *extra), needle)


FILE_CASES = [
    ("yaml-syntax", "app:\n  mainApplicationFile: [unclosed\n", "line"),
    ("yaml-tab", "app:\n\tmainApplicationFile: x\n", "YAML syntax error"),
    ("top-level-list", "- a\n- b\n", "top level must be a mapping"),
    ("top-level-scalar", "just a string\n", "top level must be a mapping"),
    ("wrong-type-section", "executor: 3\napp:\n  mainApplicationFile: x.py\n", "executor"),
    ("list-instead-of-map", "app:\n  - mainApplicationFile: x.py\n", "app"),
    ("spark-conf-value-newline", "sparkConf:\n  spark.a: \"x\\ny\"\n", "sparkConf.spark.a"),
    ("empty-app-file", "app:\n  mainApplicationFile: ''\n", "app.mainApplicationFile"),
    ("arguments-not-list", f"app:\n  mainApplicationFile: {PI}\n  arguments: '10'\n", "app.arguments"),
    ("packages-not-coordinates", f"app:\n  mainApplicationFile: {PI}\n  packages: [hadoop-aws]\n", "app.packages"),
    ("two-documents", f"app:\n  mainApplicationFile: {PI}\n---\nexecutor: {{}}\n", "YAML syntax error"),
    ("not-utf8", b"app:\n  mainApplicationFile: \xff\xfe\n", "UTF-8"),
    ("secret-in-spark-env", f"app:\n  mainApplicationFile: {PI}\nsparkEnv: |\n  export AWS_SECRET_ACCESS_KEY=abc\n", "sparkEnv line 1"),
    ("private-key-argument", f"app:\n  mainApplicationFile: {PI}\n  arguments: ['-----BEGIN PRIVATE KEY-----']\n", "app.arguments[0]"),
    ("yaml-alias-bomb", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)) + f"app:\n  mainApplicationFile: {PI}\n", "YAML aliases"),
    ("ingress-annotations-list", f"app:\n  mainApplicationFile: {PI}\nui:\n  ingress:\n    annotations: [a]\n", "ui.ingress.annotations"),
]


@pytest.mark.parametrize(("case", "text", "needle"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_values_files(cli, tmp_path: Path, case: str, text: str, needle: str) -> None:
    path = write_values(tmp_path, text)
    for command in ("template", "values"):
        result = cli(command, "-f", path)
        assert_one_line_error(result, needle)
    assert str(path) in cli("values", "-f", path).stderr or needle != "line"


@pytest.fixture(scope="module")
def watched_cluster(tmp_path_factory: pytest.TempPathFactory):
    """One emulated API server for the whole corpus: every case must leave its request log untouched."""
    from tests.harness import RunningCluster

    running = RunningCluster(tmp_path_factory.mktemp("cluster"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KUBECONFIG", str(running.kubeconfig))
        patch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        yield running
    running.close()


@pytest.mark.parametrize(("case", "args", "needle"), SET_CASES, ids=[c[0] for c in SET_CASES])
def test_bad_flags_and_values_never_reach_the_cluster(watched_cluster, cli, case: str, args: list[str], needle: str) -> None:
    before = len(watched_cluster.requests())
    assert_one_line_error(cli("run", *OK, *args, "--wait"), needle)
    assert watched_cluster.requests()[before:] == []


@pytest.mark.parametrize(("case", "text", "needle"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_values_files_never_reach_the_cluster(watched_cluster, cli, tmp_path: Path, case: str, text: str, needle: str) -> None:
    before = len(watched_cluster.requests())
    assert_one_line_error(cli("run", "-f", write_values(tmp_path, text), "--wait"), needle)
    assert watched_cluster.requests()[before:] == []


def test_the_corpus_reaches_the_cluster_when_the_input_is_fixed(watched_cluster, cli) -> None:
    """The two tests above are not vacuous: a valid run does talk to the same API server."""
    before = len(watched_cluster.requests())
    result = cli("run", *OK, "--name", "corpus-control")
    assert result.exit_code == 0, result.stderr
    assert any(method == "POST" for method, _ in watched_cluster.requests()[before:])


@pytest.mark.parametrize("namespace", ["Bad_NS", "n" * 64, "-lead", "has.dot", ""])
@pytest.mark.parametrize("command", ["template", "run"])
def test_bad_namespace(watched_cluster, cli, command: str, namespace: str) -> None:
    before = len(watched_cluster.requests())
    assert_one_line_error(cli(command, *OK, "-n", namespace), "-n/--namespace")
    assert watched_cluster.requests()[before:] == []


def test_values_from_standard_input(cli) -> None:
    """`-f -` reads values from stdin, as Helm does."""
    result = cli("values", "-f", "-", "--name", "from-stdin", input=f"app:\n  mainApplicationFile: {PI}\n")
    assert result.exit_code == 0, result.stderr
    assert "nameOverride: from-stdin" in result.stdout and PI in result.stdout


def test_missing_values_file(cli, tmp_path: Path) -> None:
    assert_one_line_error(cli("template", "-f", tmp_path / "nope.yaml"), "nope.yaml")


def test_directory_as_values_file(cli, tmp_path: Path) -> None:
    assert_one_line_error(cli("values", "-f", tmp_path), "directory")


def test_unreadable_values_file(cli, tmp_path: Path) -> None:
    import os

    path = write_values(tmp_path, {"app": {"mainApplicationFile": PI}})
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user that can read any file (root)")
        assert_one_line_error(cli("values", "-f", path), "permission denied")
    finally:
        path.chmod(0o644)


def test_unknown_flag_is_one_line(cli) -> None:
    assert_one_line_error(cli("template", "--bogus"), "--bogus")


def test_reserved_key_message_says_what_to_set(cli) -> None:
    result = cli("values", *OK, "--set", "sparkConf.spark\\.executor\\.instances=9")
    assert_one_line_error(result, "set executor.instances instead")


VALUE_CASES = [c for c in SET_CASES if {a for a in c[1] if a.startswith("--")} <= {"--set", "--set-string"}]


@pytest.mark.parametrize(("case", "args", "needle"), VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_raw_helm_refuses_what_sparkhelm_refuses(case: str, args: list[str], needle: str) -> None:
    """An ops team's `helm install` of the chart gets the same protection: the chart (schema included) refuses it."""
    sets = [OK[1]] + [v for flag, v in zip(args[::2], args[1::2], strict=True) if flag == "--set"]
    set_strings = [v for flag, v in zip(args[::2], args[1::2], strict=True) if flag == "--set-string"]
    try:
        values = user_values([], sets, set_strings)
    except UserError:
        return  # refused while reading the flags: nothing reaches the chart
    with pytest.raises(UserError):
        EmbeddedEngine().render(CHART, {"nameOverride": "raw", **values}, release="raw", namespace="ns")


def test_bad_input_count() -> None:
    assert len(SET_CASES) + len(FILE_CASES) >= 40
