"""sparkhelm.kube.connection against two oracles: the `kubernetes` client and a real kubectl.

The connection is hand-written (the `kubernetes` package costs 0.7 s to import), so every kubeconfig
of the matrix below is resolved three ways and compared: by `resolve`, by
`kubernetes.config.load_kube_config` into a `kubernetes.client.Configuration` (server, verify flag,
CA bytes, client certificate and key bytes, Authorization header, proxy, tls-server-name), and by
`kubectl config view --minify --flatten -o json` (context, namespace, merge precedence, every byte of
embedded or referenced data). Where the two oracles disagree, kubectl is the reference and the case
says so. Broken inputs must be exit-2 UserErrors of one line naming the file and the fix.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml

from sparkhelm.errors import EngineError, NoKubeconfigError, UserError, one_line
from sparkhelm.kube import connection as connection_mod
from sparkhelm.kube.connection import KubeTarget, resolve, resolve_for_dry_run
from tests.tools import tool

PLUGIN = Path(__file__).parent / "kubeclient" / "exec_plugin.py"
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No proxy, KUBECONFIG or in-cluster variables from the machine; a fresh exec-plugin cache."""
    for name in (*PROXY_VARS, "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "POD_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    connection_mod._EXEC_CACHE.clear()


@dataclass(frozen=True)
class Pki:
    ca: bytes
    cert: bytes
    key: bytes


@pytest.fixture(scope="module")
def pki() -> Pki:
    ca = trustme.CA()
    leaf = ca.issue_cert("alice.example")
    return Pki(ca.cert_pem.bytes(), leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())


def b64(data: bytes | str) -> str:
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


def kubeconfig(
    clusters: dict[str, dict[str, Any]],
    users: dict[str, dict[str, Any]],
    contexts: dict[str, dict[str, Any]],
    current: str | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": c} for n, c in clusters.items()],
        "users": [{"name": n, "user": u} for n, u in users.items()],
        "contexts": [{"name": n, "context": c} for n, c in contexts.items()],
    }
    if current:
        doc["current-context"] = current
    return doc


def write(path: Path, content: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text(yaml.safe_dump(content))
    return path


def jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


def plugin_exec(state: Path, api: str = "client.authentication.k8s.io/v1", **env: str) -> dict[str, Any]:
    state.mkdir(parents=True, exist_ok=True)
    spec: dict[str, Any] = {
        "apiVersion": api,
        "command": sys.executable,
        "args": [str(PLUGIN)],
        "env": [{"name": "PLUGIN_STATE", "value": str(state)}, *({"name": k, "value": v} for k, v in env.items())],
    }
    if api.endswith("/v1"):
        spec["interactiveMode"] = "Never"
    return spec


# --- the matrix ----------------------------------------------------------------------------------


@dataclass
class Scenario:
    """A kubeconfig set-up: KUBECONFIG (or --kubeconfig), what the user said, and which oracles apply."""

    kubeconfig_env: str | None
    target: KubeTarget = field(default_factory=KubeTarget)
    #: The `kubernetes` client is an oracle for this case (False where it differs from kubectl, said why).
    python_client: bool = True
    #: The path kubectl gets (KUBECONFIG), when ours is given differently (e.g. with `~`).
    kubectl_env: str | None = None
    expected_namespace: str | None = None


def https_cluster(ca: str | None = "ca.crt", **more: Any) -> dict[str, Any]:
    cluster: dict[str, Any] = {"server": "https://127.0.0.1:6443", **more}
    if ca:
        cluster["certificate-authority"] = ca
    return cluster


def single(tmp: Path, pki: Pki, cluster: dict[str, Any], user: dict[str, Any] | None, namespace: str | None = "team-a",
           name: str = "config") -> Path:
    write(tmp / "ca.crt", pki.ca)
    context: dict[str, Any] = {"cluster": "c"}
    if user is not None:
        context["user"] = "u"
    if namespace:
        context["namespace"] = namespace
    return write(tmp / name, kubeconfig({"c": cluster}, {"u": user} if user is not None else {}, {"ctx": context}, "ctx"))


def case_token(tmp: Path, pki: Pki) -> Scenario:
    return Scenario(str(single(tmp, pki, https_cluster(), {"token": "static-token"})))


def case_token_file(tmp: Path, pki: Pki) -> Scenario:
    write(tmp / "secrets" / "token", "file-token")  # no newline: the python client sends the file as is
    return Scenario(str(single(tmp, pki, https_cluster(), {"tokenFile": "secrets/token"})))


def case_cert_files(tmp: Path, pki: Pki) -> Scenario:
    write(tmp / "pki" / "alice.crt", pki.cert)
    write(tmp / "pki" / "alice.key", pki.key)
    user = {"client-certificate": "pki/alice.crt", "client-key": "pki/alice.key"}
    return Scenario(str(single(tmp, pki, https_cluster(ca=None, **{"certificate-authority-data": b64(pki.ca)}), user)))


def case_cert_data(tmp: Path, pki: Pki) -> Scenario:
    user = {"client-certificate-data": b64(pki.cert), "client-key-data": b64(pki.key)}
    return Scenario(str(single(tmp, pki, https_cluster(ca=None, **{"certificate-authority-data": b64(pki.ca)}), user)))


def case_basic(tmp: Path, pki: Pki) -> Scenario:
    return Scenario(str(single(tmp, pki, https_cluster(), {"username": "admin", "password": "s3cret:pw"})))


def case_exec_v1(tmp: Path, pki: Pki) -> Scenario:
    user = {"exec": plugin_exec(tmp / "state", PLUGIN_TOKENS="exec-v1-token")}
    return Scenario(str(single(tmp, pki, https_cluster(), user)))


def case_exec_v1beta1_cluster_info(tmp: Path, pki: Pki) -> Scenario:
    exec_spec = plugin_exec(tmp / "state", "client.authentication.k8s.io/v1beta1", PLUGIN_TOKENS="beta-token")
    exec_spec["provideClusterInfo"] = True
    cluster = https_cluster(extensions=[{"name": "client.authentication.k8s.io/exec", "extension": {"audience": "x"}}])
    return Scenario(str(single(tmp, pki, cluster, {"exec": exec_spec})))


def case_exec_cert(tmp: Path, pki: Pki) -> Scenario:
    cert, key = write(tmp / "p" / "c.pem", pki.cert), write(tmp / "p" / "k.pem", pki.key)
    user = {"exec": plugin_exec(tmp / "state", PLUGIN_MODE="cert", PLUGIN_CERT=str(cert), PLUGIN_KEY=str(key))}
    return Scenario(str(single(tmp, pki, https_cluster(), user)))


def case_oidc(tmp: Path, pki: Pki) -> Scenario:
    token = jwt({"iss": "https://idp.example", "sub": "alice", "exp": int(time.time()) + 3600})
    provider = {"name": "oidc", "config": {"client-id": "k8s", "id-token": token, "idp-issuer-url": "https://idp.example"}}
    return Scenario(str(single(tmp, pki, https_cluster(), {"auth-provider": provider})))


def case_gcp_access_token(tmp: Path, pki: Pki) -> Scenario:
    expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    provider = {"name": "gcp", "config": {"access-token": "ya29.access", "expiry": expiry}}
    return Scenario(str(single(tmp, pki, https_cluster(), {"auth-provider": provider})))


def case_insecure(tmp: Path, pki: Pki) -> Scenario:
    cluster = https_cluster(ca=None, **{"insecure-skip-tls-verify": True})
    return Scenario(str(single(tmp, pki, cluster, {"token": "t"})))


def case_ca_absolute(tmp: Path, pki: Pki) -> Scenario:
    ca = write(tmp / "elsewhere" / "bundle.pem", pki.ca)
    return Scenario(str(single(tmp, pki, https_cluster(ca=str(ca)), {"token": "t"})))


def case_tls_server_name(tmp: Path, pki: Pki) -> Scenario:
    cluster = https_cluster(**{"tls-server-name": "api.internal"})
    return Scenario(str(single(tmp, pki, cluster, {"token": "t"})))


def case_proxy_url(tmp: Path, pki: Pki) -> Scenario:
    cluster = https_cluster(**{"proxy-url": "http://proxy.corp:3128"})
    return Scenario(str(single(tmp, pki, cluster, {"token": "t"})))


def case_relative_subdir(tmp: Path, pki: Pki) -> Scenario:
    write(tmp / "pki" / "ca.pem", pki.ca)
    write(tmp / "pki" / "alice.crt", pki.cert)
    write(tmp / "pki" / "alice.key", pki.key)
    user = {"client-certificate": "../../pki/alice.crt", "client-key": "../../pki/alice.key"}
    doc = kubeconfig({"c": https_cluster(ca="../../pki/ca.pem")}, {"u": user}, {"dev": {"cluster": "c", "user": "u"}}, "dev")
    return Scenario(str(write(tmp / "conf" / "dev" / "config", doc)))


def case_list_overlapping(tmp: Path, pki: Pki) -> Scenario:
    """Both files define cluster, user and context `shared` and a current-context: the first file wins each.

    The `kubernetes` client takes the LAST file's current-context (kubectl the first), so only kubectl
    is the oracle here.
    """
    a = kubeconfig(
        {"shared": {"server": "https://a.example:6443", "certificate-authority-data": b64(pki.ca)}},
        {"shared": {"token": "token-from-a"}},
        {"shared": {"cluster": "shared", "user": "shared", "namespace": "from-a"}},
        "shared",
    )
    b = kubeconfig(
        {"shared": {"server": "https://b.example:6443"}, "only-b": {"server": "https://only-b.example"}},
        {"shared": {"token": "token-from-b"}},
        {"shared": {"cluster": "shared", "user": "shared", "namespace": "from-b"}, "b": {"cluster": "only-b"}},
        "b",
    )
    paths = [write(tmp / "a.yaml", a), write(tmp / "b.yaml", b)]
    return Scenario(os.pathsep.join(map(str, paths)), python_client=False)


def case_list_current_from_second(tmp: Path, pki: Pki) -> Scenario:
    """The current-context comes from the second file and names a context whose cluster is in the first."""
    a = kubeconfig({"prod": {"server": "https://prod.example", "certificate-authority-data": b64(pki.ca)}}, {}, {})
    b = kubeconfig({}, {"ops": {"token": "ops-token"}}, {"prod-ops": {"cluster": "prod", "user": "ops", "namespace": "ops"}},
                   "prod-ops")
    paths = [write(tmp / "clusters.yaml", a), write(tmp / "users.yaml", b)]
    return Scenario(os.pathsep.join(map(str, paths)))


def case_list_missing_file(tmp: Path, pki: Pki) -> Scenario:
    present = single(tmp, pki, https_cluster(), {"token": "t"})
    return Scenario(os.pathsep.join([str(tmp / "missing.yaml"), str(present)]))


def case_context_override(tmp: Path, pki: Pki) -> Scenario:
    write(tmp / "ca.crt", pki.ca)
    doc = kubeconfig(
        {"one": https_cluster(), "two": {"server": "https://two.example:443", "insecure-skip-tls-verify": True}},
        {"u1": {"token": "one"}, "u2": {"token": "two"}},
        {"first": {"cluster": "one", "user": "u1", "namespace": "n1"}, "second": {"cluster": "two", "user": "u2"}},
        "first",
    )
    return Scenario(str(write(tmp / "config", doc)), target=KubeTarget(context="second"))


def case_namespace_absent(tmp: Path, pki: Pki) -> Scenario:
    return Scenario(str(single(tmp, pki, https_cluster(), {"token": "t"}, namespace=None)), expected_namespace="default")


def case_namespace_flag(tmp: Path, pki: Pki) -> Scenario:
    path = single(tmp, pki, https_cluster(), {"token": "t"}, namespace="from-context")
    return Scenario(str(path), target=KubeTarget(namespace="from-flag"), expected_namespace="from-flag")


def case_server_path_prefix(tmp: Path, pki: Pki) -> Scenario:
    cluster = {"server": "https://rancher.example/k8s/clusters/c-m-1", "certificate-authority-data": b64(pki.ca)}
    return Scenario(str(single(tmp, pki, cluster, {"token": "t"})))


def case_anonymous(tmp: Path, pki: Pki) -> Scenario:
    return Scenario(str(single(tmp, pki, https_cluster(), None)))


def case_explicit_kubeconfig(tmp: Path, pki: Pki) -> Scenario:
    """--kubeconfig wins over KUBECONFIG (which points at a file with another server)."""
    chosen = single(tmp / "chosen", pki, https_cluster(), {"token": "chosen"})
    other = single(tmp / "other", pki, {"server": "https://other.example"}, {"token": "other"})
    return Scenario(str(other), target=KubeTarget(kubeconfig=str(chosen)))


def case_tilde(tmp: Path, pki: Pki) -> Scenario:
    """`~` in KUBECONFIG is the home directory (kubectl leaves that to the shell: it gets the expanded path)."""
    path = single(tmp / "home" / "kube", pki, https_cluster(), {"token": "t"})
    return Scenario("~/kube/config", kubectl_env=str(path))


CASES: dict[str, Callable[[Path, Pki], Scenario]] = {
    name.removeprefix("case_"): fn for name, fn in globals().items() if name.startswith("case_")
}


def _python_client(scenario: Scenario) -> Any:
    """The `kubernetes` client's reading of the same kubeconfig."""
    from kubernetes import client, config

    configuration = client.Configuration()
    files = scenario.target.kubeconfig or os.path.expanduser(scenario.kubeconfig_env or "")
    config.load_kube_config(config_file=files, context=scenario.target.context, client_configuration=configuration)
    return configuration


def _read(path: str | None) -> bytes | None:
    return Path(path).read_bytes() if path else None


def _kubectl_view(scenario: Scenario, tmp: Path) -> dict[str, Any]:
    kubectl = tool("kubectl37")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp / "home")}
    argv = [str(kubectl), "config", "view", "--minify", "--flatten", "-o", "json"]
    env["KUBECONFIG"] = scenario.kubectl_env or scenario.kubeconfig_env or ""
    if scenario.target.kubeconfig:
        argv += ["--kubeconfig", scenario.target.kubeconfig]
    if scenario.target.context:
        argv += ["--context", scenario.target.context]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    view: dict[str, Any] = json.loads(done.stdout)
    return view


@pytest.mark.parametrize("name", sorted(CASES))
def test_kubeconfig_matrix_agrees_with_the_kubernetes_client_and_kubectl(name: str, tmp_path: Path, pki: Pki,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = CASES[name](tmp_path, pki)
    if scenario.kubeconfig_env is not None:
        monkeypatch.setenv("KUBECONFIG", scenario.kubeconfig_env)
    ours = resolve(scenario.target)
    authorization = ours.credentials.authorization()
    identity = ours.credentials.identity()

    # oracle 1: kubectl, for context, namespace, merge precedence and every byte of data
    view = _kubectl_view(scenario, tmp_path)
    (kube_context,) = view["contexts"]
    (kube_cluster,) = view["clusters"]
    assert ours.context == kube_context["name"] == view["current-context"]
    assert ours.cluster == kube_cluster["name"]
    cluster = kube_cluster["cluster"]
    assert ours.server == cluster["server"]
    assert ours.insecure is bool(cluster.get("insecure-skip-tls-verify"))
    assert ours.tls_server_name == cluster.get("tls-server-name")
    assert ours.proxy_url == cluster.get("proxy-url")
    kube_ca = cluster.get("certificate-authority-data")
    assert ours.ca_data == (base64.b64decode(kube_ca) if kube_ca else None)
    users = view.get("users") or []
    user = users[0]["user"] if users else {}
    assert ours.user == (users[0]["name"] if users else None)
    if "client-certificate-data" in user:
        assert identity == (base64.b64decode(user["client-certificate-data"]), base64.b64decode(user["client-key-data"]))
    if "token" in user:
        assert authorization == f"Bearer {user['token']}"
    if "username" in user:
        assert authorization == "Basic " + b64(f"{user['username']}:{user['password']}")
    assert ours.credentials.exec_config is not None if "exec" in user else ours.credentials.exec_config is None
    kube_namespace = kube_context["context"].get("namespace") or "default"
    assert ours.namespace == (scenario.expected_namespace or kube_namespace)
    if scenario.target.namespace is None:
        assert ours.namespace_source == (f"context {ours.context}" if kube_context["context"].get("namespace") else "default")

    # oracle 2: the kubernetes client's Configuration
    if not scenario.python_client:
        return
    theirs = _python_client(scenario)
    assert ours.server == theirs.host
    assert (not ours.insecure) == theirs.verify_ssl
    assert ours.ca_data == _read(theirs.ssl_ca_cert)
    assert identity == ((_read(theirs.cert_file), _read(theirs.key_file)) if theirs.cert_file else None)
    assert authorization == theirs.api_key.get("BearerToken")
    assert ours.proxy_url == theirs.proxy
    assert ours.tls_server_name == theirs.tls_server_name


def test_the_matrix_is_at_least_twenty_kubeconfigs() -> None:
    assert len(CASES) >= 20


def test_overlapping_kubeconfig_lists_take_each_name_from_the_first_file(tmp_path: Path, pki: Pki,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The values kubectl agreed on above, spelled out: a's cluster, user, namespace and current-context."""
    scenario = case_list_overlapping(tmp_path, pki)
    monkeypatch.setenv("KUBECONFIG", scenario.kubeconfig_env or "")
    ours = resolve(KubeTarget())
    assert (ours.context, ours.server, ours.namespace) == ("shared", "https://a.example:6443", "from-a")
    assert ours.credentials.authorization() == "Bearer token-from-a"
    assert ours.kubeconfig_files == tuple(scenario.kubeconfig_env.split(os.pathsep))  # type: ignore[union-attr]
    other = resolve(KubeTarget(context="b"))  # a context only the second file has
    assert (other.server, other.namespace, other.user) == ("https://only-b.example", "default", None)


def test_exec_plugin_receives_cluster_info_and_its_environment(tmp_path: Path, pki: Pki,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = case_exec_v1beta1_cluster_info(tmp_path, pki)
    monkeypatch.setenv("KUBECONFIG", scenario.kubeconfig_env or "")
    ours = resolve(KubeTarget())
    assert not (tmp_path / "state" / "runs").exists()  # resolving runs no plugin
    assert ours.credentials.authorization() == "Bearer beta-token"
    info = json.loads((tmp_path / "state" / "exec-info.json").read_text())
    assert info["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert info["kind"] == "ExecCredential"
    assert info["spec"]["interactive"] is False
    cluster = info["spec"]["cluster"]
    assert cluster["server"] == "https://127.0.0.1:6443"
    assert base64.b64decode(cluster["certificate-authority-data"]) == pki.ca
    assert cluster["config"] == {"audience": "x"}


def test_token_files_are_stripped_and_read_again_when_they_change(tmp_path: Path, pki: Pki) -> None:
    token = write(tmp_path / "token", "first\n")
    path = single(tmp_path, pki, https_cluster(), {"tokenFile": "token"})
    ours = resolve(KubeTarget(kubeconfig=str(path)))
    assert ours.credentials.authorization() == "Bearer first"
    time.sleep(0.01)
    token.write_text("second-and-longer\n")
    assert ours.credentials.authorization() == "Bearer second-and-longer"


def test_connection_repr_keeps_secrets_out(tmp_path: Path, pki: Pki) -> None:
    user = {"token": "TOKEN-SECRET", "client-certificate-data": b64(pki.cert), "client-key-data": b64(pki.key)}
    path = single(tmp_path, pki, https_cluster(**{"proxy-url": "http://bob:PROXY-SECRET@proxy:3128"}), user)
    ours = resolve(KubeTarget(kubeconfig=str(path)))
    text = repr(ours)
    for secret in ("TOKEN-SECRET", "PROXY-SECRET", "PRIVATE KEY", b64(pki.key)[:20]):
        assert secret not in text
    assert "https://127.0.0.1:6443" in text and "team-a" in text


def test_with_namespace_keeps_the_rest_and_shares_credentials(tmp_path: Path, pki: Pki) -> None:
    ours = resolve(KubeTarget(kubeconfig=str(single(tmp_path, pki, https_cluster(), {"token": "t"}))))
    moved = ours.with_namespace("elsewhere")
    assert (moved.namespace, moved.namespace_source, moved.server, moved.context) == (
        "elsewhere", "-n/--namespace", ours.server, ours.context)
    assert moved.credentials is ours.credentials
    assert ours.with_namespace(ours.namespace) is ours
    with pytest.raises(UserError):
        ours.with_namespace("Not_Valid")


# --- one reading -----------------------------------------------------------------------------------


_OPENED: list[str] | None = None
_HOOKED = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and _OPENED is not None and isinstance(args[0], str | bytes | os.PathLike):
        _OPENED.append(os.fsdecode(args[0]))


def test_resolve_reads_each_kubeconfig_file_once(tmp_path: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    global _OPENED, _HOOKED
    if not _HOOKED:  # an audit hook cannot be removed: install it once, only for this test, idle unless counting
        sys.addaudithook(_audit)
        _HOOKED = True
    scenario = case_list_current_from_second(tmp_path, pki)
    write(tmp_path / "pki" / "alice.crt", pki.cert)
    write(tmp_path / "pki" / "alice.key", pki.key)
    extra = write(tmp_path / "certs.yaml", kubeconfig(
        {}, {"cert-user": {"client-certificate": "pki/alice.crt", "client-key": "pki/alice.key"}},
        {"with-cert": {"cluster": "prod", "user": "cert-user"}}))
    files = [*(scenario.kubeconfig_env or "").split(os.pathsep), str(extra)]
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(files))
    import yaml as _yaml  # noqa: F401 - imported before counting: its own module files are not the point

    _OPENED = []
    try:
        ours = resolve(KubeTarget(context="with-cert"))
    finally:
        opened, _OPENED = _OPENED, None
    assert ours.credentials.identity() == (pki.cert, pki.key)
    watched = [*files, str(tmp_path / "pki" / "alice.crt"), str(tmp_path / "pki" / "alice.key")]
    assert {path: opened.count(path) for path in watched} == dict.fromkeys(watched, 1)


# --- Helm gets the same kubeconfig ---------------------------------------------------------------


def test_helm_gets_the_single_file_or_the_merged_list(tmp_path: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = case_relative_subdir(tmp_path, pki)
    assert resolve(KubeTarget(kubeconfig=scenario.kubeconfig_env)).helm_kubeconfig() == (scenario.kubeconfig_env, None)
    listed = case_list_current_from_second(tmp_path / "list", pki)
    # a relative path inside the list must survive the merge: add a user whose certificate is relative
    write(tmp_path / "list" / "pki" / "alice.crt", pki.cert)
    write(tmp_path / "list" / "pki" / "alice.key", pki.key)
    extra = write(tmp_path / "list" / "certs.yaml", kubeconfig(
        {}, {"cert-user": {"client-certificate": "pki/alice.crt", "client-key": "pki/alice.key"}},
        {"with-cert": {"cluster": "prod", "user": "cert-user"}}))
    env = os.pathsep.join([listed.kubeconfig_env or "", str(extra)])
    monkeypatch.setenv("KUBECONFIG", env)
    path, content = resolve(KubeTarget()).helm_kubeconfig()
    assert path is None and content is not None
    merged = write(tmp_path / "elsewhere" / "merged.yaml", content)  # another directory: relative paths would break

    kubectl = tool("kubectl37")

    def view(kubeconfig_env: str, context: str | None) -> Any:
        argv = [str(kubectl), "config", "view", "--minify", "--flatten", "-o", "json"]
        argv += ["--context", context] if context else []
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home"), "KUBECONFIG": kubeconfig_env}
        return json.loads(subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout)

    for context in (None, "with-cert"):
        assert view(str(merged), context) == view(env, context)


def test_helm_gets_nothing_in_a_cluster(tmp_path: Path) -> None:
    account = service_account(tmp_path)
    ours = resolve(KubeTarget(), environ=in_cluster_env(), service_account_dir=str(account))
    assert ours.helm_kubeconfig() == (None, None)


# --- in a cluster ----------------------------------------------------------------------------------


def service_account(tmp: Path, namespace: str | None = "spark-jobs", token: str = "sa-token") -> Path:
    account = tmp / "serviceaccount"
    account.mkdir(parents=True, exist_ok=True)
    trustme_ca = trustme.CA()
    (account / "ca.crt").write_bytes(trustme_ca.cert_pem.bytes())
    (account / "token").write_text(token)
    if namespace is not None:
        (account / "namespace").write_text(namespace)
    return account


def in_cluster_env(**more: str) -> dict[str, str]:
    return {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443", "HOME": "/nonexistent", **more}


def test_in_cluster_agrees_with_the_kubernetes_client(tmp_path: Path) -> None:
    from kubernetes import client
    from kubernetes.config.incluster_config import InClusterConfigLoader

    account = service_account(tmp_path)
    env = in_cluster_env()
    ours = resolve(KubeTarget(), environ=env, service_account_dir=str(account))
    theirs = client.Configuration()
    InClusterConfigLoader(str(account / "token"), str(account / "ca.crt"), environ=env).load_and_set(theirs)
    assert ours.server == theirs.host == "https://10.96.0.1:443"
    assert ours.ca_data == _read(theirs.ssl_ca_cert)
    assert (ours.credentials.authorization() or "").lower() == theirs.api_key["BearerToken"].lower()
    assert (ours.namespace, ours.namespace_source) == ("spark-jobs", "in-cluster service account")
    assert (ours.context, ours.kubeconfig_files, ours.in_cluster) == (None, (), True)


def test_in_cluster_namespace_precedence_and_token_rotation(tmp_path: Path) -> None:
    account = service_account(tmp_path, namespace=None)
    where = str(account)
    assert resolve(KubeTarget(), environ=in_cluster_env(), service_account_dir=where).namespace == "default"
    (account / "namespace").write_text("from-file\n")
    assert resolve(KubeTarget(), environ=in_cluster_env(), service_account_dir=where).namespace == "from-file"
    pod_ns = resolve(KubeTarget(), environ=in_cluster_env(POD_NAMESPACE="downward"), service_account_dir=where)
    assert (pod_ns.namespace, pod_ns.namespace_source) == ("downward", "POD_NAMESPACE")
    flagged = resolve(KubeTarget(namespace="flag"), environ=in_cluster_env(POD_NAMESPACE="x"), service_account_dir=where)
    assert (flagged.namespace, flagged.namespace_source) == ("flag", "-n/--namespace")
    ipv6 = resolve(KubeTarget(), environ=in_cluster_env(KUBERNETES_SERVICE_HOST="fd00::1"), service_account_dir=where)
    assert ipv6.server == "https://[fd00::1]:443"
    # bound service-account tokens rotate: the kubelet swaps the file, the connection sees the new one
    assert flagged.credentials.authorization() == "Bearer sa-token"
    replacement = account / "token.new"
    replacement.write_text("rotated-token")
    replacement.replace(account / "token")
    assert flagged.credentials.authorization() == "Bearer rotated-token"


def test_a_kubeconfig_wins_over_the_in_cluster_config(tmp_path: Path, pki: Pki) -> None:
    path = single(tmp_path, pki, https_cluster(), {"token": "t"})
    env = in_cluster_env(KUBECONFIG=str(path))
    assert resolve(KubeTarget(), environ=env, service_account_dir=str(service_account(tmp_path))).in_cluster is False


def test_an_empty_kubeconfig_list_falls_back_to_the_in_cluster_config(tmp_path: Path) -> None:
    env = in_cluster_env(KUBECONFIG=str(tmp_path / "none.yaml"))
    assert resolve(KubeTarget(), environ=env, service_account_dir=str(service_account(tmp_path))).in_cluster


# --- proxies from the environment ----------------------------------------------------------------


def test_environment_proxies_follow_go_rules(tmp_path: Path, pki: Pki) -> None:
    path = str(single(tmp_path, pki, https_cluster(), {"token": "t"}))
    remote = str(single(tmp_path / "remote", pki, {"server": "https://api.corp.example:6443"}, {"token": "t"}))

    def proxy(kubeconfig: str, **env: str) -> str | None:
        return resolve(KubeTarget(kubeconfig=kubeconfig), environ={"HOME": "/x", **env}).proxy_url

    assert proxy(remote, HTTPS_PROXY="http://proxy:3128") == "http://proxy:3128"
    assert proxy(remote, https_proxy="proxy:3128") == "http://proxy:3128"
    assert proxy(remote, HTTP_PROXY="http://proxy:3128") is None  # an https server uses HTTPS_PROXY only
    assert proxy(path, HTTPS_PROXY="http://proxy:3128") is None  # loopback is never proxied
    for exempt in ("corp.example", ".corp.example", "api.corp.example:6443", "*"):
        assert proxy(remote, HTTPS_PROXY="http://proxy:3128", NO_PROXY=f"other, {exempt}") is None, exempt
    for not_exempt in ("example.org", "api.corp.example:443", "pi.corp.example"):
        assert proxy(remote, HTTPS_PROXY="http://p:1", NO_PROXY=not_exempt) == "http://p:1", not_exempt


# --- broken inputs: exit 2, one line, the file and the fix --------------------------------------------


def user_error(fn: Callable[[], Any], cls: type[Exception] = UserError) -> str:
    with pytest.raises(cls) as caught:
        fn()
    text, code = one_line(caught.value)
    assert code == (2 if issubclass(cls, UserError) else 1)
    assert "\n" not in str(caught.value) and "Traceback" not in text
    return text


@pytest.mark.parametrize(("text", "line", "column"), [
    ("apiVersion: v1\nclusters:\n- name: a\n  cluster: {server: x\n", 4, 12),
    ("apiVersion: v1\nkind: Config\n  bad: indent\n", 3, 6),
])
def test_malformed_yaml_names_file_line_and_column(tmp_path: Path, text: str, line: int, column: int) -> None:
    path = write(tmp_path / "config", text)
    message = user_error(lambda: resolve(KubeTarget(kubeconfig=str(path))))
    assert message.startswith(f"--kubeconfig / KUBECONFIG: {path} line {line}, column {column}: "), message
    # kubectl reports the same line for these
    kubectl = tool("kubectl37")
    done = subprocess.run([str(kubectl), "config", "view", "--kubeconfig", str(path)], capture_output=True, text=True,
                          check=False)
    assert done.returncode != 0
    kubectl_line = int(done.stderr.split("line ", 1)[1].split(":", 1)[0])
    assert kubectl_line == line, done.stderr


def test_unknown_context_lists_the_contexts(tmp_path: Path, pki: Pki) -> None:
    path = single(tmp_path, pki, https_cluster(), {"token": "t"})
    message = user_error(lambda: resolve(KubeTarget(kubeconfig=str(path), context="prod")))
    assert message == f"--kube-context prod: no such context in {path} (contexts: ctx)"


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda d: d.pop("current-context"), "has no current-context; pass --kube-context (contexts: ctx)"),
    (lambda d: d.update({"current-context": "gone"}), "the current-context gone of"),
    (lambda d: d["contexts"][0]["context"].update(cluster="nope"), "names cluster nope, which"),
    (lambda d: d["contexts"][0]["context"].update(user="nobody"), "names user nobody, which"),
    (lambda d: d["clusters"][0]["cluster"].pop("server"), "has no server"),
    (lambda d: d["clusters"][0]["cluster"].update({"certificate-authority": "missing/ca.crt"}),
     "clusters[c].certificate-authority"),
    (lambda d: d["users"][0]["user"].update({"client-certificate": "no.crt", "client-key": "no.key"}),
     "users[u].client-certificate"),
    (lambda d: d["users"][0].update(user={"tokenFile": "no-token"}), "users[u].tokenFile"),
    (lambda d: d["clusters"][0]["cluster"].update({"certificate-authority-data": "***"}), "is not valid base64"),
    (lambda d: d["clusters"][0]["cluster"].update({"insecure-skip-tls-verify": True}), "remove one"),
    (lambda d: d["users"][0]["user"].update(username="a", password="b"), "both a token and a username/password"),
    (lambda d: d["users"][0].update(user={"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "x"}}),
     "interactiveMode is required"),
    (lambda d: d["users"][0].update(user={"exec": {"apiVersion": "client.authentication.k8s.io/v1alpha1",
                                                   "command": "x"}}), "is not supported"),
    (lambda d: d["users"][0].update(user={"auth-provider": {"name": "azure", "config": {}}}), "kubelogin"),
    (lambda d: d["users"][0].update(user={"auth-provider": {"name": "oidc", "config": {
        "id-token": jwt({"exp": int(time.time()) - 60})}}}), "its token has expired"),
    (lambda d: d["clusters"][0]["cluster"].update({"proxy-url": "socks5://proxy:1080"}),
     "socks5 proxies are not supported by sparkhelm; use an http:// or https:// proxy"),
    (lambda d: d["clusters"].append(d["clusters"][0]), "two clusters are named 'c'; rename one"),
    (lambda d: d["users"][0]["user"].update({"as": "admin"}), "impersonation is not supported"),
])
def test_broken_kubeconfigs_are_one_line_user_errors(tmp_path: Path, pki: Pki, mutate: Callable[[dict[str, Any]], Any],
                                                     expected: str) -> None:
    path = single(tmp_path, pki, https_cluster(), {"token": "t"})
    data = yaml.safe_load(path.read_text())
    mutate(data)
    write(path, data)
    message = user_error(lambda: resolve(KubeTarget(kubeconfig=str(path))))
    assert message.startswith("--kubeconfig / KUBECONFIG: ") and str(path) in message, message
    assert expected in message, message
    # a dry run refuses a broken kubeconfig the same way
    assert user_error(lambda: resolve_for_dry_run(KubeTarget(kubeconfig=str(path)))) == message


def test_no_kubeconfig_anywhere(tmp_path: Path) -> None:
    home = tmp_path / "home"
    message = user_error(lambda: resolve(KubeTarget(), environ={"HOME": str(home)}), NoKubeconfigError)
    assert message == (f"no kubeconfig at {home}/.kube/config and not running in a cluster; point KUBECONFIG at one")
    assert resolve_for_dry_run(KubeTarget(), environ={"HOME": str(home)})[0] == "default"
    assert resolve_for_dry_run(KubeTarget(namespace="mine"), environ={"HOME": str(home)}) == ("mine", "-n/--namespace")
    listed = {"HOME": str(home), "KUBECONFIG": f"{tmp_path}/a:{tmp_path}/b"}
    assert f"{tmp_path}/a:{tmp_path}/b" in user_error(lambda: resolve(KubeTarget(), environ=listed), NoKubeconfigError)


def test_an_explicit_kubeconfig_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    message = user_error(lambda: resolve(KubeTarget(kubeconfig=str(missing))))
    assert message == f"--kubeconfig {missing}: no such file; give the path of a kubeconfig"
    assert user_error(lambda: resolve_for_dry_run(KubeTarget(kubeconfig=str(missing)))) == message


def test_dry_run_answers_like_the_run(tmp_path: Path, pki: Pki) -> None:
    path = single(tmp_path, pki, https_cluster(), {"token": "t"})
    assert resolve_for_dry_run(KubeTarget(kubeconfig=str(path))) == ("team-a", "context ctx")
    assert resolve_for_dry_run(KubeTarget(kubeconfig=str(path), namespace="x")) == ("x", "-n/--namespace")


def test_an_invalid_namespace_in_the_context_is_refused(tmp_path: Path, pki: Pki) -> None:
    path = single(tmp_path, pki, https_cluster(), {"token": "t"}, namespace="Bad_NS")
    message = user_error(lambda: resolve(KubeTarget(kubeconfig=str(path))))
    assert f"the namespace of context ctx in {path} 'Bad_NS' is not a valid namespace" in message
    assert resolve(KubeTarget(kubeconfig=str(path), namespace="good")).namespace == "good"  # -n wins, no error


def test_a_missing_exec_plugin_names_user_command_and_install_hint(tmp_path: Path, pki: Pki) -> None:
    exec_spec = {"apiVersion": "client.authentication.k8s.io/v1", "command": "no-such-auth-plugin",
                 "interactiveMode": "Never",
                 "installHint": "Install gke-gcloud-auth-plugin for use with kubectl by following\n  https://x.example/install"}
    path = single(tmp_path, pki, https_cluster(), {"exec": exec_spec})
    ours = resolve(KubeTarget(kubeconfig=str(path)), environ={"HOME": "/x"})  # resolving runs nothing
    message = user_error(ours.credentials.authorization)
    assert message == (f"--kubeconfig / KUBECONFIG: {path}: users[u].exec: command no-such-auth-plugin not found; "
                       "Install gke-gcloud-auth-plugin for use with kubectl by following https://x.example/install")


def test_a_failing_exec_plugin_is_an_engine_error_with_its_last_stderr_line(tmp_path: Path, pki: Pki) -> None:
    path = single(tmp_path, pki, https_cluster(), {"exec": plugin_exec(tmp_path / "state", PLUGIN_MODE="fail")})
    ours = resolve(KubeTarget(kubeconfig=str(path)))
    message = user_error(ours.credentials.authorization, EngineError)
    assert message.endswith("failed with exit code 3: plugin: your session expired; run 'cloud login'"), message
    assert "users" not in message or "user u" in message


def test_an_exec_plugin_that_prints_garbage_or_the_wrong_version(tmp_path: Path, pki: Pki) -> None:
    path = single(tmp_path, pki, https_cluster(), {"exec": plugin_exec(tmp_path / "s1", PLUGIN_MODE="garbage")})
    assert "did not print an ExecCredential" in user_error(resolve(KubeTarget(kubeconfig=str(path))).credentials.authorization,
                                                            EngineError)
    connection_mod._EXEC_CACHE.clear()
    path = single(tmp_path, pki, https_cluster(),
                  {"exec": plugin_exec(tmp_path / "s2", PLUGIN_API="client.authentication.k8s.io/v1beta1")})
    message = user_error(resolve(KubeTarget(kubeconfig=str(path))).credentials.authorization, EngineError)
    assert "answered with apiVersion 'client.authentication.k8s.io/v1beta1', not client.authentication.k8s.io/v1" in message


def test_resolving_validates_the_namespace_flag(tmp_path: Path) -> None:
    """A bad -n is refused when the target is resolved, for a run and a dry run alike, before any file is read."""
    for resolver in (resolve, resolve_for_dry_run):
        message = user_error(lambda r=resolver: r(KubeTarget(kubeconfig=str(tmp_path / "nowhere"), namespace="UPPER")))
        assert message.startswith("-n/--namespace 'UPPER' is not a valid namespace")


def test_nothing_in_sparkhelm_kube_imports_the_kubernetes_package() -> None:
    code = (
        "import sys; import sparkhelm.kube.connection, sparkhelm.kube.client, sparkhelm.kube.portforward, "
        "sparkhelm.kube.kubeconfig; bad = sorted(m for m in sys.modules if m == 'kubernetes' or "
        "m.startswith(('kubernetes.', 'urllib3', 'websocket'))); print(','.join(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
