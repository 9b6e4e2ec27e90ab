"""Which cluster, as whom, in which namespace: resolved once per command and carried by everything.

`resolve(KubeTarget)` applies kubectl's rules (kubeconfig.py for the files; the precedence of
contexts, namespaces and credentials is client-go's) and returns a `Connection`: the server, the TLS
settings and CA/certificate bytes, the credentials and the namespace with where it came from. The
HTTP client, both Helm engines and every message use that one object, so they cannot disagree on
the cluster or the namespace. Resolving reads files only: no network, no exec plugin (plugins run at
the first request, see `Credentials`), so a dry run resolves too.

Kubeconfig problems are the user's input (UserError, exit 2, one line naming the file and the fix).
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from collections.abc import Mapping
from typing import Any, NamedTuple

from sparkhelm.errors import EngineError, NoKubeconfigError, UserError
from sparkhelm.kube import kubeconfig
from sparkhelm.kube.kubeconfig import FLAG, Entry, Kubeconfig
from sparkhelm.spec.naming import validate_namespace

#: Where a pod finds its service account (token, ca.crt, namespace). Tests pass their own directory.
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
EXEC_CLUSTER_EXTENSION = "client.authentication.k8s.io/exec"
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")
#: What to use instead of an auth-provider that cannot be used as it is (they were removed from kubectl 1.26).
_PROVIDER_REPLACEMENTS = {
    "gcp": "the exec plugin gke-gcloud-auth-plugin (gcloud components install gke-gcloud-auth-plugin)",
    "azure": "the exec plugin kubelogin (kubelogin convert-kubeconfig)",
    "oidc": "an exec plugin such as kubelogin (kubectl oidc-login), or log in again to refresh the id-token",
}


class KubeTarget(NamedTuple):
    """What the user said: kubeconfig path, context and namespace; None means "as kubectl and helm decide".

    The namespace is checked when the target is resolved (`resolve`, `resolve_for_dry_run`).
    """

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None


class ExecConfig(NamedTuple):
    """A user's exec credential plugin (client.authentication.k8s.io v1 or v1beta1), as the kubeconfig says.

    Hashable: it keys the process-wide cache of plugin answers.
    """

    api_version: str
    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    install_hint: str = ""
    interactive_mode: str = "IfAvailable"
    #: KUBERNETES_EXEC_INFO's `spec.cluster` as JSON text when provideClusterInfo is set, else "".
    cluster_info: str = ""
    user: str = ""
    file: str = ""

    def __repr__(self) -> str:
        return f"ExecConfig({self.command!r}, user={self.user!r})"  # env may hold secrets


class Credentials:
    """The user's credentials as they are at each request; shared by every copy of a Connection.

    A tokenFile (and the in-cluster token, which the kubelet rotates) is read again when the file
    changes; an exec plugin runs at the first request and its answer is kept until its
    expirationTimestamp, or until the API server rejects it (401), like client-go. Static credentials
    win over exec, as in client-go: a kubeconfig user with a token never runs its plugin.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        token_file: str | None = None,
        username: str | None = None,
        password: str | None = None,
        client_cert: bytes | None = None,
        client_key: bytes | None = None,
        exec_config: ExecConfig | None = None,
    ) -> None:
        self.token = token
        self.token_file = token_file
        self.username = username
        self.password = password
        self.client_cert = client_cert
        self.client_key = client_key
        static = bool(token or token_file or username or password or client_cert)
        self.exec_config = None if static else exec_config
        self._lock = threading.Lock()
        self._file_token: tuple[tuple[int, int, int], str] | None = None

    def __repr__(self) -> str:
        kinds = [
            name
            for name, value in (
                ("token", self.token),
                ("tokenFile", self.token_file),
                ("basic", self.username),
                ("client-certificate", self.client_cert),
                ("exec", self.exec_config),
            )
            if value
        ]
        return f"Credentials({', '.join(kinds) or 'anonymous'})"

    def authorization(self) -> str | None:
        """The Authorization header value for the next request, or None (anonymous, or a client certificate)."""
        if self.token_file:
            token = self._read_token_file()
            if token:
                return f"Bearer {token}"
        if self.token:
            return f"Bearer {self.token}"
        if self.username is not None or self.password is not None:
            pair = f"{self.username or ''}:{self.password or ''}".encode()
            return "Basic " + base64.b64encode(pair).decode()
        if self.exec_config is not None:
            credential = exec_credential(self.exec_config)
            if credential.token:
                return f"Bearer {credential.token}"
        return None

    def identity(self) -> tuple[bytes, bytes] | None:
        """The client certificate and key (PEM) to present in the TLS handshake, or None."""
        if self.client_cert and self.client_key:
            return self.client_cert, self.client_key
        if self.exec_config is not None:
            # the answer authorization() just got for this request, even if it expires meanwhile
            credential = exec_credential(self.exec_config, expired_ok=True)
            if credential.client_cert and credential.client_key:
                return credential.client_cert, credential.client_key
        return None

    def refresh(self) -> bool:
        """After a 401: forget what may have expired; True when a retry may use different credentials."""
        if self.exec_config is not None:
            forget_exec_credential(self.exec_config)
            return True
        if self.token_file:
            with self._lock:
                before = self._file_token[1] if self._file_token else None
                self._file_token = None
            return self._read_token_file() != before
        return False

    def _read_token_file(self) -> str | None:
        """The token file's content, read again only when the file changed (bound tokens rotate)."""
        assert self.token_file is not None
        with self._lock:
            try:
                stat = os.stat(self.token_file)
                key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
                if self._file_token is None or self._file_token[0] != key:
                    with open(self.token_file, encoding="utf-8") as handle:
                        self._file_token = (key, handle.read().strip())
            except OSError:
                if self._file_token is None:  # never read: say so; else keep the last good token, like client-go
                    raise EngineError(f"cannot read the token file {self.token_file}") from None
            return self._file_token[1] or None


class Connection:
    """One resolved cluster connection: where, how to trust it, who we are, and the namespace.

    Immutable. Secrets (token, password, key, exec environment, proxy credentials) stay out of `repr`.
    A plain class rather than a dataclass: `list` and `status` import this module, and importing
    `dataclasses` (with `inspect`) costs about 15 ms of a budget of about 120 (benchmarks/RESULTS.md).
    """

    __slots__ = (
        "server", "namespace", "namespace_source", "context", "kubeconfig_files", "cluster", "user", "ca_data",
        "insecure", "tls_server_name", "proxy_url", "credentials", "in_cluster", "helm_source",
    )
    _COMPARED = ("server", "namespace", "namespace_source", "context", "kubeconfig_files", "cluster", "user",
                 "ca_data", "insecure", "tls_server_name", "proxy_url", "in_cluster", "helm_source")
    _SHOWN = ("server", "namespace", "namespace_source", "context", "kubeconfig_files", "cluster", "user",
              "insecure", "tls_server_name", "in_cluster")

    server: str
    namespace: str
    namespace_source: str
    context: str | None
    kubeconfig_files: tuple[str, ...]
    cluster: str | None
    user: str | None
    ca_data: bytes | None
    insecure: bool
    tls_server_name: str | None
    proxy_url: str | None
    credentials: Credentials
    in_cluster: bool
    #: (path, merged text) for Helm; see helm_kubeconfig.
    helm_source: tuple[str | None, str | None]

    def __init__(
        self,
        *,
        server: str,
        namespace: str,
        namespace_source: str,
        context: str | None,
        kubeconfig_files: tuple[str, ...],
        cluster: str | None = None,
        user: str | None = None,
        ca_data: bytes | None = None,
        insecure: bool = False,
        tls_server_name: str | None = None,
        proxy_url: str | None = None,
        credentials: Credentials | None = None,
        in_cluster: bool = False,
        helm_source: tuple[str | None, str | None] = (None, None),
    ) -> None:
        values = dict(locals())
        values.pop("self")
        values["credentials"] = credentials if credentials is not None else Credentials()
        for key, value in values.items():
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"Connection is immutable: use with_namespace() (tried to set {key})")

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, key) for key in self._COMPARED)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Connection) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        shown = ", ".join(f"{key}={getattr(self, key)!r}" for key in self._SHOWN)
        return f"Connection({shown})"

    def _replace(self, **changes: Any) -> Connection:
        values = {key: getattr(self, key) for key in self.__slots__}
        values.update(changes)
        return Connection(**values)

    def helm_kubeconfig(self) -> tuple[str | None, str | None]:
        """(path, content) for the Helm engines.

        The single file's path; for a KUBECONFIG list the merged YAML text (relative paths made
        absolute); (None, None) in a cluster, where Helm finds the service account itself.
        """
        return self.helm_source

    def with_namespace(self, namespace: str, *, source: str = "-n/--namespace") -> Connection:
        """The same connection working in another namespace (validated as kubectl would)."""
        if namespace == self.namespace:
            return self
        return self._replace(namespace=validate_namespace(namespace), namespace_source=source)

    @property
    def who(self) -> str:
        """The credentials' owner as messages name it: the context, or the in-cluster service account."""
        return f"context {self.context}" if self.context else "the in-cluster service account"


# --- resolving ------------------------------------------------------------------------------------


def resolve(
    target: KubeTarget, *, environ: Mapping[str, str] | None = None, service_account_dir: str | None = None
) -> Connection:
    """The connection kubectl would use for `target`: from the kubeconfig files, else the in-cluster config."""
    if target.namespace is not None:
        validate_namespace(target.namespace)
    env = os.environ if environ is None else environ
    account = service_account_dir or SERVICE_ACCOUNT_DIR
    paths, origin = kubeconfig.locations(target.kubeconfig, env)
    config = kubeconfig.load(paths, explicit=origin == "--kubeconfig")
    if config is not None and (origin == "--kubeconfig" or not config.is_empty()):
        return _from_kubeconfig(target, config, env, single=origin == "--kubeconfig")
    if _in_cluster_possible(env, account):
        if target.context:
            raise UserError(
                f"--kube-context {target.context}: there is no kubeconfig at {os.pathsep.join(paths)} to find it in; "
                "leave --kube-context out to use the in-cluster service account"
            )
        return _in_cluster(target, env, account)
    where = os.pathsep.join(paths)
    if config is not None:
        raise NoKubeconfigError(
            f"{FLAG}: {config.where} defines no cluster and this is not running in a cluster; point KUBECONFIG at one"
        )
    raise NoKubeconfigError(f"no kubeconfig at {where} and not running in a cluster; point KUBECONFIG at one")


def resolve_for_dry_run(
    target: KubeTarget, *, environ: Mapping[str, str] | None = None, service_account_dir: str | None = None
) -> tuple[str, str]:
    """(namespace, source) as the real run would use, contacting nothing.

    With no kubeconfig at all and no in-cluster config, a dry run still answers: the -n namespace, else
    "default". A kubeconfig that exists but is broken is the same error as for a run.
    """
    try:
        connection = resolve(target, environ=environ, service_account_dir=service_account_dir)
    except NoKubeconfigError:
        if target.namespace:
            return target.namespace, "-n/--namespace"
        return "default", "default (no kubeconfig found)"
    return connection.namespace, connection.namespace_source


def _from_kubeconfig(target: KubeTarget, config: Kubeconfig, environ: Mapping[str, str], *, single: bool) -> Connection:
    contexts = ", ".join(sorted(config.contexts)) or "none"
    name = target.context or config.current_context
    if not name:
        raise UserError(f"{FLAG}: {config.where} has no current-context; pass --kube-context (contexts: {contexts})")
    context = config.contexts.get(name)
    if context is None:
        if target.context:
            raise UserError(f"--kube-context {name}: no such context in {config.where} (contexts: {contexts})")
        raise UserError(
            f"{FLAG}: the current-context {name} of {config.where} is not one of its contexts ({contexts}); "
            "run kubectl config use-context or pass --kube-context"
        )
    cluster_name = _text(context, "cluster")
    if not cluster_name:
        raise UserError(f"{FLAG}: context {name} in {context.file} names no cluster; add cluster: to it")
    cluster = config.clusters.get(cluster_name)
    if cluster is None:
        known = ", ".join(sorted(config.clusters)) or "none"
        raise UserError(
            f"{FLAG}: context {name} in {context.file} names cluster {cluster_name}, which {config.where} "
            f"does not define (clusters: {known})"
        )
    user_name = _text(context, "user")
    user: Entry | None = None
    if user_name:
        user = config.users.get(user_name)
        if user is None:
            known = ", ".join(sorted(config.users)) or "none"
            raise UserError(
                f"{FLAG}: context {name} in {context.file} names user {user_name}, which {config.where} "
                f"does not define (users: {known})"
            )

    if target.namespace:
        namespace, source = target.namespace, "-n/--namespace"
    elif _text(context, "namespace"):
        source = f"context {name}"
        where = f"the namespace of {source} in {context.file}"
        namespace = validate_namespace(_text(context, "namespace"), source=where)
    else:
        namespace, source = "default", "default"

    ca_data = _file_or_data(cluster, "certificate-authority", "clusters")
    insecure = _flag(cluster, "insecure-skip-tls-verify")
    if insecure and ca_data:
        raise UserError(
            f"{FLAG}: cluster {cluster.name} in {cluster.file} sets both insecure-skip-tls-verify and a "
            "certificate-authority; remove one (kubectl refuses this too)"
        )
    tls_server_name = _text(cluster, "tls-server-name") or None
    credentials, has_cert = _credentials(user, cluster) if user else (Credentials(), False)
    server = _server(cluster, tls=bool(ca_data or insecure or has_cert))
    proxy = _proxy(cluster, server, environ)
    helm: tuple[str | None, str | None] = (
        (config.files[0], None) if single or len(config.files) == 1 else (None, config.merged_yaml())
    )
    return Connection(
        server=server,
        namespace=namespace,
        namespace_source=source,
        context=name,
        kubeconfig_files=config.files,
        cluster=cluster.name,
        user=user.name if user else None,
        ca_data=ca_data,
        insecure=insecure,
        tls_server_name=tls_server_name,
        proxy_url=proxy,
        credentials=credentials,
        helm_source=helm,
    )


# --- pieces of a kubeconfig -----------------------------------------------------------------------


def _text(entry: Entry, key: str) -> str:
    value = entry.body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UserError(f"{FLAG}: {entry.file}: {entry.name}: {key} must be a string, not {type(value).__name__}")
    return value


def _flag(entry: Entry, key: str) -> bool:
    value = entry.body.get(key, False)
    if not isinstance(value, bool):
        raise UserError(f"{FLAG}: {entry.file}: {entry.name}: {key} must be true or false")
    return value


def _file_or_data(entry: Entry, key: str, section: str) -> bytes | None:
    """`KEY-data` (base64) if set, else the content of the file `KEY` names (relative to its kubeconfig)."""
    where = f"{section}[{entry.name}]"
    data = _text(entry, f"{key}-data")
    if data:
        try:
            return base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            raise UserError(f"{FLAG}: {entry.file}: {where}.{key}-data is not valid base64") from None
    path = entry.path(key)
    if not path:
        return None
    _text(entry, key)
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        problem = "does not exist" if isinstance(exc, FileNotFoundError) else f"cannot be read ({exc.strerror})"
        raise UserError(
            f"{FLAG}: {entry.file}: {where}.{key} {path} {problem}; fix the path or embed it as {key}-data"
        ) from None


def _server(cluster: Entry, *, tls: bool) -> str:
    """The server URL, as client-go completes it: no scheme means https when TLS is configured, else http."""
    raw = _text(cluster, "server").strip()
    if not raw:
        raise UserError(f"{FLAG}: cluster {cluster.name} in {cluster.file} has no server; add server: https://HOST:PORT")
    if "://" not in raw:
        raw = ("https://" if tls else "http://") + raw
    scheme, _, rest = raw.partition("://")
    host = rest.split("/", 1)[0]
    if scheme.lower() not in ("http", "https") or not host or "@" in host:
        raise UserError(f"{FLAG}: cluster {cluster.name} in {cluster.file}: server {raw!r} is not an http(s) URL")
    return f"{scheme.lower()}://{rest}".rstrip("/")


def _proxy(cluster: Entry, server: str, environ: Mapping[str, str]) -> str | None:
    """The cluster's proxy-url, else HTTPS_PROXY / HTTP_PROXY unless NO_PROXY exempts the server (Go's rules)."""
    explicit = _text(cluster, "proxy-url").strip()
    if explicit:
        return _check_proxy(explicit, f"{FLAG}: cluster {cluster.name} in {cluster.file}: proxy-url")
    return env_proxy(server, environ)


def env_proxy(server: str, environ: Mapping[str, str]) -> str | None:
    """The proxy Go's http.ProxyFromEnvironment picks for `server` (loopback servers are never proxied)."""
    scheme, _, rest = server.partition("://")
    host, port = split_host_port(rest.split("/", 1)[0], 443 if scheme == "https" else 80)
    names = ("HTTPS_PROXY", "https_proxy") if scheme == "https" else ("HTTP_PROXY", "http_proxy")
    name = next((n for n in names if environ.get(n)), None)
    if name is None or _is_loopback(host) or _no_proxy(host, port, environ):
        return None
    return _check_proxy(environ[name].strip(), name)


def _check_proxy(url: str, where: str) -> str:
    if "://" not in url:
        url = "http://" + url  # Go reads a bare host:port as an http proxy
    scheme = url.split("://", 1)[0].lower()
    if scheme.startswith("socks"):
        raise UserError(
            f"{where}: {scheme} proxies are not supported by sparkhelm; use an http:// or https:// proxy "
            "(one that accepts CONNECT), or reach the API server through an SSH tunnel"
        )
    if scheme not in ("http", "https") or not url.split("://", 1)[1].split("/", 1)[0]:
        raise UserError(f"{where}: {url!r} is not an http:// or https:// proxy URL")
    return url


def split_host_port(netloc: str, default_port: int) -> tuple[str, int]:
    """("host", port) from "host", "host:port", "[v6]" or "[v6]:port"."""
    netloc = netloc.rsplit("@", 1)[-1]
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else default_port
    host, sep, port = netloc.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return netloc, default_port


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _no_proxy(host: str, port: int, environ: Mapping[str, str]) -> bool:
    """Whether NO_PROXY exempts host:port: `*`, IPs, CIDRs, domains (and their subdomains), optional ports."""
    import ipaddress

    value = environ.get("NO_PROXY") or environ.get("no_proxy") or ""
    host = host.lower()
    try:
        address: Any = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in value.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry:
            try:
                if address is not None and address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        pattern, pattern_port = split_host_port(entry, 0)
        if pattern_port and pattern_port != port:
            continue
        if address is not None:
            try:
                if address == ipaddress.ip_address(pattern):
                    return True
            except ValueError:
                pass
            continue
        pattern = pattern.removeprefix("*")
        if pattern.startswith("."):
            if host.endswith(pattern):
                return True
        elif host == pattern or host.endswith("." + pattern):
            return True
    return False


def _credentials(user: Entry, cluster: Entry) -> tuple[Credentials, bool]:
    """The user's credentials, checked as kubectl checks them; and whether a client certificate is configured."""
    where = f"{FLAG}: {user.file}: users[{user.name}]"
    for key in ("as", "as-uid", "as-groups", "as-user-extra"):
        if user.body.get(key):
            raise UserError(f"{where}.{key}: impersonation is not supported by sparkhelm; use a user with the rights")
    cert = _file_or_data(user, "client-certificate", "users")
    key_data = _file_or_data(user, "client-key", "users")
    if bool(cert) != bool(key_data):
        missing = "client-key" if cert else "client-certificate"
        raise UserError(f"{where} has a {'client-certificate' if cert else 'client-key'} but no {missing}; add it")
    token = _text(user, "token") or None
    token_file = user.path("tokenFile")
    if token_file and not token:
        _text(user, "tokenFile")
        if not os.path.isfile(token_file):
            raise UserError(f"{where}.tokenFile {token_file} does not exist; fix the path or use token:")
    else:
        token_file = None
    username = _text(user, "username") or None
    password = _text(user, "password") or None
    if (token or token_file) and (username or password):
        raise UserError(f"{where} has both a token and a username/password; keep one (kubectl refuses both too)")
    exec_body = user.body.get("exec")
    provider = user.body.get("auth-provider")
    if exec_body and provider:
        raise UserError(f"{where} has both exec and auth-provider; keep one (kubectl refuses both too)")
    exec_config = _exec_config(user, cluster) if exec_body else None
    if provider and not (token or token_file or username or password or exec_config):
        token = _provider_token(user, provider)
    credentials = Credentials(
        token=token,
        token_file=token_file,
        username=username,
        password=password,
        client_cert=cert,
        client_key=key_data,
        exec_config=exec_config,
    )
    return credentials, bool(cert) or exec_config is not None


def _exec_config(user: Entry, cluster: Entry) -> ExecConfig:
    import json

    body = user.body["exec"]
    where = f"{FLAG}: {user.file}: users[{user.name}].exec"
    if not isinstance(body, dict):
        raise UserError(f"{where} must be a mapping with apiVersion and command")
    api_version = body.get("apiVersion") or ""
    if api_version not in EXEC_API_VERSIONS:
        raise UserError(
            f"{where}.apiVersion {api_version!r} is not supported; use client.authentication.k8s.io/v1 "
            "(or v1beta1)"
        )
    command = body.get("command")
    if not command or not isinstance(command, str):
        raise UserError(f"{where} has no command; add command: NAME-OR-PATH")
    if "/" in command:
        command = kubeconfig.absolute(command, user.file)
    mode = body.get("interactiveMode") or ""
    if not mode and api_version.endswith("/v1"):
        raise UserError(f"{where}.interactiveMode is required by {api_version}; add interactiveMode: IfAvailable")
    if mode and mode not in ("Never", "IfAvailable", "Always"):
        raise UserError(f"{where}.interactiveMode {mode!r} must be Never, IfAvailable or Always")
    args = body.get("args") or []
    env = body.get("env") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise UserError(f"{where}.args must be a list of strings")
    if not isinstance(env, list) or not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in env):
        raise UserError(f"{where}.env must be a list of {{name, value}} entries")
    cluster_info = ""
    if body.get("provideClusterInfo"):
        info: dict[str, Any] = {"server": _text(cluster, "server")}
        for key in ("tls-server-name", "proxy-url"):
            if cluster.body.get(key):
                info[key] = cluster.body[key]
        if cluster.body.get("insecure-skip-tls-verify"):
            info["insecure-skip-tls-verify"] = True
        ca = _file_or_data(cluster, "certificate-authority", "clusters")
        if ca:
            info["certificate-authority-data"] = base64.b64encode(ca).decode()
        for extension in cluster.body.get("extensions") or []:
            if isinstance(extension, dict) and extension.get("name") == EXEC_CLUSTER_EXTENSION:
                info["config"] = extension.get("extension")
        cluster_info = json.dumps(info, sort_keys=True)
    return ExecConfig(
        api_version=api_version,
        command=command,
        args=tuple(args),
        env=tuple((str(e["name"]), str(e.get("value", ""))) for e in env),
        install_hint=str(body.get("installHint") or ""),
        interactive_mode=mode or "IfAvailable",
        cluster_info=cluster_info,
        user=user.name,
        file=user.file,
    )


def _provider_token(user: Entry, provider: Any) -> str:
    """The token a legacy auth-provider left in the kubeconfig: oidc's id-token, others' access-token.

    Refreshing them needs each provider's own client (OAuth flows, cloud SDKs) that kubectl itself
    dropped in 1.26; sparkhelm uses the token while it is valid and says what to switch to otherwise.
    """
    where = f"{FLAG}: {user.file}: users[{user.name}].auth-provider"
    name = str(provider.get("name") or "") if isinstance(provider, dict) else ""
    config = (provider.get("config") if isinstance(provider, dict) else None) or {}
    instead = _PROVIDER_REPLACEMENTS.get(name, "an exec plugin (users[].exec) or a token")
    token = str(config.get("id-token" if name == "oidc" else "access-token") or "")
    if not token:
        raise UserError(f"{where} {name or '(unnamed)'} has no usable token; use {instead}")
    expiry = _jwt_expiry(token) if name == "oidc" else _timestamp(str(config.get("expiry") or ""))
    import time

    if expiry is not None and expiry <= time.time():
        raise UserError(f"{where} {name}: its token has expired; use {instead}")
    return token


def _jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT (seconds since the epoch), or None when the token is not a readable JWT."""
    import json

    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) else None


def _timestamp(text: str) -> float | None:
    """An RFC 3339 time as seconds since the epoch; None when empty or unreadable."""
    import datetime

    if not text:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


# --- exec credential plugins ---------------------------------------------------------------------


class ExecCredential:
    """What an exec plugin answered: a token and/or a client certificate, valid until `expires` (epoch s)."""

    __slots__ = ("client_cert", "client_key", "expires", "token")

    def __init__(
        self,
        token: str | None = None,
        client_cert: bytes | None = None,
        client_key: bytes | None = None,
        expires: float | None = None,
    ) -> None:
        self.token = token
        self.client_cert = client_cert
        self.client_key = client_key
        self.expires = expires

    def __repr__(self) -> str:
        return f"ExecCredential(expires={self.expires!r})"


#: Plugin answers for this process, per plugin configuration (client-go keeps such a cache too): every
#: Connection resolved for the same user shares them, so a command runs a plugin once, not per request.
_EXEC_CACHE: dict[ExecConfig, ExecCredential] = {}
_EXEC_LOCK = threading.Lock()


def exec_credential(config: ExecConfig, *, expired_ok: bool = False) -> ExecCredential:
    """The plugin's credential, from the cache while it has not expired (or at all with `expired_ok`), else a run."""
    import time

    with _EXEC_LOCK:  # one run at a time: concurrent first requests must not start the plugin twice
        cached = _EXEC_CACHE.get(config)
        if cached is not None and (expired_ok or cached.expires is None or cached.expires > time.time()):
            return cached
        credential = _run_exec(config)
        _EXEC_CACHE[config] = credential
        return credential


def forget_exec_credential(config: ExecConfig) -> None:
    """Drop the cached answer (the API server rejected it): the next request runs the plugin again."""
    with _EXEC_LOCK:
        _EXEC_CACHE.pop(config, None)


def _run_exec(config: ExecConfig) -> ExecCredential:
    """Run the plugin as client-go does: KUBERNETES_EXEC_INFO in its environment, an ExecCredential on stdout.

    Its stdin (and stderr, where it prompts) are the terminal's only when it may interact and there is
    one; otherwise stderr is captured so that a failure is reported with its last line.
    """
    import json
    import subprocess
    import sys

    who = f"the exec plugin {config.command} of user {config.user} ({config.file})"
    interactive = config.interactive_mode != "Never" and sys.stdin is not None and sys.stdin.isatty()
    if config.interactive_mode == "Always" and not interactive:
        raise UserError(f"{who} needs a terminal (interactiveMode: Always); run sparkhelm from one")
    spec: dict[str, Any] = {"interactive": interactive}
    if config.cluster_info:
        spec["cluster"] = json.loads(config.cluster_info)
    env = dict(os.environ)
    env.update(config.env)
    env["KUBERNETES_EXEC_INFO"] = json.dumps({"apiVersion": config.api_version, "kind": "ExecCredential", "spec": spec})
    try:
        done = subprocess.run(  # noqa: S603 - the user's own kubeconfig names the command; no shell
            [config.command, *config.args],
            env=env,
            stdin=None if interactive else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=None if interactive else subprocess.PIPE,
            check=False,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        problem = "not found" if isinstance(exc, FileNotFoundError) else "not executable"
        hint = " ".join(config.install_hint.split()) or f"install it or fix users[{config.user}].exec.command"
        raise UserError(
            f"{FLAG}: {config.file}: users[{config.user}].exec: command {config.command} {problem}; {hint}"
        ) from None
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr or b"").decode(errors="replace").splitlines() if line.strip()]
        last = f": {lines[-1]}" if lines else ""
        raise EngineError(f"{who} failed with exit code {done.returncode}{last}")
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        raise EngineError(f"{who} did not print an ExecCredential (its output is not JSON)") from None
    if not isinstance(answer, dict) or answer.get("kind") != "ExecCredential":
        raise EngineError(f"{who} did not print an ExecCredential")
    if answer.get("apiVersion") != config.api_version:
        raise EngineError(f"{who} answered with apiVersion {answer.get('apiVersion')!r}, not {config.api_version}")
    status = answer.get("status") or {}
    token = status.get("token") or None
    cert = status.get("clientCertificateData") or None
    key = status.get("clientKeyData") or None
    if bool(cert) != bool(key):
        raise EngineError(f"{who} returned a client certificate without its key (or a key without certificate)")
    if not token and not cert:
        raise EngineError(f"{who} returned neither a token nor a client certificate")
    expires = None
    if status.get("expirationTimestamp"):
        expires = _timestamp(str(status["expirationTimestamp"]))
        if expires is None:
            raise EngineError(f"{who} returned an unreadable expirationTimestamp {status['expirationTimestamp']!r}")
    return ExecCredential(
        token=str(token) if token else None,
        client_cert=str(cert).encode() if cert else None,
        client_key=str(key).encode() if key else None,
        expires=expires,
    )


# --- in a cluster ---------------------------------------------------------------------------------


def _in_cluster_possible(environ: Mapping[str, str], account: str) -> bool:
    """client-go's test: the service environment variables are set and the token file is there."""
    return bool(
        environ.get("KUBERNETES_SERVICE_HOST")
        and environ.get("KUBERNETES_SERVICE_PORT")
        and os.path.isfile(os.path.join(account, "token"))
    )


def _in_cluster(target: KubeTarget, environ: Mapping[str, str], account: str) -> Connection:
    host = environ["KUBERNETES_SERVICE_HOST"]
    port = environ["KUBERNETES_SERVICE_PORT"]
    server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    ca_data: bytes | None = None
    try:
        with open(os.path.join(account, "ca.crt"), "rb") as handle:
            ca_data = handle.read()
    except OSError:
        ca_data = None  # client-go then trusts the system's roots; so do we
    if target.namespace:
        namespace, source = target.namespace, "-n/--namespace"
    elif environ.get("POD_NAMESPACE"):  # client-go reads this first (set through the downward API)
        source = "POD_NAMESPACE"
        namespace = validate_namespace(environ["POD_NAMESPACE"], source="POD_NAMESPACE")
    else:
        try:
            with open(os.path.join(account, "namespace"), encoding="utf-8") as handle:
                namespace = handle.read().strip()
        except OSError:
            namespace = ""
        source = "in-cluster service account" if namespace else "default"
        namespace = validate_namespace(namespace, source=f"{account}/namespace") if namespace else "default"
    return Connection(
        server=server,
        namespace=namespace,
        namespace_source=source,
        context=None,
        kubeconfig_files=(),
        ca_data=ca_data,
        proxy_url=env_proxy(server, environ),
        credentials=Credentials(token_file=os.path.join(account, "token")),
        in_cluster=True,
    )
