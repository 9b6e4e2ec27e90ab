"""A simulated kubelet and Spark driver: what happens to a driver pod after sparkhelm creates it.

Tests choose a `DriverScript` per app (or a default): how long the pod stays Pending, which log
lines the driver prints, how many executor pods it creates (owned by the driver pod, as Spark does),
and whether it ends Succeeded or Failed (with an exit code and termination message).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kmock import resource

from tests.harness.emulator import PODS, merge_patch, now

if TYPE_CHECKING:
    from tests.harness.emulator import ClusterEmulator


@dataclass
class DriverScript:
    """The life of one simulated driver pod."""

    outcome: str = "Succeeded"  # Succeeded | Failed | Running (never ends) | Pending (never starts) | Waiting | CrashLoop
    #: With outcome Failed: the pod's own reason and message, as a node sets them (Evicted, NodeLost), else none
    pod_reason: str = ""
    pod_message: str = ""
    #: With outcome Waiting: the container's waiting reason and message (ImagePullBackOff, CreateContainerConfigError)
    waiting: tuple[str, str] = ("ImagePullBackOff", 'Back-off pulling image "apache/spark:nope"')
    log: list[str] = field(default_factory=lambda: ["Pi is roughly 3.14159", "SparkContext stopped"])
    exit_code: int | None = None
    message: str = ""
    executors: int = 2
    start_after: float = 0.05
    run_for: float = 0.15
    #: Seconds from the container's start until its readiness probe passes (a Spark Connect server's
    #: TCP probe on its gRPC port); None: it never does. 0: Ready as soon as it runs (no probe).
    ready_after: float | None = 0.0
    #: With outcome CrashLoop: how often the container exits (exit_code, message) and is restarted,
    #: before the kubelet backs off (waiting CrashLoopBackOff).
    crashes: int = 2


def _conditions(started: str, *, ready: bool) -> list[dict[str, Any]]:
    """A started pod's conditions as the kubelet reports them: Ready while its container runs, then
    `PodCompleted` (Helm's legacy `--wait` looks for Ready=True and nothing else)."""
    readiness = {"status": "True"} if ready else {"status": "False", "reason": "PodCompleted"}
    return [
        {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": started},
        {"type": "Initialized", "status": "True", "lastTransitionTime": started},
        {"type": "Ready", **readiness, "lastTransitionTime": now()},
        {"type": "ContainersReady", **readiness, "lastTransitionTime": now()},
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
    ]


class Kubelet:
    """Moves driver pods through their phases and plays their scripts."""

    def __init__(self, emulator: ClusterEmulator) -> None:
        self.emulator = emulator
        self.default = DriverScript()
        self.scripts: dict[str, DriverScript | list[DriverScript]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        emulator.on_change.append(self._changed)

    def _changed(self, event: str, res: resource, obj: dict[str, Any]) -> None:
        labels = obj.get("metadata", {}).get("labels") or {}
        if event == "ADDED" and res == PODS and labels.get("spark-role") == "driver":
            task = asyncio.get_running_loop().create_task(self._run(obj))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _update(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any] | None:
        emu = self.emulator
        async with emu._lock:
            current = emu._live(PODS, namespace, name)
            if current is None:
                return None
            merged: dict[str, Any] = merge_patch(current, patch)
            await emu._store(PODS, namespace, merged, "MODIFIED")
            return merged

    async def _run(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        app = (meta.get("labels") or {}).get("app-name", name)
        script = self.scripts.get(app, self.default)
        if isinstance(script, list):  # one script per attempt of the same app name
            script = script.pop(0) if len(script) > 1 else script[0]
        container = pod["spec"]["containers"][0]["name"]
        if script.outcome == "Waiting":  # scheduled, but the container cannot be created
            await asyncio.sleep(script.start_after)
            reason, message = script.waiting
            await self._update(namespace, name, {"status": {
                "phase": "Pending",
                "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now()}],
                "containerStatuses": [{"name": container, "ready": False, "restartCount": 0, "image": "",
                                       "imageID": "", "state": {"waiting": {"reason": reason, "message": message}}}],
            }})
            return
        if script.outcome == "Pending":
            await self._update(
                namespace,
                name,
                {
                    "status": {
                        "phase": "Pending",
                        "conditions": [
                            {
                                "type": "PodScheduled",
                                "status": "False",
                                "reason": "Unschedulable",
                                "message": "0/3 nodes are available: 3 Insufficient cpu.",
                            }
                        ],
                    }
                },
            )
            return
        await asyncio.sleep(script.start_after)
        started = now()
        image = {"image": pod["spec"]["containers"][0].get("image", ""), "imageID": "sha256:0123456789abcdef"}
        if script.outcome == "CrashLoop":
            await self._crash_loop(namespace, name, container, script, started, image)
            return
        if script.ready_after != 0.0:  # a readiness probe: Running, not Ready until it passes
            await self._ready_later(namespace, name, container, script, started, image)
        running = await self._update(
            namespace,
            name,
            {} if script.ready_after != 0.0 else {
                "status": {
                    "phase": "Running",
                    "podIP": "10.244.0.17",
                    "startTime": started,
                    "conditions": _conditions(started, ready=True),
                    "containerStatuses": [
                        {
                            "name": container,
                            "ready": True,
                            "restartCount": 0,
                            **image,
                            "state": {"running": {"startedAt": started}},
                        }
                    ],
                }
            },
        )
        if running is None:
            return
        uid = running["metadata"]["uid"]
        executors = [f"{app}-exec-{index}" for index in range(1, script.executors + 1)]
        for executor in executors:
            async with self.emulator._lock:
                await self.emulator._create(
                    PODS,
                    namespace,
                    {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "metadata": {
                            "name": executor,
                            "labels": {
                                # what Spark copies from the executor pod template
                                "app.kubernetes.io/name": "spark-client-app",
                                "app-name": app,
                                "spark-role": "executor",
                                "spark-exec-id": executor.rsplit("-", 1)[1],
                            },
                            "ownerReferences": [
                                {"apiVersion": "v1", "kind": "Pod", "name": name, "uid": uid, "controller": True}
                            ],
                        },
                        "spec": {"containers": [{"name": "spark-kubernetes-executor", "image": "spark"}]},
                        "status": {"phase": "Running"},
                    },
                )
        for line in script.log:
            await asyncio.sleep(script.run_for / max(len(script.log), 1))
            key = (namespace, name)
            self.emulator.logs[key] = self.emulator.logs.get(key, "") + line + "\n"
        if script.outcome == "Running":
            return
        for executor in executors:  # Spark deletes its executors when the SparkContext stops
            async with self.emulator._lock:
                if self.emulator._live(PODS, namespace, executor) is not None:
                    await self.emulator._remove(PODS, namespace, executor)
        failed = script.outcome == "Failed"
        exit_code = script.exit_code if script.exit_code is not None else (1 if failed else 0)
        terminated = {
            "exitCode": exit_code,
            "reason": "Error" if failed else "Completed",
            "startedAt": started,
            "finishedAt": now(),
        }
        if script.message:
            terminated["message"] = script.message
        await self._update(
            namespace,
            name,
            {
                "status": {
                    "phase": script.outcome,
                    **({"reason": script.pod_reason, "message": script.pod_message} if script.pod_reason else {}),
                    "conditions": _conditions(started, ready=False),
                    "containerStatuses": [
                        {"name": container, "ready": False, "restartCount": 0, **image, "state": {"terminated": terminated}}
                    ],
                }
            },
        )

    async def _ready_later(self, namespace: str, name: str, container: str, script: DriverScript, started: str,
                           image: dict[str, str]) -> None:
        """Running but not Ready (the readiness probe has not passed yet); Ready after `ready_after`, if ever."""
        status = {
            "phase": "Running", "podIP": "10.244.0.17", "startTime": started,
            "conditions": _conditions(started, ready=False),
            "containerStatuses": [{"name": container, "ready": False, "restartCount": 0, "started": True, **image,
                                   "state": {"running": {"startedAt": started}}}],
        }
        for condition in status["conditions"]:
            condition.pop("reason", None)
        await self._update(namespace, name, {"status": status})
        if script.ready_after is None:
            await asyncio.Event().wait()  # never ready; cancelled with the emulator
        await asyncio.sleep(script.ready_after)
        status["conditions"] = _conditions(started, ready=True)
        status["containerStatuses"][0]["ready"] = True
        await self._update(namespace, name, {"status": status})

    async def _crash_loop(self, namespace: str, name: str, container: str, script: DriverScript, started: str,
                          image: dict[str, str]) -> None:
        """A container that exits and is restarted in the same pod (restartPolicy Always) until the kubelet backs off."""
        code = script.exit_code if script.exit_code is not None else 1
        await self._update(namespace, name, {"status": {
            "phase": "Running", "podIP": "10.244.0.17", "startTime": started,
            "conditions": _conditions(started, ready=False),
            "containerStatuses": [{"name": container, "ready": False, "restartCount": 0, **image,
                                   "state": {"running": {"startedAt": started}}}],
        }})
        for restarts in range(script.crashes):
            await asyncio.sleep(script.run_for)
            last = {"terminated": {"exitCode": code, "reason": "Error", "message": script.message,
                                   "startedAt": started, "finishedAt": now()}}
            started = now()
            last_restart = restarts + 1 == script.crashes
            state = ({"waiting": {"reason": "CrashLoopBackOff",
                                  "message": f"back-off 10s restarting failed container={container} pod={name}"}}
                     if last_restart else {"running": {"startedAt": started}})
            await self._update(namespace, name, {"status": {
                "phase": "Running", "podIP": "10.244.0.17", "startTime": started,
                "conditions": _conditions(started, ready=False),
                "containerStatuses": [{"name": container, "ready": False, "restartCount": restarts + 1, **image,
                                       "lastState": last, "state": state}],
            }})
