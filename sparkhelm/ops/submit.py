"""Submit an app: validate, check the cluster, install it as a new Helm release, and say where it runs.

Bad input fails before any cluster contact; a failed pre-flight check before any write. An install
that fails part-way is removed again (release and labelled objects), so it leaves nothing behind.
The `Submission` carries the cluster it went to: following, archiving and deleting it later never
falls back to another kubeconfig.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sparkhelm.chart.files import resolve_chart_dir
from sparkhelm.engine import Engine, engine_of
from sparkhelm.engine.manifests import parse_manifest
from sparkhelm.errors import NameInUseError, OperationPendingError, SparkhelmError
from sparkhelm.kube.apps import ui_url
from sparkhelm.kube.cluster import Cluster
from sparkhelm.ops.render import compute_checked
from sparkhelm.spec.inputs import Inputs
from sparkhelm.spec.naming import AppNames

if TYPE_CHECKING:
    from sparkhelm.kube.connection import Connection, KubeTarget


@dataclass(frozen=True)
class Submission:
    """A submitted app: where it runs (the connection it went through) and how to reach it."""

    app_name: str
    namespace: str
    driver_pod: str
    ui_url: str | None
    connection: Connection = field(repr=False, compare=False)
    warnings: list[str] = field(default_factory=list)
    #: A scheduled app's cron expression and time zone (schedule.cron, schedule.timeZone); "" for one run now.
    schedule: str = ""
    time_zone: str = ""

    @property
    def _where(self) -> str:
        context = f" --kube-context {self.connection.context}" if self.connection.context else ""
        return f"-n {self.namespace}{context}"

    @property
    def ui_command(self) -> str:
        """The command that opens the UI through a port-forward."""
        return f"sparkhelm ui {self.app_name} {self._where}"

    @property
    def logs_command(self) -> str:
        """The command that follows the driver log."""
        return f"sparkhelm logs {self.app_name} {self._where} -f"


def submit(
    inputs: Inputs, *, kube: KubeTarget | Connection | Cluster | None = None, engine: Engine | str = "auto"
) -> Submission:
    """Validate, check the cluster, then install the app as a new release (never an upgrade)."""
    from sparkhelm.ops import preflight
    from sparkhelm.ops.remove import sweep

    chart_dir = resolve_chart_dir(inputs.chart)
    chosen = engine_of(engine)
    app = compute_checked(chart_dir, inputs, chosen)
    cluster = Cluster.of(kube)
    # cluster.namespace reads the kubeconfig (once): a broken one is bad input too, reported before any request.
    rendered = chosen.render(chart_dir, app.values, release=app.app_name, namespace=cluster.namespace)
    objects = parse_manifest(rendered.manifest)
    warnings = preflight.check(cluster, app=app.app_name, values=app.values, objects=objects)
    try:
        chosen.install(chart_dir, app.values, release=app.app_name, cluster=cluster, rendered=rendered)
    except (NameInUseError, OperationPendingError):
        raise  # somebody else's release: never remove it
    except SparkhelmError as exc:
        try:
            chosen.uninstall(app.app_name, cluster=cluster)
            sweep(cluster, app.app_name)
        except SparkhelmError as cleanup:
            raise type(exc)(f"{exc} (and removing the partial install failed: {cleanup})") from None
        raise type(exc)(f"{exc} (the partial install was removed)") from None
    ingress = next((o for o in objects if o.get("kind") == "Ingress"), None)
    schedule = app.values.get("schedule") or {}
    return Submission(
        app_name=app.app_name,
        namespace=cluster.namespace,
        driver_pod="" if schedule.get("cron") else AppNames(app.app_name).driver_pod,
        ui_url=ui_url(ingress),
        connection=cluster.connection,
        warnings=warnings,
        schedule=str(schedule.get("cron") or ""),
        time_zone=str(schedule.get("timeZone") or ""),
    )
