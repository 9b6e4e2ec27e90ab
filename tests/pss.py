"""The Pod Security Standards "restricted" profile, re-implemented for tests.

One function per control of Kubernetes' pod-security-admission (policy/check_*.go), baseline
controls included since "restricted" contains them. `restricted_violations(pod)` returns a line
per failed control; an empty list means a namespace labelled
`pod-security.kubernetes.io/enforce=restricted` admits the pod.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Obj = dict[str, Any]

BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
}
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}


def _containers(spec: Obj) -> Iterator[Obj]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(field) or []


def _sc(obj: Obj) -> Obj:
    return obj.get("securityContext") or {}


def host_process(spec: Obj, _meta: Obj) -> list[str]:
    found = [c["name"] for c in _containers(spec) if (_sc(c).get("windowsOptions") or {}).get("hostProcess")]
    if (_sc(spec).get("windowsOptions") or {}).get("hostProcess"):
        found.append("pod")
    return [f"hostProcess set on {', '.join(found)}"] if found else []


def host_namespaces(spec: Obj, _meta: Obj) -> list[str]:
    return [f"{field}=true" for field in ("hostNetwork", "hostPID", "hostIPC") if spec.get(field)]


def privileged(spec: Obj, _meta: Obj) -> list[str]:
    return [f"container {c['name']} is privileged" for c in _containers(spec) if _sc(c).get("privileged")]


def capabilities_baseline(spec: Obj, _meta: Obj) -> list[str]:
    problems = []
    for c in _containers(spec):
        extra = set((_sc(c).get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES
        if extra:
            problems.append(f"container {c['name']} adds {sorted(extra)}")
    return problems


def host_path_volumes(spec: Obj, _meta: Obj) -> list[str]:
    return [f"volume {v['name']} is a hostPath" for v in spec.get("volumes") or [] if "hostPath" in v]


def host_ports(spec: Obj, _meta: Obj) -> list[str]:
    return [
        f"container {c['name']} uses hostPort {p['hostPort']}"
        for c in _containers(spec) for p in c.get("ports") or [] if p.get("hostPort")
    ]


def app_armor(spec: Obj, meta: Obj) -> list[str]:
    problems = []
    for key, value in (meta.get("annotations") or {}).items():
        if key.startswith("container.apparmor.security.beta.kubernetes.io/") and not (
            value == "runtime/default" or value.startswith("localhost/")
        ):
            problems.append(f"AppArmor annotation {key}={value}")
    for owner in [spec, *_containers(spec)]:
        kind = (_sc(owner).get("appArmorProfile") or {}).get("type")
        if kind not in (None, "RuntimeDefault", "Localhost"):
            problems.append(f"appArmorProfile {kind}")
    return problems


def se_linux(spec: Obj, _meta: Obj) -> list[str]:
    problems = []
    for owner in [spec, *_containers(spec)]:
        options = _sc(owner).get("seLinuxOptions") or {}
        if options.get("type", "") not in SELINUX_TYPES or options.get("user") or options.get("role"):
            problems.append(f"seLinuxOptions {options}")
    return problems


def proc_mount(spec: Obj, _meta: Obj) -> list[str]:
    return [f"container {c['name']} procMount" for c in _containers(spec) if _sc(c).get("procMount", "Default") != "Default"]


def seccomp_baseline(spec: Obj, _meta: Obj) -> list[str]:
    owners = [("pod", spec), *((c["name"], c) for c in _containers(spec))]
    return [f"{name} seccomp Unconfined" for name, o in owners if (_sc(o).get("seccompProfile") or {}).get("type") == "Unconfined"]


def sysctls(spec: Obj, _meta: Obj) -> list[str]:
    return [f"unsafe sysctl {s['name']}" for s in _sc(spec).get("sysctls") or [] if s["name"] not in SAFE_SYSCTLS]


def probe_hosts(spec: Obj, _meta: Obj) -> list[str]:
    problems = []
    for c in _containers(spec):
        handlers = [c.get(p) or {} for p in ("livenessProbe", "readinessProbe", "startupProbe")]
        handlers += [h or {} for h in (c.get("lifecycle") or {}).values()]
        for handler in handlers:
            for action in ("httpGet", "tcpSocket"):
                if (handler.get(action) or {}).get("host"):
                    problems.append(f"container {c['name']} probe/lifecycle host")
    return problems


def volume_types(spec: Obj, _meta: Obj) -> list[str]:
    problems = []
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            problems.append(f"volume {volume['name']} of type {sorted(kinds - RESTRICTED_VOLUMES)}")
    return problems


def privilege_escalation(spec: Obj, _meta: Obj) -> list[str]:
    return [
        f"container {c['name']} does not set allowPrivilegeEscalation=false"
        for c in _containers(spec) if _sc(c).get("allowPrivilegeEscalation") is not False
    ]


def run_as_non_root(spec: Obj, _meta: Obj) -> list[str]:
    pod_level = _sc(spec).get("runAsNonRoot")
    problems = []
    for c in _containers(spec):
        own = _sc(c).get("runAsNonRoot")
        if own is False or (own is None and pod_level is not True):
            problems.append(f"container {c['name']} may run as root (runAsNonRoot not true)")
    if pod_level is False:
        problems.append("pod sets runAsNonRoot=false")
    return problems


def run_as_user(spec: Obj, _meta: Obj) -> list[str]:
    owners = [("pod", spec), *((c["name"], c) for c in _containers(spec))]
    return [f"{name} runAsUser=0" for name, o in owners if _sc(o).get("runAsUser") == 0]


def seccomp_restricted(spec: Obj, _meta: Obj) -> list[str]:
    allowed = ("RuntimeDefault", "Localhost")
    pod_type = (_sc(spec).get("seccompProfile") or {}).get("type")
    problems = []
    if pod_type is not None and pod_type not in allowed:
        problems.append(f"pod seccomp {pod_type}")
    for c in _containers(spec):
        own = (_sc(c).get("seccompProfile") or {}).get("type")
        if (own is None and pod_type not in allowed) or (own is not None and own not in allowed):
            problems.append(f"container {c['name']} seccomp {own or 'unset'}")
    return problems


def capabilities_restricted(spec: Obj, _meta: Obj) -> list[str]:
    problems = []
    for c in _containers(spec):
        caps = _sc(c).get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            problems.append(f"container {c['name']} does not drop ALL capabilities")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            problems.append(f"container {c['name']} adds capabilities beyond NET_BIND_SERVICE")
    return problems


CONTROLS: list[Callable[[Obj, Obj], list[str]]] = [
    host_process, host_namespaces, privileged, capabilities_baseline, host_path_volumes, host_ports,
    app_armor, se_linux, proc_mount, seccomp_baseline, sysctls, probe_hosts,
    volume_types, privilege_escalation, run_as_non_root, run_as_user, seccomp_restricted, capabilities_restricted,
]


def restricted_violations(pod: Obj) -> list[str]:
    """Every failed control of the restricted profile for a Pod (or a pod template) object."""
    spec, meta = pod.get("spec") or {}, pod.get("metadata") or {}
    return [problem for control in CONTROLS for problem in control(spec, meta)]
