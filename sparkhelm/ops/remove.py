"""Delete apps: uninstall the Helm release if there is one, then delete what is left by the chart's labels.

An app is gone when its objects are gone, however it was made (`sparkhelm run`, raw `helm install`,
`sparkhelm template | kubectl apply`, a release stored with another driver). So removal finds the
app's objects by label (one LIST per kind for any number of apps), uninstalls the release, deletes
what remains, and lists again: what is still there is reported, never called deleted.
"""

from __future__ import annotations

import datetime
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkhelm.engine import Engine, engine_of
from sparkhelm.errors import NotFoundError, SparkhelmError, UserError
from sparkhelm.kube.apps import AppSummary, collectable
from sparkhelm.kube.cluster import Cluster
from sparkhelm.kube.resources import CHART_KINDS
from sparkhelm.spec.naming import CHART_SELECTOR, validate_app_name

if TYPE_CHECKING:
    from sparkhelm.kube.connection import Connection, KubeTarget

Obj = dict[str, Any]
Key = tuple[str, str]  # namespace, app
UNINSTALL_WORKERS = 4
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Leftover:
    """One object of an app: kind, name, and whether it is already being deleted."""

    kind: str
    name: str
    terminating: bool

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass
class Removal:
    """What deleting one app did."""

    app: str
    namespace: str
    release: bool = False  #: a Helm release was uninstalled
    deleted: list[str] = field(default_factory=list)  #: objects deleted by label (Helm had not)
    remaining: list[Leftover] = field(default_factory=list)  #: what is still there afterwards

    @property
    def found(self) -> bool:
        """There was something of this app to delete."""
        return self.release or bool(self.deleted) or bool(self.remaining)

    @property
    def done(self) -> bool:
        """Everything of the app is gone or being deleted (pods take their grace period)."""
        return self.found and not any(not left.terminating for left in self.remaining)

    @property
    def terminating(self) -> list[Leftover]:
        """Objects still shutting down."""
        return [left for left in self.remaining if left.terminating]


#: Above this many apps a sweep lists every object of the chart instead of naming the apps in the selector.
MAX_NAMED = 20


def _scope(apps: Sequence[str]) -> list[str] | None:
    """The apps to name in a selector, or None (all of the chart's objects) for many apps."""
    unique = sorted(set(apps))
    return unique if len(unique) <= MAX_NAMED else None


def _selector(apps: Sequence[str] | None) -> str:
    if apps is None:
        return CHART_SELECTOR
    if len(apps) == 1:
        return f"{CHART_SELECTOR},app-name={apps[0]}"
    return f"{CHART_SELECTOR},app-name in ({','.join(sorted(set(apps)))})"


#: Where Helm keeps release records: the `secret` and the `configmap` storage drivers.
RECORD_KINDS = ("Secret", "ConfigMap")


def inventory(
    cluster: Cluster, apps: Sequence[str] | None = None, *, everywhere: bool = False
) -> dict[Key, list[Leftover]]:
    """The apps' objects and Helm release records, by (namespace, app): one LIST per kind, for any number of apps.

    Release records carry Helm's labels (`owner=helm`, `name=<release>`), not the chart's: a record is
    counted with an app when the app has objects too, or when the app is named.
    """
    found: dict[Key, list[Leftover]] = defaultdict(list)
    for kind_name in CHART_KINDS:
        try:
            objects = cluster.objects(kind_name, _selector(apps), everywhere=everywhere, metadata_only=True)
        except NotFoundError:
            continue  # an API the cluster does not serve (Volcano's PodGroup) holds nothing
        for obj in objects:
            _add(found, cluster, kind_name, obj, (obj.get("metadata") or {}).get("labels", {}).get("app-name"))
    named = set(apps or ())
    records = "owner=helm" + (f",name={apps[0]}" if apps is not None and len(apps) == 1 else "")
    for kind_name in RECORD_KINDS:
        for obj in cluster.objects(kind_name, records, everywhere=everywhere, metadata_only=True):
            meta = obj.get("metadata") or {}
            release = str((meta.get("labels") or {}).get("name") or "")
            key = (str(meta.get("namespace") or cluster.namespace), release)
            if key in found or release in named:
                _add(found, cluster, kind_name, obj, release)
    return found


def _add(found: dict[Key, list[Leftover]], cluster: Cluster, kind_name: str, obj: Obj, app: Any) -> None:
    if not app:
        return
    meta = obj.get("metadata") or {}
    key = (str(meta.get("namespace") or cluster.namespace), str(app))
    found[key].append(Leftover(kind_name, str(meta.get("name")), bool(meta.get("deletionTimestamp"))))


def sweep(cluster: Cluster, app: str) -> list[str]:
    """Delete every object of `app` in the cluster's namespace by label; the objects deleted."""
    leftovers = inventory(cluster, [app]).get((cluster.namespace, app), [])
    return _delete_objects(cluster, cluster.namespace, leftovers)


def _delete_objects(cluster: Cluster, namespace: str, leftovers: list[Leftover]) -> list[str]:
    deleted = []
    for left in leftovers:
        if left.terminating:
            continue
        if cluster.client.delete(CHART_KINDS[left.kind].path(namespace, left.name)) is not None:
            deleted.append(str(left))
    return deleted


def _remove(
    cluster: Cluster, engine: Engine, keys: list[Key], before: dict[Key, list[Leftover]], wait: float | None
) -> list[Removal]:
    """Uninstall each app's release (in parallel: each is several round trips), delete its leftovers, look again."""

    def one(key: Key) -> Removal:
        namespace, app = key
        released = engine.uninstall(app, cluster=cluster.in_namespace(namespace))
        # What Helm did not delete (kubectl-applied objects, a release of another storage driver), by
        # label; an object Helm deleted first answers 404 and is not counted.
        deleted = _delete_objects(cluster, namespace, before.get(key, []))
        return Removal(app=app, namespace=namespace, release=released, deleted=deleted)

    with ThreadPoolExecutor(max_workers=max(1, min(UNINSTALL_WORKERS, len(keys)))) as pool:
        removals = list(pool.map(one, keys))
    everywhere = len({namespace for namespace, _ in keys}) > 1
    deadline = time.monotonic() + (wait or 0)
    while True:
        after = inventory(cluster, _scope([app for _, app in keys]), everywhere=everywhere)
        for removal in removals:
            removal.remaining = after.get((removal.namespace, removal.app), [])
        if not wait or all(not r.remaining for r in removals) or time.monotonic() >= deadline:
            return removals
        time.sleep(POLL_SECONDS)


def delete(
    app_names: Sequence[str],
    *,
    kube: KubeTarget | Connection | Cluster | None = None,
    engine: Engine | str = "auto",
    wait: float | None = None,
) -> list[Removal]:
    """Delete apps of the cluster's namespace; `wait`: seconds to wait until their objects are gone.

    Each `Removal` says what was uninstalled, deleted, and is still there; an app with nothing to
    delete has `found` False.
    """
    for name in app_names:
        validate_app_name(name, source="APP")
    cluster = Cluster.of(kube)
    names = list(dict.fromkeys(app_names))
    before = inventory(cluster, _scope(names))
    keys = [(cluster.namespace, name) for name in names]
    return _remove(cluster, engine_of(engine), keys, before, wait)


@dataclass
class Collection:
    """What `gc` chose (or would choose, in a dry run), what deleting each did, and what it could not read."""

    chosen: list[AppSummary]
    removals: list[Removal] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def gc(
    older_than: float,
    *,
    kube: KubeTarget | Connection | Cluster | None = None,
    engine: Engine | str = "auto",
    dry_run: bool = False,
    all_namespaces: bool = False,
    archive_logs: str | Path | None = None,
) -> Collection:
    """Delete apps that ended (or were orphaned) longer ago than their `ttl`, else than `older_than` seconds.

    Reads are O(1) in the number of apps: the driver pods and ConfigMaps (to choose), then one LIST
    per kind (to sweep). An app whose `ttl` cannot be read keeps `older_than` and is named in a warning.
    With `archive_logs`, each app's driver log and status are saved under DIR/<namespace>/<app>/ first
    (one more read per app); an app whose log cannot be saved is not deleted.
    """
    from sparkhelm.ops.inspect import list_apps
    from sparkhelm.spec.durations import parse_duration

    cluster = Cluster.of(kube)
    apps = list_apps(kube=cluster, all_namespaces=all_namespaces)
    warnings: list[str] = []

    def ttl_seconds(text: str) -> float | None:
        try:
            return parse_duration(text, "ttl")
        except UserError:
            warnings.append(f"ttl {text!r} of an app is not a duration; gc uses --older-than for it")
            return None

    chosen = collectable(apps, older_than, datetime.datetime.now(tz=datetime.UTC), ttl=ttl_seconds)
    if dry_run or not chosen:
        return Collection(chosen, warnings=warnings)
    if archive_logs is not None:
        chosen = _archived(cluster, chosen, Path(archive_logs), warnings)
        if not chosen:
            return Collection(chosen, warnings=warnings)
    before = inventory(cluster, None if all_namespaces else _scope([a.name for a in chosen]), everywhere=all_namespaces)
    keys = [(app.namespace, app.name) for app in chosen]
    return Collection(chosen, _remove(cluster, engine_of(engine), keys, before, None), warnings)


def _archived(cluster: Cluster, apps: list[AppSummary], directory: Path, warnings: list[str]) -> list[AppSummary]:
    """Save each app's driver log and status under DIR/<namespace>/; the apps whose record was kept."""
    from sparkhelm.ops.follow import Outcome, archive
    from sparkhelm.spec.naming import AppNames

    kept = []
    for app in apps:
        where = cluster.in_namespace(app.namespace)
        try:
            pod = where.pod(AppNames(app.name).driver_pod) or {}
            ran = bool(pod) and app.phase != "Pending"  # an orphan has no pod, hence no log: its status is kept
            archive(where, Outcome(app=app, pod=pod), directory / app.namespace, with_log=ran)
        except (SparkhelmError, OSError) as exc:
            warnings.append(f"{app.namespace}/{app.name}: its log could not be archived ({exc}); not deleted")
            continue
        kept.append(app)
    return kept
