"""The CronJob and Job controllers of kube-controller-manager, for the API emulator (test code only).

The emulator stores CronJobs and Jobs but, like any API server, runs nothing: in a cluster the
controller manager turns a CronJob into Jobs and a Job into pods. `BatchControllers` does what
scheduled Spark runs rely on, the way the real controllers do it:

- CronJob (on `tick(namespace, name, at)`, the test's clock): unless suspended, a Job named
  `<cronjob>-<minutes since 1970 of the scheduled time>` from `spec.jobTemplate` (its labels and
  annotations, an ownerReference to the CronJob, the `batch.kubernetes.io/cronjob-scheduled-timestamp`
  annotation); `concurrencyPolicy` Forbid skips the tick while a run is active, Replace deletes the
  active runs first, Allow starts another; `status.active` and `lastScheduleTime`, later
  `lastSuccessfulTime`; finished Jobs beyond `successfulJobsHistoryLimit` / `failedJobsHistoryLimit`
  are deleted, oldest first.
- Job: a pod from `spec.template` with `generateName: <job>-` (the API server appends 5 characters),
  the template's labels plus `batch.kubernetes.io/job-name` and `controller-uid` (and their legacy
  twins), an ownerReference to the Job (controller, blockOwnerDeletion); status from the pod's phase
  (`active`, `succeeded`, `failed`, the Complete or Failed condition); a failed pod is replaced by a new
  one while fewer than `backoffLimit` have failed; `ttlSecondsAfterFinished` deletes the finished Job.
Deleting a Job or CronJob takes its dependents along through the emulator's garbage collector
(ownerReferences), as in a cluster with background propagation.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
from typing import TYPE_CHECKING, Any

from kmock import resource

from tests.harness.emulator import PODS, merge_patch, now

if TYPE_CHECKING:
    from tests.harness.cluster import RunningCluster

Obj = dict[str, Any]
CRONJOBS = resource("batch", "v1", "cronjobs")
JOBS = resource("batch", "v1", "jobs")
TERMINAL = ("Succeeded", "Failed")


def _rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner(obj: Obj, kind: str) -> Obj:
    meta = obj["metadata"]
    return {"apiVersion": "batch/v1", "kind": kind, "name": meta["name"], "uid": meta["uid"],
            "controller": True, "blockOwnerDeletion": True}


def _owned_by(obj: Obj, kind: str) -> Obj | None:
    return next((ref for ref in obj.get("metadata", {}).get("ownerReferences") or [] if ref.get("kind") == kind), None)


def _finished(job: Obj) -> str | None:
    """"Complete" or "Failed" once the Job has ended, else None."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return str(condition["type"])
    return None


class BatchControllers:
    """CronJob and Job controllers on one RunningCluster; see the module docstring."""

    def __init__(self, cluster: RunningCluster) -> None:
        self.cluster = cluster
        self.emulator = cluster.emulator
        self.tasks: set[asyncio.Task[None]] = set()
        #: Job uid -> uids of its pods already counted as succeeded or failed (the real one uses finalizers)
        self._counted: dict[str, set[str]] = {}
        #: faults of the controllers themselves (tests assert there are none)
        self.errors: list[str] = []
        self.emulator.on_change.append(self._changed)

    def close(self) -> None:
        """Stop reacting (pending TTL deletions are cancelled)."""
        if self._changed in self.emulator.on_change:
            self.emulator.on_change.remove(self._changed)

        async def cancel() -> None:
            for task in list(self.tasks):
                task.cancel()

        self.cluster.call(cancel())

    # --- the CronJob controller ---------------------------------------------------------------

    def tick(self, namespace: str, name: str, at: datetime.datetime | None = None) -> str | None:
        """The CronJob's schedule fires at `at` (now): the name of the Job it starts, or None when it starts none."""
        return self.cluster.call(self._tick(namespace, name, at or datetime.datetime.now(tz=datetime.UTC)))

    async def _tick(self, namespace: str, name: str, at: datetime.datetime) -> str | None:
        emu = self.emulator
        async with emu._lock:
            cron = emu._live(CRONJOBS, namespace, name)
            if cron is None:
                raise AssertionError(f"no CronJob {namespace}/{name}")
            spec = cron["spec"]
            if spec.get("suspend"):
                return None
            active = [ref for ref in (cron.get("status") or {}).get("active") or []
                      if emu._live(JOBS, namespace, ref["name"]) is not None]
            policy = spec.get("concurrencyPolicy") or "Allow"
            if active and policy == "Forbid":
                return None
            if policy == "Replace":
                for ref in active:
                    await emu._remove(JOBS, namespace, ref["name"])
                active = []
            template = copy.deepcopy(spec["jobTemplate"])
            job_name = f"{name}-{int(at.timestamp()) // 60}"
            metadata = template.get("metadata") or {}
            job = {
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": {
                    "name": job_name, "namespace": namespace,
                    "labels": dict(metadata.get("labels") or {}),
                    "annotations": {**(metadata.get("annotations") or {}),
                                    "batch.kubernetes.io/cronjob-scheduled-timestamp": _rfc3339(at)},
                    "ownerReferences": [_owner(cron, "CronJob")],
                },
                "spec": template["spec"],
            }
            response = await emu._create(JOBS, namespace, job)
            if response.status != 201:
                raise AssertionError(f"the CronJob controller could not create Job {job_name}: {response.text}")
            created = emu._live(JOBS, namespace, job_name)
            assert created is not None
            ref = {"apiVersion": "batch/v1", "kind": "Job", "name": job_name, "namespace": namespace,
                   "uid": created["metadata"]["uid"]}
            status = {**(cron.get("status") or {}), "active": [*active, ref], "lastScheduleTime": _rfc3339(at)}
            await emu._store(CRONJOBS, namespace, {**cron, "status": status}, "MODIFIED")
            return job_name

    async def _job_ended(self, namespace: str, job: Obj, outcome: str) -> None:
        """The CronJob's bookkeeping when one of its Jobs ended: status, then the history limits."""
        emu = self.emulator
        owner = _owned_by(job, "CronJob")
        if owner is None:
            return
        cron = emu._live(CRONJOBS, namespace, owner["name"])
        if cron is None:
            return
        status = dict(cron.get("status") or {})
        status["active"] = [ref for ref in status.get("active") or [] if ref["name"] != job["metadata"]["name"]]
        if outcome == "Complete":
            status["lastSuccessfulTime"] = now()
        await emu._store(CRONJOBS, namespace, {**cron, "status": status}, "MODIFIED")
        spec = cron["spec"]
        limits = {"Complete": spec.get("successfulJobsHistoryLimit", 3), "Failed": spec.get("failedJobsHistoryLimit", 1)}
        uid = cron["metadata"]["uid"]
        finished: dict[str, list[Obj]] = {"Complete": [], "Failed": []}
        for (res, ns, _), stored in list(emu._objects.items()):
            if res != JOBS or ns != namespace or stored.deleted:
                continue
            other = stored.raw
            ended = _finished(other)
            if ended and (_owned_by(other, "CronJob") or {}).get("uid") == uid:
                finished[ended].append(other)
        for ended, jobs in finished.items():
            jobs.sort(key=lambda j: ((j.get("status") or {}).get("completionTime") or "", j["metadata"]["name"]))
            for old in jobs[: max(0, len(jobs) - int(limits[ended]))]:
                await emu._remove(JOBS, namespace, old["metadata"]["name"])

    # --- the Job controller -------------------------------------------------------------------

    def _changed(self, event: str, res: resource, obj: Obj) -> None:
        if res == JOBS and event == "ADDED":
            self._spawn(self._start_pod(obj["metadata"]["namespace"], obj["metadata"]["name"]))
        elif res == PODS and event == "MODIFIED" and _owned_by(obj, "Job") is not None:
            phase = (obj.get("status") or {}).get("phase")
            if phase == "Running" or phase in TERMINAL:
                self._spawn(self._pod_changed(obj["metadata"]["namespace"], copy.deepcopy(obj)))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(self._guarded(coro))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _guarded(self, coro: Any) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - a controller fault is reported to the test, never lost
            self.errors.append(repr(error))

    async def _start_pod(self, namespace: str, job_name: str) -> None:
        emu = self.emulator
        async with emu._lock:
            job = emu._live(JOBS, namespace, job_name)
            if job is None or _finished(job):
                return
            template = copy.deepcopy(job["spec"]["template"])
            meta = template.get("metadata") or {}
            uid = job["metadata"]["uid"]
            labels = {**(meta.get("labels") or {}), "batch.kubernetes.io/controller-uid": uid,
                      "batch.kubernetes.io/job-name": job_name, "controller-uid": uid, "job-name": job_name}
            pod = {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"generateName": f"{job_name}-", "namespace": namespace, "labels": labels,
                             "annotations": dict(meta.get("annotations") or {}),
                             "ownerReferences": [_owner(job, "Job")]},
                "spec": template["spec"],
            }
            response = await emu._create(PODS, namespace, pod)
            if response.status != 201:
                raise AssertionError(f"the Job controller could not create a pod of {job_name}: {response.text}")
            status = {**(job.get("status") or {}), "active": 1}
            status.setdefault("startTime", now())
            await emu._store(JOBS, namespace, {**job, "status": status}, "MODIFIED")

    async def _pod_changed(self, namespace: str, pod: Obj) -> None:
        emu = self.emulator
        owner = _owned_by(pod, "Job")
        assert owner is not None
        phase = pod["status"]["phase"]
        async with emu._lock:
            job = emu._live(JOBS, namespace, owner["name"])
            if job is None or job["metadata"]["uid"] != owner["uid"] or _finished(job):
                return
            status = dict(job.get("status") or {})
            if phase == "Running":
                status["ready"] = 1
                await emu._store(JOBS, namespace, {**job, "status": status}, "MODIFIED")
                return
            counted = self._counted.setdefault(owner["uid"], set())
            if pod["metadata"]["uid"] in counted:
                return
            counted.add(pod["metadata"]["uid"])
            key = "succeeded" if phase == "Succeeded" else "failed"
            status[key] = int(status.get(key, 0)) + 1
            status.update(active=0, ready=0)
            retry = phase == "Failed" and status["failed"] <= int(job["spec"].get("backoffLimit", 6))
            outcome = None
            if not retry:
                outcome = "Complete" if phase == "Succeeded" else "Failed"
                condition: Obj = {"type": outcome, "status": "True", "lastTransitionTime": now()}
                if outcome == "Failed":
                    condition.update(reason="BackoffLimitExceeded", message="Job has reached the specified backoff limit")
                status["conditions"] = [*(status.get("conditions") or []), condition]
                if outcome == "Complete":
                    status["completionTime"] = now()
            merged = merge_patch(job, {"status": status})
            await emu._store(JOBS, namespace, merged, "MODIFIED")
            if outcome is not None:
                await self._job_ended(namespace, merged, outcome)
        if retry:
            await self._start_pod(namespace, owner["name"])
        elif (ttl := job["spec"].get("ttlSecondsAfterFinished")) is not None:
            self._spawn(self._expire(namespace, owner["name"], owner["uid"], float(ttl)))

    async def _expire(self, namespace: str, name: str, uid: str, seconds: float) -> None:
        """ttlSecondsAfterFinished: the finished Job is deleted (with its pod, and the pod's executors)."""
        await asyncio.sleep(seconds)
        async with self.emulator._lock:
            job = self.emulator._live(JOBS, namespace, name)
            if job is not None and job["metadata"]["uid"] == uid:
                await self.emulator._remove(JOBS, namespace, name)
