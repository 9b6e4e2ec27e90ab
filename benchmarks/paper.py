"""The sections written from other sections' figures: the throughput bound on a real API server, and history.

The bound is arithmetic on this run's measured figures (requests, writes and record size per app,
client CPU per app) and public figures, each with its source.
"""

from __future__ import annotations

KIB = 1024
GIB = 1024**3


def throughput_bound(facts: dict[str, float]) -> str:
    """The section "The throughput bound on a real API server (on paper)"."""
    requests = facts.get("requests_per_app", facts.get("run_requests", 0))
    writes = facts.get("run_writes", 0)
    record = facts.get("record_bytes", 0)  # the Secret's data as JSON: base64 of Helm's base64(gzip(JSON))
    stored = record * 3 / 4  # etcd stores the Secret's data decoded once
    api_cpu = facts.get("api_cpu_per_app", 0)
    rate = 1000.0
    per_second = rate / 60
    history = per_second * 300 * 2 * stored  # two writes of the record per app, 5 minutes between compactions
    lines = [
        f"What one `sparkhelm run` of values/prod.yaml asks of an API server (measured above): {requests:.0f} "
        f"requests, {writes:.0f} of them writes (the objects, then Helm's release record twice: pending, "
        f"deployed); the record is {record / KIB:.0f} KiB as JSON, about {stored / KIB:.0f} KiB in etcd. "
        "Public figures, and what they bound:",
        "",
        f"- **Latency x requests, per client.** Each submission sends its requests one after the other, so one "
        f"client submits at most 60 s / (its CPU per app + {requests:.0f} x the API server's latency) apps a "
        f"minute. The Kubernetes SLO for mutating calls is a 99th percentile of at most 1 s per (resource, verb) "
        "(kubernetes/community, sig-scalability/slos/api_call_latency.md); a healthy server answers in a few ms. "
        f"At 5 ms a request that is {requests * 5:.0f} ms of waiting per app, so 1,000 apps a minute need about "
        f"{per_second * (requests * 0.005 + api_cpu):.0f} submissions in flight (threads of `api.submit`, or "
        "processes); at the ~600 ms p90 the Kubeflow benchmark saw under 36,000 pod creations, "
        f"{per_second * requests * 0.6:.0f} in flight.",
        "- **Client-side limits.** client-go defaults to 5 queries a second with bursts of 10 when a program sets "
        "nothing (k8s.io/client-go rest.DefaultQPS, DefaultBurst); Helm raises the burst to 100 (`--burst-limit`, "
        "helm/helm#10842). sparkhelm's own client has no client-side limit; under API Priority and Fairness an "
        "overloaded server answers 429, which sparkhelm sends again after the server's Retry-After (at most 10 s, "
        "4 tries), as client-go does.",
        f"- **Server concurrency.** kube-apiserver's defaults are 400 read and 200 mutating requests in flight "
        "(`--max-requests-inflight`, `--max-mutating-requests-inflight`; with Priority and Fairness their sum is "
        f"the server's total, shared by every client). 1,000 apps a minute is {per_second * writes:.0f} writes and "
        f"{per_second * (requests - writes):.0f} other requests a second from submissions alone, before the "
        "scheduler's bindings, the kubelets' status updates and Spark's executor pods: at 10 ms a write, about "
        f"{per_second * writes * 0.01:.0f} of the 200 mutating seats.",
        f"- **etcd: volume, not request rate.** A three-member etcd cluster completes more than 30,000 requests a "
        "second under heavy load (etcd.io, op-guide/performance), far above the rate above. But its database is "
        "limited to 2 GiB by default, 8 GiB suggested at most (`--quota-backend-bytes`, etcd.io dev-guide/limit), "
        "and the API server compacts old revisions every 5 minutes (`--etcd-compaction-interval`). Each app writes "
        f"its record twice, so at 1,000 apps a minute the records' old revisions alone are about "
        f"{history / GIB:.1f} GiB between compactions, and every app kept adds {stored / KIB:.0f} KiB: 10,000 kept "
        f"apps are {10000 * stored / GIB:.1f} GiB. The record's size (Helm's format embeds the whole chart: its "
        "templates, files and schema) makes etcd's quota the first limit near 1,000 apps a minute on a default "
        "etcd, and `gc`/ttl necessary; a request is also limited to 1.5 MiB (etcd) and a Secret to 1 MiB "
        "(kubernetes.io, Secrets), far above one record.",
        "- **Release records per namespace.** Before installing, sparkhelm (like Helm) lists the Secrets labelled "
        "`owner=helm,name=APP`. The server filters labels in memory after reading every Secret of the namespace, "
        "from etcd for a consistent read unless Consistent Reads from Cache (KEP-2340) serves it from the watch "
        "cache: the check costs the server more with every record kept in the namespace. `helm list` decodes "
        "every record (1,176 release Secrets took ~46 s to list in helm/helm#8008); `sparkhelm list` reads driver "
        "pods and ConfigMaps, never the records (goal 5). Finished apps keep Services: Kubeflow's benchmark hit "
        "`argument list too long` with 6,000 apps in one namespace from Service environment variables; the chart "
        "sets `enableServiceLinks: false`, which avoids that failure.",
        "",
        "Published submission rates, for scale: the Kubeflow Spark Operator processed ~130 apps/min with 10 "
        "controller workers (~25 cores busy) and ~140-155 with 20 (~35 cores), on a 36-vCPU node, CPU-bound "
        "(kubeflow/website, docs/components/spark-operator/performance/benchmarking.md, 2025); Apache's "
        "spark-kubernetes-operator finished 1,000 driver-only apps in 193 s, about 310 apps/min (apache/"
        "spark-kubernetes-operator tests/benchmark/sparkapps.sh, commit 37bf26b, SPARK-53994, 2025-10); AWS's EMR "
        "on EKS guidance gives about 30 jobs/min for one operator (aws-emr-containers-best-practices, "
        "scalability/known-factors-spark-operator). Those operators submit with spark-submit (a JVM per app); "
        f"sparkhelm's client costs {api_cpu * 1000:.0f} ms of CPU per app through the Python API (goal 4).",
    ]
    return "\n".join(lines)


#: The issue's figures (before the work it asked for), as (what, before).
ISSUE = [
    ("`template` / `helm template`", "2.3x", "template_ratio_helm4", "template_ratio_helm3", "x"),
    ("`--help` / `helm --help`", "1.8-2.0x", "help_ratio_helm4", "help_ratio_helm3", "x"),
    ("`run` / `helm install`", "6-7.5x", "run_ratio_helm4", "run_ratio_helm3", "x"),
    ("requests per submission", "57", "run_requests", "", ""),
    ("peak memory / `helm install`", "2.7x", "memory_ratio_helm4", "memory_ratio_helm3", "x"),
    ("`list` / kubectl", "16-20x", "read_ratio_0", "", "x"),
    ("`status` / kubectl", "16-20x", "read_ratio_1", "", "x"),
    ("`logs` / kubectl", "16-20x", "read_ratio_2", "", "x"),
]


def history(facts: dict[str, float]) -> str:
    """The section "History": the issue's figures next to this run's."""
    lines = [
        "The figures in the performance issue, before the work, and this run's (against Helm 4.3 / Helm 3.17 "
        "where both were measured):",
        "",
        "| measurement | in the issue | now |",
        "|---|---:|---:|",
    ]
    for what, before, first, second, unit in ISSUE:
        if first not in facts:
            continue
        now = f"{facts[first]:.2f}{unit}" if unit else f"{facts[first]:.0f}"
        if second and second in facts:
            now += f" / {facts[second]:.2f}{unit}"
        lines.append(f"| {what} | {before} | {now} |")
    return "\n".join(lines)
