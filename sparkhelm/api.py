"""sparkhelm as a Python library: what the CLI does, as plain typed functions (docs/python-api.md).

A facade over the packages that do the work: `spec` computes values, `engine` renders and installs
them with Helm, `kube` talks to the cluster, `ops` puts them together. The rule of the architecture
holds here: values are computed, the chart renders them, and the rendered text is returned untouched.

Every function that talks to a cluster takes `kube=`: a `KubeTarget` (kubeconfig, context,
namespace, resolved like kubectl), an already resolved `Connection`, or a `Cluster` to share one
connection and one HTTP client between calls. Every error raised on purpose is a
`sparkhelm.SparkhelmError` whose `exit_code` is the CLI's: `UserError` (2: bad input, raised
before anything reaches a cluster) and `EngineError` (1: Helm or the cluster failed).
"""

from __future__ import annotations

from sparkhelm.errors import (
    ApiError,
    DriverGoneError,
    EngineError,
    ForbiddenError,
    NameInUseError,
    NotFoundError,
    SparkhelmError,
    UserError,
    WaitTimeoutError,
)
from sparkhelm.kube.apps import AppStatus, AppSummary, ConnectInfo
from sparkhelm.kube.cluster import Cluster
from sparkhelm.kube.connection import Connection, KubeTarget
from sparkhelm.ops.connect import ConnectServer, ConnectSession, connect
from sparkhelm.ops.follow import Outcome, archive, follow
from sparkhelm.ops.inspect import finished_apps, list_apps, logs, status
from sparkhelm.ops.remove import Collection, Removal, delete, gc
from sparkhelm.ops.render import (
    DEFAULT_NAMESPACE,
    DryRun,
    compute_values,
    dry_run,
    explain,
    render,
    render_many,
    values,
)
from sparkhelm.ops.run import RunResult, run
from sparkhelm.ops.submit import Submission, submit
from sparkhelm.ops.ui import UiForwarder, open_ui
from sparkhelm.spec.compute import AppValues
from sparkhelm.spec.inputs import Inputs

__all__ = [
    "DEFAULT_NAMESPACE",
    "ApiError",
    "AppStatus",
    "AppSummary",
    "AppValues",
    "Cluster",
    "Collection",
    "ConnectInfo",
    "ConnectServer",
    "ConnectSession",
    "Connection",
    "DriverGoneError",
    "DryRun",
    "EngineError",
    "ForbiddenError",
    "Inputs",
    "KubeTarget",
    "NameInUseError",
    "NotFoundError",
    "Outcome",
    "Removal",
    "RunResult",
    "SparkhelmError",
    "Submission",
    "UiForwarder",
    "UserError",
    "WaitTimeoutError",
    "archive",
    "compute_values",
    "connect",
    "delete",
    "dry_run",
    "explain",
    "finished_apps",
    "follow",
    "gc",
    "list_apps",
    "logs",
    "open_ui",
    "render",
    "render_many",
    "run",
    "status",
    "submit",
    "values",
]
