"""Goals 2 and 3: `sparkhelm run` against `helm install`, and list/status/logs against kubectl, one emulator.

The emulated API server runs in its own process; every request it serves is in its log, so the
requests of one submission are counted, not estimated. Helm gets the values `sparkhelm values`
computes for values/prod.yaml (without the app name: each install has its own release name), so
both install the same objects.
"""

from __future__ import annotations

import collections
import functools
import json
from pathlib import Path

import yaml

from benchmarks.common import (
    CHART,
    PROD,
    SPARKHELM,
    alternate,
    base_env,
    children_cpu,
    median,
    peak_memory,
    run,
    scratch,
    spread,
    tool_env,
    wall,
)
from benchmarks.emulator import Emulator, is_write
from benchmarks.report import Part, Row

NAMESPACE = "bench"
RECORD_LIMIT = 1024 * 1024  # a Secret's data: "Individual Secrets are limited to 1MiB in size"


class _Submissions:
    """Submit with each tool, counting each submission's requests from the emulator's log."""

    def __init__(self, emu: Emulator, tools: dict[str, str], home: Path, values: Path) -> None:
        self.emu = emu
        self.tools = tools
        self.values = values
        self.env = base_env(KUBECONFIG=str(emu.kubeconfig))
        self.helm_env = tool_env(home, emu.kubeconfig)
        self.serial = 0
        self.requests: dict[str, list[list[tuple[str, str]]]] = collections.defaultdict(list)
        #: the emulator's own CPU seconds during each submission
        self.server_cpu: dict[str, list[float]] = collections.defaultdict(list)
        #: the tool's own CPU seconds (its whole process tree) per submission
        self.client_cpu: dict[str, list[float]] = collections.defaultdict(list)
        self.record_bytes = 0

    def argv(self, who: str) -> list[str]:
        """The command line of one submission (a new release name each time)."""
        self.serial += 1
        if who == "sparkhelm":
            return [SPARKHELM, "run", "-f", str(PROD), "-n", NAMESPACE]
        return [self.tools[who], "install", f"{who}-{self.serial:04d}", str(CHART), "-f", str(self.values),
                "-n", NAMESPACE]

    def timed(self, who: str) -> float:
        """Wall seconds of one submission; its requests are kept."""
        before, cpu, own = self.emu.count(), self.emu.cpu(), children_cpu()
        argv = self.argv(who)
        seconds = wall(argv, self.env if who == "sparkhelm" else self.helm_env)
        self.client_cpu[who].append(children_cpu() - own)
        self.server_cpu[who].append(self.emu.cpu() - cpu)
        self.requests[who].append(self.emu.requests(before))
        return seconds

    def memory(self, who: str) -> float:
        """Peak MiB of one submission's process tree."""
        return peak_memory(self.argv(who), self.env if who == "sparkhelm" else self.helm_env).mib

    def one_app(self) -> str:
        """Submit one app with sparkhelm and return its name (for the read rows)."""
        out = run(self.argv("sparkhelm"), self.env)
        return next(line.split()[1] for line in out.splitlines() if line.startswith("app:"))


def measure(tools: dict[str, str], rounds: int, memory_rounds: int, read_rounds: int) -> Part:
    """Rows 2 (run vs helm install: time, requests, memory) and 3 (list/status/logs vs kubectl)."""
    part = Part()
    work = scratch()
    with Emulator(kubelet="Running") as emu:
        computed = yaml.safe_load(run([SPARKHELM, "values", "-f", str(PROD), "--name", "bench-values"], base_env()))
        computed.pop("nameOverride")  # the release name is the app name: one per install
        values = work / "computed.yaml"
        values.write_text(yaml.safe_dump(computed))
        manifest = run([SPARKHELM, "template", "-f", str(PROD), "--name", "bench-values"], base_env())
        objects = sum(1 for o in yaml.safe_load_all(manifest) if o)
        subs = _Submissions(emu, tools, work / "home", values)
        names = {"sparkhelm": "`sparkhelm run` (no wait)", "helm4": "Helm 4.3", "helm3": "Helm 3.17"}
        times = alternate({who: functools.partial(subs.timed, who) for who in names}, rounds)
        server = {who: median(subs.server_cpu[who][1:]) for who in names}
        for who in ("helm4", "helm3"):
            part.rows.append(Row(
                "2", f"`sparkhelm run -f values/prod.yaml` / `helm install` ({names[who]}), same values, same emulator",
                median(times["sparkhelm"]) / median(times[who]), "x", 1.2,
                f"run {spread(times['sparkhelm'])}; install {spread(times[who])}; the emulator's own CPU per "
                f"submission: {server['sparkhelm'] * 1000:.0f} ms for run, {server[who] * 1000:.0f} ms for install",
            ))
        counts = {who: [len(r) for r in subs.requests[who][1:]] for who in names}  # [0]: the warm-up
        writes = [sum(is_write(m, p) for m, p in r) for r in subs.requests["sparkhelm"][1:]]
        ours = median(counts["sparkhelm"])
        part.rows.append(Row(
            "2", "requests per `sparkhelm run` (from the emulator's log) against object writes + 4",
            ours, "requests", median(writes) + 4,
            f"{ours:.0f} requests, {median(writes):.0f} of them writes; helm install: Helm 4.3 "
            f"{median(counts['helm4']):.0f}, Helm 3.17 {median(counts['helm3']):.0f}",
        ))
        memory = alternate({who: functools.partial(subs.memory, who) for who in names}, memory_rounds, warmup=False)
        for who in ("helm4", "helm3"):
            part.rows.append(Row(
                "2", f"peak memory of `sparkhelm run`'s process tree / `helm install`'s ({names[who]})",
                median(memory["sparkhelm"]) / median(memory[who]), "x", 1.5,
                f"run {median(memory['sparkhelm']):.0f} MiB; install {median(memory[who]):.0f} MiB "
                f"(medians of {memory_rounds}, GNU time and /proc)",
            ))
        part.facts.update(
            run_ratio_helm4=part.rows[0].value, run_ratio_helm3=part.rows[1].value, run_requests=ours,
            run_writes=median(writes), helm4_requests=median(counts["helm4"]),
            memory_ratio_helm4=part.rows[3].value, memory_ratio_helm3=part.rows[4].value,
            run_seconds=median(times["sparkhelm"]), run_mib=median(memory["sparkhelm"]),
            helm4_install_seconds=median(times["helm4"]),
        )
        pi_before = emu.count()
        run([SPARKHELM, "run", "-f", str(PROD.with_name("pyspark-pi.yaml")), "-n", NAMESPACE], subs.env)
        pi = emu.requests(pi_before)
        part.sections["Submission: requests and memory"] = _submission_section(emu, subs, memory, times, objects) + (
            f"\n\nWith values/pyspark-pi.yaml (no Volcano, priority class or ingress to check), `sparkhelm run` makes "
            f"{len(pi)} requests, {sum(is_write(m, p) for m, p in pi)} of them writes."
        )
        part.facts["record_bytes"] = subs.record_bytes
        part.facts["helm4_install_cpu"] = median(subs.client_cpu["helm4"][1:])
        part.facts["run_cpu"] = median(subs.client_cpu["sparkhelm"][1:])
        app = subs.one_app()
        reads, read_section = _reads(emu, tools, work / "home", app, read_rounds)
        part.rows += reads
        part.facts.update({f"read_ratio_{i}": row.value for i, row in enumerate(reads)})
        part.sections["Reads: list, status, logs"] = read_section
    return part


def _kind(method: str, path: str) -> str:
    bare = path.split("?")[0]
    if bare.startswith("/openapi"):
        return "OpenAPI"
    if bare in ("/api", "/apis", "/version") or bare.count("/") <= 3 and not bare.startswith("/api/v1/namespaces"):
        return "discovery / version"
    return "write" if is_write(method, path) else f"{method} (read or review)"


def _submission_section(emu: Emulator, subs: _Submissions, memory: dict[str, list[float]],
                        times: dict[str, list[float]], objects: int) -> str:
    names = {"sparkhelm": "`sparkhelm run`", "helm4": "`helm install` 4.3", "helm3": "`helm install` 3.17"}
    kinds = ["write", "GET (read or review)", "POST (read or review)", "discovery / version", "OpenAPI"]
    lines = [f"One submission of values/prod.yaml ({objects} objects): its requests by kind (from the emulator's "
             "log), its wall time, the emulator's own CPU time during it, and the wall time without that CPU time "
             "(roughly what the tool would take against an API server that answers at once); medians.", "",
             "| tool | requests | " + " | ".join(kinds)
             + " | wall | tool CPU | emulator CPU | wall - emulator CPU | peak memory |",
             "|---|---:|" + "---:|" * len(kinds) + "---:|---:|---:|---:|---:|"]
    for who, label in names.items():
        sample = subs.requests[who][-1]
        by = collections.Counter(_kind(m, p) for m, p in sample)
        seconds, server = median(times[who]), median(subs.server_cpu[who][1:])
        lines.append(f"| {label} | {len(sample)} | " + " | ".join(str(by.get(k, 0)) for k in kinds)
                     + f" | {seconds * 1000:.0f} ms | {median(subs.client_cpu[who][1:]) * 1000:.0f} ms "
                     f"| {server * 1000:.0f} ms | {(seconds - server) * 1000:.0f} ms "
                     f"| {median(memory[who]):.0f} MiB |")
    ours = subs.requests["sparkhelm"][-1]
    reads = [f"`{m} {p.split('?')[0]}`" for m, p in ours if not is_write(m, p)]
    app = next(p.rsplit(".", 2)[-2] for m, p in ours if m == "PUT" and "/secrets/sh.helm.release.v1." in p)
    record = emu.ask("get", "Secret", f"sh.helm.release.v1.{app}.v1", NAMESPACE)
    size = len(record["data"]["release"]) if record else 0
    subs.record_bytes = size
    lines += [
        "",
        f"`sparkhelm run`'s requests that are not writes: {', '.join(reads)}. The budget allows 4; each one "
        "dropped is a request fewer per app (a namespace that does not exist also fails the first create; an "
        "app name already taken also fails the record's create, which comes first).",
        "",
        f"The release record (Secret data, base64 of Helm's gzip'd JSON) of one app is {size / 1024:.0f} KiB, "
        f"{size / RECORD_LIMIT:.1%} of the 1 MiB a Secret may hold; it is written twice per install "
        "(pending-install, then deployed), as Helm does.",
    ]
    return "\n".join(lines)


def _counted(emu: Emulator, argv: list[str], env: dict[str, str], requests: dict[str, int], key: str) -> float:
    """Wall seconds of one run; the requests it made go to `requests[key]`."""
    before = emu.count()
    seconds = wall(argv, env)
    requests[key] = emu.count() - before
    return seconds


def _reads(emu: Emulator, tools: dict[str, str], home: Path, app: str, rounds: int) -> tuple[list[Row], str]:
    """`list`, `status` and `logs` as processes against kubectl's equivalents, alternated."""
    env = base_env(KUBECONFIG=str(emu.kubeconfig))
    kenv = tool_env(home, emu.kubeconfig)
    kubectl = tools["kubectl"]
    driver = f"{app}-driver"
    pairs: list[tuple[str, list[str], list[str]]] = [
        ("`sparkhelm list` / `kubectl get pods -l spark-role=driver`",
         [SPARKHELM, "list", "-n", NAMESPACE], [kubectl, "get", "pods", "-n", NAMESPACE, "-l", "spark-role=driver"]),
        ("`sparkhelm status APP` / `kubectl get pod APP-driver`",
         [SPARKHELM, "status", app, "-n", NAMESPACE], [kubectl, "get", "pod", driver, "-n", NAMESPACE]),
        ("`sparkhelm logs APP` / `kubectl logs APP-driver`",
         [SPARKHELM, "logs", app, "-n", NAMESPACE], [kubectl, "logs", driver, "-n", NAMESPACE]),
    ]
    apps = len(json.loads(run([SPARKHELM, "list", "-n", NAMESPACE, "-o", "json"], env)))
    rows, lines = [], [
        f"Against the emulator of goal 2, with {apps} apps in the namespace; kubectl with its own HOME, whose "
        "discovery cache is warm after the first run (as on a user's machine).",
        "", "| command | median | requests |", "|---|---:|---:|",
    ]
    for title, ours, theirs in pairs:
        requests: dict[str, int] = {}
        samples = alternate({
            "ours": functools.partial(_counted, emu, ours, env, requests, "ours"),
            "theirs": functools.partial(_counted, emu, theirs, kenv, requests, "theirs"),
        }, rounds)
        rows.append(Row("3", title, median(samples["ours"]) / median(samples["theirs"]), "x", 2.0,
                        f"sparkhelm {spread(samples['ours'])}; kubectl {spread(samples['theirs'])}"))
        for argv, key in ((ours, "ours"), (theirs, "theirs")):
            shown = " ".join([Path(argv[0]).name, *argv[1:]])
            lines.append(f"| `{shown}` | {median(samples[key]) * 1000:.0f} ms | {requests[key]} |")
    return rows, "\n".join(lines)
