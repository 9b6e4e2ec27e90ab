"""The pod network of the harness's kubelet: pod addresses, Service proxying and NetworkPolicies, in nftables.

Every pod the kubelet runs has its own loopback address (127.0.N.x) and runs in its own cgroup.
Loopback traffic leaves with the source 127.0.0.1 whatever process sends it, so the table built
here first marks each packet with the pod its socket belongs to (`socket cgroupv2`, output hook),
rewrites the source to that pod's IP (postrouting SNAT, so a server sees the real peer pod), and
decides in the input hook, where source and destination are both pod IPs, whether a NetworkPolicy
admits the connection: refused connections get a TCP reset, as a rejecting network plugin gives.
Services with a ClusterIP get a virtual IP that DNAT sends to an endpoint (what kube-proxy does);
headless Services are DNS only (see tests/harness/dns.py).

Only traffic between pod addresses is in the model: connections to or from anything else (the API
emulator and the test itself on 127.0.0.1) are accepted, as the chart's own rules let the driver
reach the API server. Established connections are always accepted: policies apply to new ones.

The policy semantics are those of `tests/netpol.py` (the evaluator the chart's flow tests use),
turned into port sets per pair of pods so that each pair becomes one nftables rule.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.netpol import selects

Obj = dict[str, Any]
#: A set of TCP port ranges (inclusive), or ALL for any port.
Ports = frozenset[tuple[int, int]] | None
ALL: Ports = None
NOTHING: Ports = frozenset()
TABLE_PREFIX = "sparkhelm_kubelet_"
CGROUP_PREFIX = "sparkhelm-kubelet-"


# --- the model --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PodAddress:
    """What the network needs to know about a running pod."""

    namespace: str
    name: str
    ip: str
    labels: dict[str, str] = field(default_factory=dict, hash=False)
    #: named container ports (name -> number), for NetworkPolicy ports given by name
    ports: dict[str, int] = field(default_factory=dict, hash=False)
    #: the pod's cgroup, relative to the cgroup v2 root, and its depth there
    cgroup: str = ""
    cgroup_level: int = 0
    mark: int = 0


def pod_address(pod: Obj, *, cgroup: str = "", cgroup_level: int = 0, mark: int = 0) -> PodAddress:
    """The network's view of a pod object."""
    named = {
        port["name"]: int(port["containerPort"])
        for container in (pod.get("spec") or {}).get("containers") or []
        for port in container.get("ports") or []
        if port.get("name") and port.get("protocol", "TCP") == "TCP"
    }
    meta = pod["metadata"]
    return PodAddress(
        namespace=meta.get("namespace", ""), name=meta["name"], ip=(pod.get("status") or {}).get("podIP", ""),
        labels=dict(meta.get("labels") or {}), ports=named, cgroup=cgroup, cgroup_level=cgroup_level, mark=mark,
    )


def _union(a: Ports, b: Ports) -> Ports:
    if a is None or b is None:
        return ALL
    return a | b


def _intersect(a: Ports, b: Ports) -> Ports:
    if a is None:
        return b
    if b is None:
        return a
    return frozenset(
        (max(s1, s2), min(e1, e2)) for s1, e1 in a for s2, e2 in b if max(s1, s2) <= min(e1, e2)
    )


def _rule_ports(rule: Obj, destination: PodAddress) -> Ports:
    """TCP ports a rule admits; a port name is the destination pod's container port of that name."""
    entries = rule.get("ports")
    if not entries:
        return ALL
    found: set[tuple[int, int]] = set()
    for entry in entries:
        if entry.get("protocol", "TCP") != "TCP":
            continue
        port = entry.get("port")
        if port is None:
            return ALL
        if isinstance(port, str) and not port.isdigit():
            if port in destination.ports:
                found.add((destination.ports[port], destination.ports[port]))
            continue
        start = int(port)
        found.add((start, int(entry.get("endPort", start))))
    return frozenset(found)


def _peer_matches(peer: Obj, other: PodAddress, policy_namespace: str, namespace_labels: dict[str, dict[str, str]]) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        address = ipaddress.ip_address(other.ip)
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(e) for e in block.get("except") or []
        )
    if "namespaceSelector" in peer:
        labels = {**namespace_labels.get(other.namespace, {}), "kubernetes.io/metadata.name": other.namespace}
        if not selects(peer["namespaceSelector"], labels):
            return False
    elif other.namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector"), other.labels)


def _policy_types(policy: Obj) -> list[str]:
    spec = policy["spec"]
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return ["Ingress", "Egress"] if "egress" in spec else ["Ingress"]


def direction_ports(
    policies: list[Obj], subject: PodAddress, other: PodAddress, direction: str,
    namespace_labels: dict[str, dict[str, str]],
) -> Ports:
    """Ports on which `subject` may receive from (Ingress) or send to (Egress) `other`."""
    applying = [
        p for p in policies
        if p["metadata"].get("namespace") == subject.namespace
        and selects(p["spec"].get("podSelector"), subject.labels)
        and direction in _policy_types(p)
    ]
    if not applying:
        return ALL
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    destination = subject if direction == "Ingress" else other
    allowed: Ports = NOTHING
    for policy in applying:
        for rule in policy["spec"].get(rules_key) or []:
            peers = rule.get(peers_key)
            namespace = policy["metadata"]["namespace"]
            if not peers or any(_peer_matches(p, other, namespace, namespace_labels) for p in peers):
                allowed = _union(allowed, _rule_ports(rule, destination))
    return allowed


def pair_ports(
    policies: list[Obj], source: PodAddress, destination: PodAddress, namespace_labels: dict[str, dict[str, str]],
) -> Ports:
    """Ports a new connection from `source` to `destination` may use: both pods' policies must admit it."""
    if source.ip == destination.ip:
        return ALL  # a pod always reaches itself
    return _intersect(
        direction_ports(policies, destination, source, "Ingress", namespace_labels),
        direction_ports(policies, source, destination, "Egress", namespace_labels),
    )


@dataclass(frozen=True)
class VirtualService:
    """A Service with a ClusterIP: its virtual IP, and per service port the endpoints (ip, target port)."""

    ip: str
    ports: dict[int, list[tuple[str, int]]]


# --- nftables text ----------------------------------------------------------------------------


def _ports_text(ports: frozenset[tuple[int, int]]) -> str:
    return ", ".join(str(s) if s == e else f"{s}-{e}" for s, e in sorted(ports))


CHAINS = {
    "pod_mark": "type filter hook output priority mangle; policy accept;",
    "pod_source": "type nat hook postrouting priority srcnat; policy accept;",
    "service_proxy": "type nat hook output priority -100; policy accept;",
    "network_policy": "type filter hook input priority filter; policy accept;",
}
_RECORDS = "type ipv4_addr . ipv4_addr . inet_service; flags dynamic; size 65535;"


def ruleset(table: str, pods: list[PodAddress], policies: list[Obj], namespace_labels: dict[str, dict[str, str]],
            services: list[VirtualService]) -> str:
    """An `nft -f` script that makes the table current in one transaction: marks, SNAT, proxying, policies.

    The chains and the pod set are flushed and refilled; the record sets (`attempts`, `refused`)
    keep what they saw across updates.
    """
    running = [p for p in pods if p.ip]
    skeleton = "".join(f"  chain {name} {{ {hook} }}\n" for name, hook in CHAINS.items())
    out = [
        f"table ip {table} {{\n  set pods {{ type ipv4_addr; }}\n  set attempts {{ {_RECORDS} }}\n"
        f"  set refused {{ {_RECORDS} }}\n{skeleton}}}",
        *(f"flush chain ip {table} {name}" for name in CHAINS),
        f"flush set ip {table} pods",
    ]
    addresses = sorted({p.ip for p in running})
    if addresses:
        out.append(f"add element ip {table} pods {{ {', '.join(addresses)} }}")
    rules: dict[str, list[str]] = {name: [] for name in CHAINS}
    for pod in running:
        if pod.cgroup:
            rules["pod_mark"].append(
                f'socket cgroupv2 level {pod.cgroup_level} "{pod.cgroup}" meta mark set {pod.mark:#x}')
            rules["pod_source"].append(f"meta mark {pod.mark:#x} ip daddr 127.0.0.0/8 snat to {pod.ip}")
    for service in services:
        for port, targets in sorted(service.ports.items()):
            if len(targets) == 1:
                ip, target = targets[0]
                rules["service_proxy"].append(f"ip daddr {service.ip} tcp dport {port} dnat to {ip}:{target}")
            elif targets:
                choices = ", ".join(f"{i} : {ip} . {target}" for i, (ip, target) in enumerate(targets))
                rules["service_proxy"].append(
                    f"ip daddr {service.ip} tcp dport {port} "
                    f"dnat ip addr . port to numgen random mod {len(targets)} map {{ {choices} }}")
    policy = rules["network_policy"]
    policy += [
        "ct state established,related accept",
        "ip saddr != @pods accept",
        "ip daddr != @pods accept",
        "tcp flags & (syn | ack) == syn add @attempts { ip saddr . ip daddr . tcp dport }",
    ]
    for source in running:
        for destination in running:
            ports = pair_ports(policies, source, destination, namespace_labels)
            if ports is None:
                policy.append(f"ip saddr {source.ip} ip daddr {destination.ip} accept")
            elif ports:
                policy.append(f"ip saddr {source.ip} ip daddr {destination.ip} tcp dport {{ {_ports_text(ports)} }} accept")
    policy += [
        "tcp flags & (syn | ack) == syn add @refused { ip saddr . ip daddr . tcp dport }",
        "meta l4proto tcp reject with tcp reset",
        "reject",
    ]
    for chain, lines in rules.items():
        out.extend(f"add rule ip {table} {chain} {line}" for line in lines)
    return "\n".join(out) + "\n"


# --- the kernel side --------------------------------------------------------------------------


def cgroup2_root() -> Path | None:
    """Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup or, on hybrid hosts, .../unified)."""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[2] == "cgroup2":
            return Path(parts[1])
    return None


def unavailable() -> str | None:
    """Why the pod network cannot be built here (nftables, root, cgroup v2), or None."""
    if os.geteuid() != 0:
        return "the pod network needs root (nftables rules and cgroups)"
    if shutil.which("nft") is None:
        return "no `nft` on PATH: apt-get install -y nftables"
    if cgroup2_root() is None:
        return "no cgroup v2 hierarchy is mounted"
    probe = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"nft cannot list tables: {probe.stderr.strip()}"
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale() -> None:
    """Delete tables and cgroups left by kubelets whose process died without its teardown (e.g. SIGKILL)."""
    listing = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    for match in re.finditer(rf"table ip ({TABLE_PREFIX}(\d+)_\d+)", listing):
        if not _alive(int(match.group(2))):
            subprocess.run(["nft", "delete", "table", "ip", match.group(1)], capture_output=True)
    root = cgroup2_root()
    for stale in root.glob(f"{CGROUP_PREFIX}*") if root else ():
        match = re.fullmatch(rf"{CGROUP_PREFIX}(\d+)-\d+", stale.name)
        if match and not _alive(int(match.group(1))):
            remove_cgroup_tree(stale)


def kill_cgroup(path: Path) -> None:
    """SIGKILL every process in a cgroup (cgroup.kill, Linux 5.14+), else one by one."""
    kill = path / "cgroup.kill"
    with contextlib.suppress(FileNotFoundError):
        if kill.exists():
            kill.write_text("1")
            return
        for pid in (path / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)


def cgroup_pids(path: Path) -> list[int]:
    """The processes in a cgroup (its own, not its children's)."""
    try:
        return [int(p) for p in (path / "cgroup.procs").read_text().split()]
    except FileNotFoundError:
        return []


def cgroup_cpu_seconds(path: Path) -> float | None:
    """CPU time used by the processes of a cgroup so far (cpu.stat usage_usec), if readable."""
    try:
        for line in (path / "cpu.stat").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "usage_usec":
                return int(value) / 1e6
    except OSError:
        pass
    return None


def remove_cgroup_tree(path: Path) -> None:
    """Kill what is left in a cgroup tree and remove it, leaves first."""
    for child in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        kill_cgroup(child)
        _rmdir(child)
    if path.exists():
        kill_cgroup(path)
        _rmdir(path)


def _rmdir(path: Path) -> None:
    for _ in range(100):  # a killed process leaves its cgroup a moment after the signal
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


class Table:
    """One kubelet's nftables table: loaded whole on each change, deleted at teardown."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.loaded = False

    def load(self, text: str) -> None:
        """Replace the table atomically."""
        result = subprocess.run(["nft", "-f", "-"], input=text, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"nft refused the kubelet's ruleset: {result.stderr.strip()}\n{text}")
        self.loaded = True

    def _elements(self, set_name: str) -> list[tuple[str, str, int]]:
        if not self.loaded:
            return []
        result = subprocess.run(["nft", "-j", "list", "set", "ip", self.name, set_name], capture_output=True, text=True)
        if result.returncode != 0:
            return []
        out = []
        for item in json.loads(result.stdout)["nftables"]:
            for element in (item.get("set") or {}).get("elem") or []:
                concat = element["elem"]["val"]["concat"] if isinstance(element, dict) and "elem" in element \
                    else element["concat"]
                out.append((str(concat[0]), str(concat[1]), int(concat[2])))
        return sorted(out)

    def attempts(self) -> list[tuple[str, str, int]]:
        """(source IP, destination IP, port) of every new pod-to-pod TCP connection attempt seen."""
        return self._elements("attempts")

    def refused(self) -> list[tuple[str, str, int]]:
        """The attempts a NetworkPolicy refused."""
        return self._elements("refused")

    def delete(self) -> None:
        """Remove the table (idempotent)."""
        subprocess.run(["nft", "delete", "table", "ip", self.name], capture_output=True)
        self.loaded = False
