"""A real kubelet for the API emulator: every pod stored there runs here as a local process tree.

The simulated kubelet (tests/harness/kubelet.py) plays scripted drivers for fast tests; this one
runs what the manifests say, so Spark's own driver and executors compute a job and the chart's
wiring is what makes it work or fail. For each pod it:

- builds the container's filesystem in a private mount namespace: the image's directories (the
  pyspark wheel is `/opt/spark`, the apache/spark image's `$SPARK_HOME`) as copy-on-write overlays,
  the pod's volumes (ConfigMap and Secret items, emptyDirs) mounted where the pod mounts them, the
  pod's hosts file as /etc/hosts, the working directory of the pod or image; host name = pod name;
- fills the environment (values, `$(VAR)` expansion, fieldRefs such as `status.podIP`, Secret and
  ConfigMap keys) and runs the command, or the image's entrypoint (the executor case of the
  apache/spark entrypoint.sh, rewritten here) with the pod's args;
- gives the pod its own loopback IP (127.0.N.x) and cgroup, and keeps the pod network current
  (tests/harness/netfilter.py: NetworkPolicies, Services) and each pod's DNS (tests/harness/dns.py);
- reports Pending -> Running -> Succeeded/Failed to the API as MODIFIED events, streams stdout and
  stderr into the emulator's pod logs, and kills the pod's processes when the pod is deleted (also
  by the garbage collector through an ownerReference), or when the harness ends.

What a cluster provides and this machine cannot is bridged in the open: `spark.master` of a
spark-submit is pointed at the emulator, `SPARK_LOCAL_IP` and `spark.connect.grpc.binding.address`
name the pod's address (a pod has one interface; this machine has many), `JAVA_TOOL_OPTIONS` makes
the JVM resolve names through the pod's hosts file only (cluster DNS), and a port-forward reaches
the pod's address (a kubelet reaches localhost in the pod's network namespace, which pods here share
with the machine).

Containers are probed as the manifest says (TCP probes: startup, then readiness and liveness; Ready
follows readiness, and a Service publishes only Ready pods unless `publishNotReadyAddresses`), and
restarted in the same pod after they exit as `restartPolicy` says (at once the first time, then after
a back-off reported as CrashLoopBackOff). Probe periods and back-offs are shortened (at most
`probe_period_cap` and `backoff_cap` seconds), like the grace period. Starting a container records a
`Started` event and stopping a running one a `Killing` event, as a kubelet does. Pods run as root (runAsUser is not applied: the Python
interpreter pyspark needs lives under /root), and a pod's scheduling constraints other than its
scheduler name are not checked (there is one node).
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import contextlib
import copy
import ctypes
import datetime
import fcntl
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kmock import resource

from tests.harness import dns, netfilter
from tests.harness.emulator import NAMESPACES, PODS, merge_patch

if TYPE_CHECKING:
    from tests.harness.cluster import RunningCluster
    from tests.harness.emulator import ClusterEmulator

Obj = dict[str, Any]
SERVICES = resource("", "v1", "services")
CONFIGMAPS = resource("", "v1", "configmaps")
SECRETS = resource("", "v1", "secrets")
NETWORK_POLICIES = resource("networking.k8s.io", "v1", "networkpolicies")
EVENTS = resource("", "v1", "events")
WATCHED = {PODS, SERVICES, CONFIGMAPS, SECRETS, NETWORK_POLICIES, NAMESPACES}
EXECUTOR_BACKEND = "org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend"
#: A container's termination message falls back to at most this much of its log (the kubelet's limits).
FALLBACK_LINES, FALLBACK_BYTES = 80, 2048

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1
CLONE_NEWNS, CLONE_NEWUTS = 0x00020000, 0x04000000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18
#: where a pod sees its cluster DNS (its hosts file); /etc/hosts links there
CLUSTER_DNS = "/etc/cluster-dns"


def now() -> str:
    """An RFC 3339 timestamp as the kubelet writes it."""
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PodError(Exception):
    """The pod cannot start: the waiting reason and message the kubelet reports."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# --- the image --------------------------------------------------------------------------------


@dataclass
class Image:
    """What the pods' image holds, as directories of this machine, and its ENV, WORKDIR and ENTRYPOINT.

    `layers` maps a directory inside the image to host directories stacked on it (first = top).
    `entrypoint` names the image's entrypoint, which `entrypoint_argv` plays (the apache/spark
    one); empty: the image has none and a container without a command runs its args.
    """

    layers: dict[str, list[Path]]
    env: dict[str, str]
    workdir: str
    entrypoint: str


#: Where pods find the interpreter that runs the tests, with its packages (a virtualenv's root).
PYTHON_ROOT = "/opt/harness-python"


def spark_image(spark_home: Path, extra_layers: dict[str, list[Path]] | None = None) -> Image:
    """The apache/spark image as the pyspark wheel provides it: `$SPARK_HOME=/opt/spark`, Java, Python.

    `extra_layers` adds directories on top (e.g. a test-built examples jar at its image path).
    """
    java = Path(shutil.which("java") or "/usr/bin/java").resolve()
    # This interpreter's environment (pyspark installed) at a path of its own: where it lies on this
    # machine may be under /tmp (a CI checkout), which the pods' /tmp emptyDir would hide.
    layers: dict[str, list[Path]] = {"/opt/spark": [spark_home], PYTHON_ROOT: [Path(sys.prefix)]}
    for target, dirs in (extra_layers or {}).items():
        layers[target] = [*dirs, *layers.get(target, [])]
    return Image(
        layers=layers,
        env={
            "PATH": f"{java.parent}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "JAVA_HOME": str(java.parent.parent),
            "SPARK_HOME": "/opt/spark",
            "HOME": "/home/spark",  # the image's user has no home directory either
            "LANG": "C.UTF-8",
            # the image's python3 imports pyspark from $SPARK_HOME/python; this one has it installed
            "PYSPARK_PYTHON": f"{PYTHON_ROOT}/bin/{Path(sys.executable).name}",
        },
        workdir="/opt/spark/work-dir",
        entrypoint="/opt/entrypoint.sh",
    )


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: defined variables are replaced, `$$` escapes, the rest stays."""
    return re.sub(
        r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)",
        lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)),
        text,
    )


def entrypoint_argv(args: list[str], env: dict[str, str], workdir: str) -> list[str]:
    """What the apache/spark image's entrypoint.sh executes for these args (its executor case, or pass-through).

    Written from the behaviour of the image's script: `SPARK_JAVA_OPT_*` in the order of their
    names, the executor memory as both -Xms and -Xmx, and the class path of the conf dir, the jars
    and the working directory.
    """
    if args[:1] != ["executor"]:
        return list(args)
    home = env.get("SPARK_HOME", "/opt/spark")
    classpath = f"{env.get('SPARK_CLASSPATH', '')}:{home}/jars/*"
    if env.get("SPARK_EXTRA_CLASSPATH"):
        classpath += f":{env['SPARK_EXTRA_CLASSPATH']}"
    if "HADOOP_CONF_DIR" in env:
        classpath = f"{env['HADOOP_CONF_DIR']}:{classpath}"
    classpath = f"{env['SPARK_CONF_DIR']}:{classpath}" if "SPARK_CONF_DIR" in env else f"{home}/conf:{classpath}"
    classpath += f":{workdir}"
    options = [env[name] for name in sorted(n for n in env if n.startswith("SPARK_JAVA_OPT_"))]
    memory = env.get("SPARK_EXECUTOR_MEMORY", "")
    return [
        f"{env['JAVA_HOME']}/bin/java", *options, f"-Xms{memory}", f"-Xmx{memory}",
        "-cp", f"{classpath}:{env.get('SPARK_DIST_CLASSPATH', '')}",
        EXECUTOR_BACKEND,
        "--driver-url", env.get("SPARK_DRIVER_URL", ""),
        "--executor-id", env.get("SPARK_EXECUTOR_ID", ""),
        "--cores", env.get("SPARK_EXECUTOR_CORES", ""),
        "--app-id", env.get("SPARK_APPLICATION_ID", ""),
        "--hostname", env.get("SPARK_EXECUTOR_POD_IP", ""),
        "--resourceProfileId", env.get("SPARK_RESOURCE_PROFILE_ID", ""),
        "--podName", env.get("SPARK_EXECUTOR_POD_NAME", ""),
    ]


# --- the container filesystem -----------------------------------------------------------------


@dataclass(frozen=True)
class Mount:
    """One step of building the container's filesystem, done in the child before exec.

    `sources` are directories (or a file) of this machine: a bind's source, an overlay's lower
    directories then its upper and work directories.
    """

    kind: str  # "overlay" | "bind" | "mkdir" | "symlink" (sources: the link's target) | "readonly"
    target: str
    sources: tuple[str, ...] = ()


class _ContainerView:
    """Which paths exist and are writable in the container, as its mounts are planned (no I/O but stat)."""

    def __init__(self) -> None:
        #: target -> (host directories that show through, writable)
        self.mounts: dict[str, tuple[list[Path], bool]] = {}
        #: directories created inside the container (they exist in no host directory)
        self.created: set[str] = set()

    def _owner(self, path: str) -> tuple[str, list[Path], bool] | None:
        best = None
        for target, (sources, writable) in self.mounts.items():
            if (path == target or path.startswith(target.rstrip("/") + "/")) and (best is None or len(target) > len(best[0])):
                best = (target, sources, writable)
        return best

    def exists(self, path: str) -> bool:
        if path in self.created:
            return True
        owner = self._owner(path)
        if owner is None:
            return os.path.lexists(path)
        target, sources, _ = owner
        rest = path[len(target):].lstrip("/")
        return any(os.path.lexists(source / rest) if rest else source.exists() for source in sources)

    def writable(self, path: str) -> bool:
        owner = self._owner(path)
        return owner is not None and owner[2]


def plan_filesystem(image: Image, volumes: list[tuple[str, Path, bool]], dns_dir: Path, pod_dir: Path,
                    read_only_root: bool, workdir: str) -> list[Mount]:
    """The mounts that give a pod its filesystem: image layers, then volumes, then cluster DNS.

    Cluster DNS is the directory `dns_dir` (its `hosts` file is replaced whole, atomically, when
    Services or pods change), mounted at /etc/cluster-dns, with /etc/hosts a link to its file.

    The working directory is created when missing, as container runtimes do (the apache/spark
    image has its WORKDIR; the pyspark wheel does not).

    `volumes` are (mount path, host directory or file, read-only). A mount point that does not
    exist is created inside a writable mount; when its parent is a directory of this machine,
    that directory first gets a private overlay (so nothing is ever created on the host itself).
    """
    view = _ContainerView()
    steps: list[Mount] = []
    overlays = itertools.count()

    def overlay(target: str, lowers: list[Path]) -> None:
        index = next(overlays)
        upper, work = pod_dir / "rootfs" / f"upper{index}", pod_dir / "rootfs" / f"work{index}"
        upper.mkdir(parents=True)
        work.mkdir(parents=True)
        steps.append(Mount("overlay", target, (*(str(p) for p in lowers), str(upper), str(work))))
        view.mounts[target] = ([upper, *lowers], True)

    def make_room(path: str) -> None:
        """Make `path` exist as a directory in the container."""
        if view.exists(path):
            return
        parent = os.path.dirname(path.rstrip("/")) or "/"
        make_room(parent)
        if not view.writable(parent):
            if parent == "/":
                raise PodError("CreateContainerError", f"the harness cannot create {path} at the root of the filesystem")
            overlay(parent, [Path(parent)])
        steps.append(Mount("mkdir", path))
        view.created.add(path)

    for target in sorted(image.layers, key=lambda t: t.count("/")):
        make_room(os.path.dirname(target))
        if not view.exists(target):
            make_room(target)
        overlay(target, image.layers[target])
    read_only: list[str] = []
    for target, source, ro in sorted(volumes, key=lambda v: v[0].count("/")):
        if source.is_dir():
            make_room(target)
        elif not view.exists(target):
            raise PodError("CreateContainerError", f"cannot mount the file {source.name} at {target}: no such file")
        steps.append(Mount("bind", target, (str(source),)))
        view.mounts[target] = ([source], not ro)
        if ro:
            read_only.append(target)
    make_room(workdir)
    if not view.writable("/etc"):  # /etc/hosts is replaced by a link: never in the host's own /etc
        overlay("/etc", [Path("/etc")])
    make_room(CLUSTER_DNS)
    steps += [Mount("bind", CLUSTER_DNS, (str(dns_dir),)), Mount("symlink", "/etc/hosts", (f"{CLUSTER_DNS}/hosts",))]
    read_only.append(CLUSTER_DNS)
    if read_only_root:
        read_only += [m.target for m in steps if m.kind == "overlay"]
    steps += [Mount("readonly", target) for target in read_only]
    return steps


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _child_setup(cgroup_procs: str, hostname: str, steps: list[Mount], workdir: str, parent: int,
                 error_fd: int) -> Callable[[], None]:
    """The preexec_fn of a pod's process: die with the harness, join the cgroup, enter the namespaces, mount.

    Host directories are opened (O_PATH) right after entering the mount namespace and mounted
    through /proc/self/fd: a mount may hide the path of a later one's source (/tmp, say).
    """
    name = hostname.encode()
    host_paths = sorted({source for m in steps if m.kind != "symlink" for source in m.sources})

    def setup() -> None:
        try:
            _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
            if os.getppid() != parent:  # the harness died before prctl took effect
                os._exit(137)
            if cgroup_procs:
                with open(cgroup_procs, "w") as procs:
                    procs.write("0")
            _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWUTS), "unshare")
            _check(_libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "making / private")
            _check(_libc.sethostname(name, len(name)), "sethostname")
            fd = {path: f"/proc/self/fd/{os.open(path, os.O_PATH)}" for path in host_paths}
            for step in steps:
                target = step.target.encode()
                if step.kind == "overlay":
                    *lowers, upper, work = (fd[s] for s in step.sources)
                    options = f"lowerdir={':'.join(lowers)},upperdir={upper},workdir={work}".encode()
                    _check(_libc.mount(b"overlay", target, b"overlay", 0, options), f"overlay on {step.target}")
                elif step.kind == "bind":
                    source = fd[step.sources[0]].encode()
                    _check(_libc.mount(source, target, None, MS_BIND | MS_REC, None), f"mount on {step.target}")
                elif step.kind == "mkdir":
                    os.makedirs(step.target, exist_ok=True)
                elif step.kind == "symlink":
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(step.target)
                    os.symlink(step.sources[0], step.target)
                elif step.kind == "readonly":
                    _check(_libc.mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY, None),
                           f"read-only {step.target}")
            os.chdir(workdir)
        except BaseException as error:
            os.write(error_fd, str(error).encode())  # Popen only says that preexec_fn failed
            raise

    return setup


# --- probes -------------------------------------------------------------------------------------

PROBES = ("startup", "readiness", "liveness")


@dataclass(frozen=True)
class Probe:
    """A container's TCP probe, as the kubelet runs it: a connection to the pod's address and port.

    Periods and initial delays are capped (`PodRunner.probe_period_cap`), as the grace period is:
    the tests should not wait 10 s for a readiness probe; what a probe checks does not change.
    """

    port: int
    initial_delay: float
    period: float
    timeout: float
    failure_threshold: int
    success_threshold: int

    async def check(self, ip: str) -> bool:
        """One probe: the port accepts a TCP connection within the timeout (from the node: no NetworkPolicy)."""
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(ip, self.port), self.timeout)
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True


def declared_ports(container: Obj) -> list[int]:
    """The container's TCP ports."""
    return [int(p["containerPort"]) for p in container.get("ports") or [] if p.get("protocol", "TCP") == "TCP"]


def probe_of(container: Obj, kind: str, cap: float) -> Probe | None:
    """The container's `<kind>Probe` (startup, readiness, liveness), or None; only TCP probes run here."""
    spec = container.get(f"{kind}Probe")
    if not spec:
        return None
    if "tcpSocket" not in spec:
        handler = next((k for k in ("httpGet", "exec", "grpc") if k in spec), "?")
        raise PodError("CreateContainerConfigError", f"{kind}Probe: the harness kubelet runs tcpSocket probes, not {handler}")
    port = spec["tcpSocket"]["port"]
    if isinstance(port, str) and not port.isdigit():
        named = {p.get("name"): int(p["containerPort"]) for p in container.get("ports") or []}
        if port not in named:
            raise PodError("CreateContainerConfigError", f"{kind}Probe: the container has no port named {port}")
        port = named[port]
    return Probe(
        port=int(port),
        initial_delay=min(float(spec.get("initialDelaySeconds") or 0), cap),
        period=min(float(spec.get("periodSeconds") or 10), cap),
        timeout=min(float(spec.get("timeoutSeconds") or 1), max(cap, 1.0)),
        failure_threshold=int(spec.get("failureThreshold") or 3),
        success_threshold=int(spec.get("successThreshold") or 1),
    )


@dataclass
class _ContainerRun:
    """One run of a pod's container (a restart is another run): what its status reports."""

    container: Obj
    image_fields: dict[str, str]
    scheduled: str
    started: str
    container_id: str
    last_state: Obj
    #: the startup probe passed (or there is none)
    started_ok: bool
    ready: bool


# --- pods ---------------------------------------------------------------------------------------


@dataclass
class PodRecord:
    """What the kubelet did with one pod; kept after the pod is gone, for the tests to read."""

    namespace: str
    name: str
    uid: str
    labels: dict[str, str] = field(default_factory=dict)
    ip: str = ""
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    pid: int | None = None
    exit_code: int | None = None
    #: CPU time the pod's processes used (from its cgroup), once it ended
    cpu_seconds: float | None = None
    deleted: bool = False
    waiting: str = ""
    directory: Path = Path()
    cgroup: Path | None = None
    volumes: dict[str, Path] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    process: asyncio.subprocess.Process | None = None
    #: times the container was restarted in the pod (restartPolicy Always or OnFailure)
    restarts: int = 0
    #: the pod is Ready: its container runs and its readiness (or startup) probe passed, if it has one
    ready: bool = False

    @property
    def log_path(self) -> Path:
        return self.directory / "log"

    def log(self) -> str:
        """Everything the pod's container wrote to stdout and stderr."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def hosts(self) -> str:
        """The pod's hosts file as it is now (as it was when the pod ended)."""
        path = self.directory / "dns" / "hosts"
        return path.read_text() if path.exists() else ""


class PodRunner:
    """The real kubelet of one RunningCluster; see the module docstring.

    It runs pods whose scheduler is one of `schedulers` (others stay Pending, as with no such
    scheduler in a cluster). A deleted pod gets SIGTERM, then SIGKILL after `grace_seconds` (its
    terminationGracePeriodSeconds, capped: tests should not wait 30 s for a JVM to stop).
    """

    _instances = itertools.count(1)

    def __init__(self, cluster: RunningCluster, directory: Path, image: Image, *,
                 schedulers: tuple[str, ...] = ("default-scheduler",), grace_seconds: float = 2.0,
                 probe_period_cap: float = 1.0, backoff_cap: float = 4.0) -> None:
        self.cluster = cluster
        self.emulator: ClusterEmulator = cluster.emulator
        self.directory = directory
        self.image = image
        self.schedulers = schedulers
        self.grace_seconds = grace_seconds
        self.probe_period_cap = probe_period_cap
        self.backoff_cap = backoff_cap
        self._closing = False
        self.records: dict[tuple[str, str], PodRecord] = {}
        #: faults of the kubelet itself (tests assert there are none)
        self.errors: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._ips = itertools.count(2)
        self._vips: dict[tuple[str, str], str] = {}
        self._refresh_wanted = asyncio.Event()
        self._refresher: asyncio.Task[None] | None = None
        instance = next(self._instances)
        self._subnet_lock: Any = None
        self.subnet = self._claim_subnet()
        netfilter.remove_stale()
        self.table = netfilter.Table(f"{netfilter.TABLE_PREFIX}{os.getpid()}_{instance}")
        self._cgroup_base = netfilter.cgroup2_root()
        assert self._cgroup_base is not None, "no cgroup v2 hierarchy (see PodRunner.unavailable)"
        self.cgroup_root = self._cgroup_base / f"{netfilter.CGROUP_PREFIX}{os.getpid()}-{instance}"
        self.cgroup_root.mkdir()
        self._simulated = cluster.kubelet._changed
        if self._simulated in self.emulator.on_change:
            self.emulator.on_change.remove(self._simulated)  # this kubelet replaces the scripted one
        self.emulator.on_change.append(self._changed)
        self.cluster.call(self._start())

    @staticmethod
    def unavailable() -> str | None:
        """Why pods cannot run here (they need root for namespaces, cgroups and nftables), or None."""
        if os.geteuid() != 0:
            return "the harness kubelet needs root (mount namespaces, cgroups, nftables)"
        return netfilter.unavailable()

    def _claim_subnet(self) -> int:
        """A 127.0.N.0/24 for this kubelet's pods: locked against other kubelets here, and nothing listens in it.

        The lock (flock on a file named after N, held until close) keeps two test sessions on
        this machine from handing out the same pod IPs, and so the same nftables marks.
        """
        used = set()
        for table in ("/proc/net/tcp", "/proc/net/udp"):
            for line in Path(table).read_text().splitlines()[1:]:
                local = line.split()[1].split(":")[0]
                octets = bytes.fromhex(local)[::-1]
                if octets[0] == 127:
                    used.add(octets[2])
        start = os.getpid() % 128
        for offset in range(128):
            candidate = 64 + (start + offset) % 128
            if candidate in used:
                continue
            lock = open(Path(tempfile.gettempdir()) / f"sparkhelm-kubelet-127.0.{candidate}.lock", "w")  # noqa: SIM115
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            self._subnet_lock = lock
            return candidate
        raise RuntimeError("no free 127.0.N.0/24 for pod addresses")

    async def _start(self) -> None:
        self._network_lock = asyncio.Lock()
        self._refresher = asyncio.get_running_loop().create_task(self._refresh_loop())

    # --- public ---------------------------------------------------------------------------

    def record(self, namespace: str, name: str) -> PodRecord:
        """The kubelet's record of a pod it ran (raises KeyError if it never saw the pod)."""
        return self.records[(namespace, name)]

    def wait(self, namespace: str, name: str, timeout: float) -> PodRecord:
        """Wait until the pod's processes ended (it finished or was deleted)."""
        deadline = time.monotonic() + timeout
        while (namespace, name) not in self.records:
            if time.monotonic() > deadline:
                raise AssertionError(f"the kubelet never started pod {namespace}/{name}")
            time.sleep(0.05)
        record = self.records[(namespace, name)]

        async def ended() -> None:
            await record.done.wait()

        try:
            self.cluster.call(asyncio.wait_for(ended(), max(0.0, deadline - time.monotonic())), timeout=timeout + 5)
        except TimeoutError:
            raise AssertionError(f"pod {namespace}/{name} still runs after {timeout:.0f}s:\n{record.log()[-3000:]}") from None
        return record

    def wait_started(self, namespace: str, name: str, timeout: float) -> PodRecord:
        """Wait until the pod's process started (or the pod could not start, or ended)."""
        deadline = time.monotonic() + timeout
        while True:
            record = self.records.get((namespace, name))
            if record is not None and (record.pid is not None or record.done.is_set()):
                return record
            if time.monotonic() > deadline:
                raise AssertionError(f"the kubelet did not start pod {namespace}/{name} within {timeout:.0f}s")
            time.sleep(0.05)

    def service_ip(self, namespace: str, name: str) -> str:
        """The virtual IP the kubelet gave a (non-headless) Service."""
        return self._vips[(namespace, name)]

    def attempts(self) -> list[tuple[str, str, int]]:
        """(source pod, destination pod, port) of each pod-to-pod connection attempt (names, else IPs)."""
        return self._named(self.table.attempts())

    def refused(self) -> list[tuple[str, str, int]]:
        """The attempts a NetworkPolicy refused."""
        return self._named(self.table.refused())

    def _named(self, rows: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
        names = {r.ip: r.name for r in self.records.values() if r.ip}
        return sorted((names.get(s, s), names.get(d, d), p) for s, d, p in rows)

    def close(self) -> None:
        """Kill every pod's processes, delete the nftables table and the cgroups; detach from the emulator."""
        with contextlib.suppress(Exception):
            self.cluster.call(self._stop_all(), timeout=30)
        if self._changed in self.emulator.on_change:
            self.emulator.on_change.remove(self._changed)
        for record in self.records.values():
            if record.pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(record.pid, signal.SIGKILL)
        self.table.delete()
        netfilter.remove_cgroup_tree(self.cgroup_root)
        if self._subnet_lock is not None:
            self._subnet_lock.close()
            self._subnet_lock = None

    async def _stop_all(self) -> None:
        self._closing = True  # no container restarts any more
        if self._refresher:
            self._refresher.cancel()
        for record in self.records.values():
            self._kill(record, signal.SIGKILL)
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 10)

    # --- events ---------------------------------------------------------------------------

    def _changed(self, event: str, res: resource, obj: Obj) -> None:
        if res not in WATCHED:
            return
        self._refresh_wanted.set()
        if res != PODS:
            return
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if event == "ADDED" and key not in self.records:
            scheduler = (obj.get("spec") or {}).get("schedulerName") or "default-scheduler"
            if scheduler not in self.schedulers:
                return  # no such scheduler in this cluster: the pod stays Pending, unscheduled
            record = PodRecord(namespace=key[0], name=key[1], uid=meta.get("uid", ""),
                               labels=dict(meta.get("labels") or {}), directory=self.directory / key[0] / key[1])
            self.records[key] = record
            task = asyncio.get_running_loop().create_task(self._supervise(copy.deepcopy(obj), record))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif event == "DELETED" and key in self.records:
            record = self.records[key]
            if record.uid == meta.get("uid", record.uid):
                stopping = record.pid is not None and record.exit_code is None and not record.deleted
                record.deleted = True
                self._kill(record, signal.SIGTERM)
                if stopping:  # the kubelet records that it stops the container (after the lock is released)
                    name = ((obj.get("spec") or {}).get("containers") or [{}])[0].get("name", "")
                    task = asyncio.get_running_loop().create_task(
                        self._event(record, "Killing", f"Stopping container {name}"))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)

    def _kill(self, record: PodRecord, sig: int) -> None:
        """Stop a pod's processes: SIGTERM to its group, SIGKILL to everything in its cgroup after the grace period."""
        if record.pid is None or record.exit_code is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record.pid, sig)
        loop = asyncio.get_running_loop()

        def hard_kill() -> None:
            if record.exit_code is None:
                self._kill_all(record)

        if sig == signal.SIGKILL:
            hard_kill()
        else:
            loop.call_later(self.grace_seconds, hard_kill)

    @staticmethod
    def _kill_all(record: PodRecord) -> None:
        if record.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(record.pid, signal.SIGKILL)
        if record.cgroup is not None and record.cgroup.exists():
            netfilter.kill_cgroup(record.cgroup)

    # --- the pod's life -------------------------------------------------------------------

    async def _update(self, record: PodRecord, status: Obj) -> None:
        emu = self.emulator
        async with emu._lock:
            current = emu._live(PODS, record.namespace, record.name)
            if current is None or current["metadata"].get("uid") != record.uid:
                return
            merged: Obj = merge_patch(current, {"status": status})
            # lists are replaced whole, as the kubelet's status updates do
            merged["status"].update({k: v for k, v in status.items() if isinstance(v, list)})
            await emu._store(PODS, record.namespace, merged, "MODIFIED")

    def _conditions(self, ready: bool, started: str) -> list[Obj]:
        state = "True" if ready else "False"
        return [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
            {"type": "Initialized", "status": "True", "lastTransitionTime": started},
            {"type": "ContainersReady", "status": state, "lastTransitionTime": now()},
            {"type": "Ready", "status": state, "lastTransitionTime": now()},
        ]

    async def _supervise(self, pod: Obj, record: PodRecord) -> None:
        """Run the pod; a fault of the kubelet itself is recorded on the pod, never lost in a dead task."""
        try:
            await self._run(pod, record)
        except Exception:
            record.waiting = f"harness kubelet error: {traceback.format_exc()}"
            self.errors.append(f"{record.namespace}/{record.name}: {record.waiting}")
            self._kill_all(record)
            record.done.set()

    async def _run(self, pod: Obj, record: PodRecord) -> None:
        container = pod["spec"]["containers"][0]
        image_fields = {"image": container.get("image", ""), "imageID": f"harness://{container.get('image', '')}"}
        scheduled = now()
        await self._update(record, {
            "phase": "Pending", "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
            "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": scheduled}],
            "containerStatuses": [{"name": container["name"], "ready": False, "restartCount": 0, "started": False,
                                   **image_fields, "state": {"waiting": {"reason": "ContainerCreating"}}}],
        })
        try:
            argv, env, steps, workdir = await self._prepare(pod, record)
            probes = {kind: probe_of(container, kind, self.probe_period_cap) for kind in PROBES}
        except PodError as error:
            record.waiting = f"{error.reason}: {error}"
            await self._update(record, {"containerStatuses": [{
                "name": container["name"], "ready": False, "restartCount": 0, "started": False, **image_fields,
                "state": {"waiting": {"reason": error.reason, "message": str(error)}}}]})
            record.done.set()
            return
        if record.deleted:
            await self._remove_cgroup(record)
            record.done.set()
            return
        record.argv, record.env = argv, env
        await self._refresh()  # the pod's address is in the network and DNS before its process starts
        policy = pod["spec"].get("restartPolicy") or "Always"
        last_state: Obj = {}
        while True:
            ran = await self._run_container(record, container, image_fields, scheduled, steps, workdir, probes,
                                            last_state)
            if ran is None:  # the process could not be started
                await self._remove_cgroup(record)
                record.done.set()
                return
            exit_code, terminated = ran
            restart = not (record.deleted or self._closing) and (
                policy == "Always" or (policy == "OnFailure" and exit_code != 0))
            if not restart:
                break
            # The container restarts in the same pod (same name, IP, volumes): at once the first time, then
            # after a back-off that doubles (10s, 20s, ... 5m in a kubelet; compressed here like the probes),
            # reported as CrashLoopBackOff meanwhile.
            record.restarts += 1
            last_state = {"terminated": terminated}
            backoff = 0.0 if record.restarts == 1 else min(self.backoff_cap, 0.5 * 2 ** (record.restarts - 2))
            if backoff:
                await self._update(record, {
                    "phase": "Running", "conditions": self._conditions(False, scheduled),
                    "containerStatuses": [{
                        "name": container["name"], "ready": False, "restartCount": record.restarts, "started": False,
                        **image_fields, "lastState": last_state, "state": {"waiting": {
                            "reason": "CrashLoopBackOff",
                            "message": f"back-off {backoff:g}s restarting failed container={container['name']} "
                                       f"pod={record.name}"}}}],
                })
                await self._sleep_unless_deleted(record, backoff)
            if record.deleted:
                break
        record.exit_code = exit_code
        for port in declared_ports(container):
            self.emulator.forwards.pop((record.namespace, record.name, port), None)
        if not record.deleted:
            await self._update(record, {
                "phase": "Succeeded" if exit_code == 0 else "Failed",
                "conditions": self._conditions(False, scheduled),
                "containerStatuses": [{"name": container["name"], "ready": False, "restartCount": record.restarts,
                                       "started": False, **image_fields, "containerID": terminated["containerID"],
                                       **({"lastState": last_state} if last_state else {}),
                                       "state": {"terminated": terminated}}],
            })
        await self._remove_cgroup(record)
        record.done.set()
        self._refresh_wanted.set()

    async def _sleep_unless_deleted(self, record: PodRecord, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not record.deleted and time.monotonic() < deadline:
            await asyncio.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    async def _run_container(self, record: PodRecord, container: Obj, image_fields: dict[str, str], scheduled: str,
                             steps: list[Mount], workdir: str, probes: dict[str, Probe | None],
                             last_state: Obj) -> tuple[int, Obj] | None:
        """Start the container's process once, probe it, wait for its end: (exit code, terminated state), or None."""
        log = record.log_path.open("ab")
        start_error = record.directory / "start-error"
        error_fd = os.open(start_error, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        setup = _child_setup(str(record.cgroup / "cgroup.procs") if record.cgroup else "", record.name, steps,
                             workdir, os.getpid(), error_fd)
        try:
            process = await asyncio.create_subprocess_exec(
                *record.argv, env=record.env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT, start_new_session=True, preexec_fn=setup,
            )
        except (OSError, ValueError, subprocess.SubprocessError) as error:
            os.close(error_fd)
            reason = start_error.read_text() or str(error)
            message = f"failed to start {record.argv[0]}: {reason}"
            record.waiting = message
            await self._update(record, {"containerStatuses": [{
                "name": container["name"], "ready": False, "restartCount": record.restarts, "started": False,
                **image_fields, "state": {"waiting": {"reason": "CreateContainerError", "message": message}}}]})
            log.close()
            return None
        os.close(error_fd)
        record.process, record.pid = process, process.pid
        started = now()
        run = _ContainerRun(container=container, image_fields=image_fields, scheduled=scheduled, started=started,
                            container_id=f"harness://{process.pid}", last_state=last_state,
                            # no startup probe: started at once; no readiness probe: ready once started
                            started_ok=probes["startup"] is None,
                            ready=probes["startup"] is None and probes["readiness"] is None)
        record.ready = run.ready
        for port in declared_ports(container):  # a port-forward reaches the pod's address (kubelet: its netns)
            self.emulator.forwards[(record.namespace, record.name, port)] = (record.ip, port)
        await self._event(record, "Started", f"Started container {container['name']}")
        await self._update(record, {"podIP": record.ip, "podIPs": [{"ip": record.ip}], "startTime": scheduled,
                                    **self._running_status(record, run)})
        if not run.ready:
            self._refresh_wanted.set()  # a Service publishes the pod only once it is Ready
        if record.deleted:  # deleted while it started
            self._kill(record, signal.SIGTERM)
        key = (record.namespace, record.name)
        reader = asyncio.get_running_loop().create_task(self._read(process, log, key))
        prober = asyncio.get_running_loop().create_task(self._probe(record, run, probes, process))
        code = await process.wait()
        prober.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await prober
        record.ready = False
        self._kill_all(record)  # the container ends with its main process: nothing of it outlives it
        record.cpu_seconds = netfilter.cgroup_cpu_seconds(record.cgroup) if record.cgroup else None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(reader, 10)
        log.close()
        exit_code = code if code >= 0 else 128 - code
        terminated: Obj = {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error",
                           "startedAt": started, "finishedAt": now(), "containerID": run.container_id}
        if exit_code != 0 and container.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            tail = "".join(record.log().splitlines(keepends=True)[-FALLBACK_LINES:])
            terminated["message"] = tail.encode()[-FALLBACK_BYTES:].decode(errors="replace")
        self._refresh_wanted.set()
        return exit_code, terminated

    def _running_status(self, record: PodRecord, run: _ContainerRun) -> Obj:
        """The pod's status while its container runs: Running, Ready as the probes say."""
        return {
            "phase": "Running",
            "conditions": self._conditions(run.ready, run.scheduled),
            "containerStatuses": [{
                "name": run.container["name"], "ready": run.ready, "restartCount": record.restarts,
                "started": run.started_ok, **run.image_fields, "containerID": run.container_id,
                **({"lastState": run.last_state} if run.last_state else {}),
                "state": {"running": {"startedAt": run.started}}}],
        }

    async def _probe(self, record: PodRecord, run: _ContainerRun, probes: dict[str, Probe | None],
                     process: asyncio.subprocess.Process) -> None:
        """The kubelet's probes of one container run: startup first, then readiness and liveness side by side.

        Ready follows the readiness probe (a Service publishes the pod only while it is Ready); a startup
        or liveness probe that fails `failureThreshold` times in a row kills the container, which the
        restart policy then restarts (or not).
        """
        startup, readiness, liveness = probes["startup"], probes["readiness"], probes["liveness"]
        if startup is not None:
            if not await self._passes(record, startup):
                await self._probe_kill(record, run, "startup")
                return
            run.started_ok = True
            if readiness is None:
                run.ready = True
            await self._set_ready(record, run)

        async def readiness_loop(probe: Probe) -> None:
            await asyncio.sleep(probe.initial_delay)
            failures = successes = 0
            while True:
                if await probe.check(record.ip):
                    successes, failures = successes + 1, 0
                    if not run.ready and successes >= probe.success_threshold:
                        run.ready = True
                        await self._set_ready(record, run)
                else:
                    failures, successes = failures + 1, 0
                    if run.ready and failures >= probe.failure_threshold:
                        run.ready = False
                        await self._set_ready(record, run)
                await asyncio.sleep(probe.period)

        async def liveness_loop(probe: Probe) -> None:
            await asyncio.sleep(probe.initial_delay)
            failures = 0
            while True:
                failures = 0 if await probe.check(record.ip) else failures + 1
                if failures >= probe.failure_threshold:
                    await self._probe_kill(record, run, "liveness")
                    return
                await asyncio.sleep(probe.period)

        loops = [loop(probe) for loop, probe in ((readiness_loop, readiness), (liveness_loop, liveness)) if probe]
        await asyncio.gather(*loops)

    async def _passes(self, record: PodRecord, probe: Probe) -> bool:
        """A startup probe: True at the first success, False after failureThreshold failures in a row."""
        await asyncio.sleep(probe.initial_delay)
        for attempt in range(probe.failure_threshold):
            if await probe.check(record.ip):
                return True
            if attempt + 1 < probe.failure_threshold:
                await asyncio.sleep(probe.period)
        return False

    async def _set_ready(self, record: PodRecord, run: _ContainerRun) -> None:
        record.ready = run.ready
        await self._update(record, self._running_status(record, run))
        self._refresh_wanted.set()

    async def _probe_kill(self, record: PodRecord, run: _ContainerRun, kind: str) -> None:
        """A failed startup or liveness probe: the kubelet kills the container (SIGTERM, then SIGKILL) and says so."""
        run.ready = False
        await self._set_ready(record, run)
        await self._event(record, "Killing",
                          f"Container {run.container['name']} failed {kind} probe, will be restarted")
        if record.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(record.pid, signal.SIGTERM)
            await asyncio.sleep(self.grace_seconds)
            self._kill_all(record)

    async def _event(self, record: PodRecord, reason: str, message: str) -> None:
        """An Event about the pod, as the kubelet records one (reason Killing when it stops a container)."""
        stamp = now()
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{record.name}.{time.time_ns():x}", "namespace": record.namespace},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": record.name,
                               "namespace": record.namespace, "uid": record.uid},
            "reason": reason, "message": message, "type": "Normal", "count": 1,
            "firstTimestamp": stamp, "lastTimestamp": stamp,
            "source": {"component": "kubelet", "host": socket.gethostname()},
            "reportingComponent": "kubelet", "reportingInstance": socket.gethostname(),
        }
        async with self.emulator._lock:
            await self.emulator._create(EVENTS, record.namespace, event)

    async def _read(self, process: asyncio.subprocess.Process, log: Any, key: tuple[str, str]) -> None:
        assert process.stdout is not None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while chunk := await process.stdout.read(65536):
            log.write(chunk)
            log.flush()
            self.emulator.logs[key] = self.emulator.logs.get(key, "") + decoder.decode(chunk)

    # --- building a pod -------------------------------------------------------------------

    async def _object(self, res: resource, namespace: str, name: str) -> Obj | None:
        async with self.emulator._lock:
            found = self.emulator._live(res, namespace, name)
            return copy.deepcopy(found) if found is not None else None

    async def _wait_object(self, res: resource, namespace: str, name: str, record: PodRecord,
                           optional: bool) -> Obj | None:
        """A ConfigMap or Secret the pod needs; the kubelet waits for it (the pod stays ContainerCreating)."""
        for _ in range(600):
            found = await self._object(res, namespace, name)
            if found is not None or optional or record.deleted:
                return found
            await asyncio.sleep(0.1)
        raise PodError("CreateContainerConfigError", f'{res.plural[:-1]} "{name}" not found')

    @staticmethod
    def _data(obj: Obj, res: resource) -> dict[str, bytes]:
        if res == SECRETS:
            data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
            data.update({k: v.encode() for k, v in (obj.get("stringData") or {}).items()})
            return data
        out = {k: v.encode() for k, v in (obj.get("data") or {}).items()}
        out.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
        return out

    async def _volume(self, volume: Obj, pod: Obj, record: PodRecord) -> Path:
        """Materialise one volume in the pod's directory."""
        namespace = record.namespace
        path = record.directory / "volumes" / volume["name"]
        path.mkdir(parents=True, exist_ok=True)
        sources: list[tuple[resource, Obj]] = []
        if "emptyDir" in volume:
            return path
        if "configMap" in volume:
            sources.append((CONFIGMAPS, volume["configMap"]))
        elif "secret" in volume:
            sources.append((SECRETS, {**volume["secret"], "name": volume["secret"]["secretName"]}))
        elif "projected" in volume:
            for source in volume["projected"].get("sources") or []:
                if "configMap" in source:
                    sources.append((CONFIGMAPS, source["configMap"]))
                elif "secret" in source:
                    sources.append((SECRETS, source["secret"]))
                else:
                    raise PodError("CreateContainerConfigError",
                                   f"volume {volume['name']}: the harness kubelet has no {next(iter(source))} sources")
        else:
            kind = next(k for k in volume if k != "name")
            raise PodError("CreateContainerConfigError", f"volume {volume['name']}: the harness kubelet has no {kind} volumes")
        for res, ref in sources:
            obj = await self._wait_object(res, namespace, ref["name"], record, bool(ref.get("optional")))
            data = self._data(obj, res) if obj else {}
            items = ref.get("items") or [{"key": k, "path": k} for k in data]
            for item in items:
                if item["key"] not in data:
                    if ref.get("optional"):
                        continue
                    raise PodError("CreateContainerConfigError",
                                   f'volume {volume["name"]}: key "{item["key"]}" not in {res.plural[:-1]} {ref["name"]}')
                target = path / item["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data[item["key"]])
                target.chmod(item.get("mode", ref.get("defaultMode", 0o644)))
        return path

    async def _env(self, container: Obj, pod: Obj, record: PodRecord) -> dict[str, str]:
        env: dict[str, str] = {}
        for source in container.get("envFrom") or []:
            ref = source.get("configMapRef") or source.get("secretRef") or {}
            res = CONFIGMAPS if "configMapRef" in source else SECRETS
            obj = await self._wait_object(res, record.namespace, ref["name"], record, bool(ref.get("optional")))
            for key, value in self._data(obj or {}, res).items():
                env[source.get("prefix", "") + key] = value.decode()
        for var in container.get("env") or []:
            name = var["name"]
            if "valueFrom" not in var:
                env[name] = expand(var.get("value", ""), env)
                continue
            source = var["valueFrom"]
            if "fieldRef" in source:
                env[name] = self._field(pod, record, source["fieldRef"]["fieldPath"])
            elif "secretKeyRef" in source or "configMapKeyRef" in source:
                res = SECRETS if "secretKeyRef" in source else CONFIGMAPS
                ref = source.get("secretKeyRef") or source.get("configMapKeyRef")
                obj = await self._wait_object(res, record.namespace, ref["name"], record, bool(ref.get("optional")))
                data = self._data(obj or {}, res)
                if ref["key"] in data:
                    env[name] = data[ref["key"]].decode()
                elif not ref.get("optional"):
                    raise PodError("CreateContainerConfigError",
                                   f'couldn\'t find key {ref["key"]} in {res.plural[:-1].capitalize()} '
                                   f'{record.namespace}/{ref["name"]}')
            else:
                raise PodError("CreateContainerConfigError",
                               f"env {name}: the harness kubelet has no {next(iter(source))}")
        return env

    @staticmethod
    def _field(pod: Obj, record: PodRecord, path: str) -> str:
        meta = pod["metadata"]
        if match := re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path):
            return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
        values = {
            "metadata.name": meta["name"], "metadata.namespace": record.namespace, "metadata.uid": record.uid,
            "status.podIP": record.ip, "status.podIPs": record.ip, "status.hostIP": "127.0.0.1",
            "spec.nodeName": socket.gethostname(), "spec.serviceAccountName": pod["spec"].get("serviceAccountName", ""),
        }
        if path not in values:
            raise PodError("CreateContainerConfigError", f"fieldRef {path} is not supported by the harness kubelet")
        return values[path]

    async def _prepare(self, pod: Obj, record: PodRecord) -> tuple[list[str], dict[str, str], list[Mount], str]:
        """Everything needed to start the container: argv, environment, filesystem plan, working directory."""
        record.directory.mkdir(parents=True, exist_ok=True)
        host = next(self._ips)
        if host >= 128:  # 128 and up are the Services' virtual IPs
            raise PodError("CreateContainerError", "the harness kubelet ran out of pod addresses (126 per cluster)")
        record.ip = f"127.0.{self.subnet}.{host}"
        spec = pod["spec"]
        container = spec["containers"][0]
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        mounted: list[tuple[str, Path, bool]] = []
        for mount in container.get("volumeMounts") or []:
            if mount["name"] not in volumes:
                raise PodError("CreateContainerConfigError", f"volumeMount {mount['name']} names no volume of the pod")
            if mount["name"] not in record.volumes:
                record.volumes[mount["name"]] = await self._volume(volumes[mount["name"]], pod, record)
            source = record.volumes[mount["name"]]
            if mount.get("subPath"):
                source = source / mount["subPath"]
            mounted.append((mount["mountPath"], source, bool(mount.get("readOnly"))))
        env = dict(self.image.env)
        env.update(await self._env(container, pod, record))
        # What a cluster gives a pod and this machine cannot (see the module docstring).
        env["SPARK_LOCAL_IP"] = record.ip
        tool_options = "-Djdk.net.hosts.file=/etc/hosts"
        env["JAVA_TOOL_OPTIONS"] = f"{tool_options} {env['JAVA_TOOL_OPTIONS']}" if env.get("JAVA_TOOL_OPTIONS") \
            else tool_options
        workdir = container.get("workingDir") or self.image.workdir
        command = [expand(a, env) for a in container.get("command") or []]
        args = [expand(a, env) for a in container.get("args") or []]
        # no command: the image's entrypoint runs with the args (the Spark image's, or none at all)
        argv = command + args if command or not self.image.entrypoint else entrypoint_argv(args, env, workdir)
        if argv and argv[0].endswith("/bin/spark-submit"):
            argv[1:1] = ["--conf", f"spark.master=k8s://{self.cluster.url}",  # the API server's address
                         # Spark Connect's server binds every address unless told one; pods here share the
                         # machine's network, so it gets the pod's own (ignored by applications that are no server)
                         "--conf", f"spark.connect.grpc.binding.address={record.ip}"]
        if not argv:
            raise PodError("CreateContainerConfigError", "the container has no command and no args")
        dns_dir = record.directory / "dns"
        dns_dir.mkdir()
        (dns_dir / "hosts").write_text("")
        security = container.get("securityContext") or {}
        steps = plan_filesystem(self.image, mounted, dns_dir, record.directory,
                                bool(security.get("readOnlyRootFilesystem")), workdir)
        record.cgroup = self.cgroup_root / f"{record.namespace}.{record.name}"
        record.cgroup.mkdir()
        return argv, env, steps, workdir

    # --- network and DNS ------------------------------------------------------------------

    async def _refresh_loop(self) -> None:
        while True:
            await self._refresh_wanted.wait()
            self._refresh_wanted.clear()
            try:
                await self._refresh()
            except Exception:
                self.errors.append(traceback.format_exc())

    async def _refresh(self) -> None:
        """Rewrite every running pod's hosts file and the nftables table from the API's current objects.

        Serialised with the removal of pod cgroups: nft resolves a cgroup path when it loads a rule.
        """
        async with self._network_lock:
            await self._refresh_now()

    async def _remove_cgroup(self, record: PodRecord) -> None:
        if record.cgroup is not None:
            async with self._network_lock:
                await asyncio.get_running_loop().run_in_executor(None, netfilter.remove_cgroup_tree, record.cgroup)

    async def _refresh_now(self) -> None:
        emu = self.emulator
        async with emu._lock:
            def live(res: resource) -> list[Obj]:
                return [copy.deepcopy(o.raw) for (r, _, _), o in emu._objects.items() if r == res and not o.deleted]

            pods, services, policies = live(PODS), live(SERVICES), live(NETWORK_POLICIES)
            namespaces = {n["metadata"]["name"]: dict(n["metadata"].get("labels") or {}) for n in live(NAMESPACES)}
        running = {k: r for k, r in self.records.items() if r.ip and r.exit_code is None and not r.deleted}
        # The kubelet knows its pods' addresses before the API shows them (the status update follows).
        for pod in pods:
            key = (pod["metadata"].get("namespace", ""), pod["metadata"]["name"])
            if key in running and pod["metadata"].get("uid") == running[key].uid:
                status = pod.setdefault("status", {})
                status["podIP"] = running[key].ip
                if status.get("phase") in (None, "Pending"):
                    status["phase"] = "Running"
                    status["conditions"] = [{"type": "Ready", "status": "True" if running[key].ready else "False"}]
        virtual = self._virtual_services(services, pods)
        cluster_ips = {key: service.ip for key, service in virtual.items()}
        for key, record in running.items():
            pod = next((p for p in pods if (p["metadata"].get("namespace", ""), p["metadata"]["name"]) == key), None)
            if pod is None:
                continue
            text = dns.hosts_file(dns.records(pod, pods, services, cluster_ips))
            hosts = record.directory / "dns" / "hosts"
            if hosts.read_text() != text:  # replaced whole: a reader never sees half a file
                staged = hosts.with_name("hosts.new")
                staged.write_text(text)
                os.replace(staged, hosts)
        addresses = []
        for (namespace, name), record in running.items():
            pod = next((p for p in pods if (p["metadata"].get("namespace", ""), p["metadata"]["name"]) == (namespace, name)), None)
            if pod is None or record.cgroup is None or not record.cgroup.exists():
                continue
            relative = record.cgroup.relative_to(Path("/sys/fs/cgroup"))
            level = len(record.cgroup.relative_to(self._cgroup_base).parts)
            octets = [int(x) for x in record.ip.split(".")]
            addresses.append(netfilter.pod_address(pod, cgroup=str(relative), cgroup_level=level,
                                                   mark=0x53480000 | (octets[2] << 8) | octets[3]))
        text = netfilter.ruleset(self.table.name, addresses, policies, namespaces, list(virtual.values()))
        process = await asyncio.create_subprocess_exec(
            "nft", "-f", "-", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        _, error = await process.communicate(text.encode())
        if process.returncode != 0:
            raise RuntimeError(f"nft refused the kubelet's ruleset: {error.decode()}\n{text}")
        self.table.loaded = True

    def _virtual_services(self, services: list[Obj], pods: list[Obj]) -> dict[tuple[str, str], netfilter.VirtualService]:
        """ClusterIP Services: a virtual IP each (127.0.N.128 and up) and the endpoints of each port."""
        out = {}
        for service in services:
            spec = service.get("spec") or {}
            if spec.get("clusterIP") == "None" or spec.get("type") == "ExternalName":
                continue
            key = (service["metadata"]["namespace"], service["metadata"]["name"])
            if key not in self._vips:
                self._vips[key] = f"127.0.{self.subnet}.{128 + len(self._vips)}"
            ips = set(dns.endpoints(service, pods))
            ports: dict[int, list[tuple[str, int]]] = {}
            for port in spec.get("ports") or []:
                if port.get("protocol", "TCP") != "TCP":
                    continue
                targets = []
                for pod in pods:
                    if pod.get("status", {}).get("podIP") not in ips:
                        continue
                    target = port.get("targetPort", port["port"])
                    if isinstance(target, str) and not target.isdigit():
                        named = netfilter.pod_address(pod).ports
                        if target not in named:
                            continue
                        target = named[target]
                    targets.append((pod["status"]["podIP"], int(target)))
                ports[int(port["port"])] = sorted(targets)
            out[key] = netfilter.VirtualService(self._vips[key], ports)
        return out
