"""Many apps at once, for scale tests and benchmarks: one real install, cloned N times.

Installing 1000 releases through Helm would take minutes, so one app is installed for real and
its Helm release record (gzip'd JSON in a Secret) and objects are copied under new names. The
copies are what Helm itself would have written, so `helm uninstall` of a copy works for real.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import json
from dataclasses import dataclass
from typing import Any

import yaml

from tests.harness.cluster import RESOURCES, RunningCluster


def _decode(secret: dict[str, Any]) -> dict[str, Any]:
    inner = base64.b64decode(base64.b64decode(secret["data"]["release"]))
    release: dict[str, Any] = json.loads(gzip.decompress(inner))
    return release


def _encode(release: dict[str, Any]) -> str:
    inner = base64.b64encode(gzip.compress(json.dumps(release).encode()))
    return base64.b64encode(inner).decode()


@dataclass
class _Source:
    """An installed app read once: its release record, its Secret and its objects, as JSON text."""

    secret: str
    release: str
    objects: str


def _source(cluster: RunningCluster, source: str, namespace: str) -> _Source:
    secret = cluster.get("Secret", f"sh.helm.release.v1.{source}.v1", namespace)
    assert secret is not None, f"{source} must be installed first"
    release = _decode(secret)
    objects = [o for o in yaml.safe_load_all(release["manifest"]) if o and o["kind"] in RESOURCES]
    return _Source(json.dumps(secret), json.dumps(release), json.dumps(objects))


def clone_app(cluster: RunningCluster, source: str | _Source, target: str, namespace: str, *, phase: str,
              ended_hours_ago: float = 0.0, name: str = "") -> None:
    """Copy app `source` (installed for real) as `target`, with the driver in `phase`."""
    original = name or (source if isinstance(source, str) else "")
    read = _source(cluster, source, namespace) if isinstance(source, str) else source
    release = json.loads(read.release.replace(original, target))
    copy = json.loads(read.secret.replace(original, target))
    copy["data"]["release"] = _encode(release)
    for key in ("uid", "resourceVersion", "creationTimestamp"):
        copy["metadata"].pop(key, None)
    objects = [copy]
    ended = datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(hours=ended_hours_ago)
    stamp = ended.strftime("%Y-%m-%dT%H:%M:%SZ")
    for obj in json.loads(read.objects.replace(original, target)):
        obj["metadata"]["namespace"] = namespace
        if obj["kind"] == "Pod":
            obj["metadata"]["creationTimestamp"] = stamp
            state = {"terminated": {"exitCode": 0 if phase == "Succeeded" else 1, "finishedAt": stamp}} \
                if phase in ("Succeeded", "Failed") else {"running": {"startedAt": stamp}}
            obj["status"] = {"phase": phase, "containerStatuses": [
                {"name": "driver", "ready": phase == "Running", "restartCount": 0, "image": "spark",
                 "imageID": "sha256:0", "state": state}]}
        objects.append(obj)
    cluster.seed_many(objects, quiet=True)


def seed_fleet(cluster: RunningCluster, source: str, count: int, namespace: str = "default",
               old_finished: int = 0) -> list[str]:
    """`count` copies of `source`: the first `old_finished` ended 3h ago, the rest are Running."""
    names = []
    read = _source(cluster, source, namespace)
    for index in range(count):
        name = f"fleet-{index:04d}"
        old = index < old_finished
        clone_app(cluster, read, name, namespace, phase="Succeeded" if old else "Running",
                  ended_hours_ago=3 if old else 0, name=source)
        names.append(name)
    return names
