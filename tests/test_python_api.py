"""The Python API as a library user meets it: `api.run` end to end, and the Airflow example of docs/python-api.md."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from sparkhelm import api
from sparkhelm.errors import SparkhelmError, UserError
from sparkhelm.kube.connection import KubeTarget
from tests.conftest import ROOT, VALUES_DIR
from tests.harness import DriverScript, RunningCluster

PI = str(VALUES_DIR / "pyspark-pi.yaml")
DOC = (ROOT / "docs" / "python-api.md").read_text()


def test_run_without_wait_returns_the_submission(cluster: RunningCluster) -> None:
    result = api.run(api.Inputs(values_files=[PI], name="lib-submit"))
    assert result.succeeded is None and result.outcome is None and not result.deleted
    assert (result.submission.app_name, result.submission.namespace) == ("lib-submit", "default")
    assert cluster.get("Pod", "lib-submit-driver") is not None


def test_run_wait_cleanup_archive(cluster: RunningCluster, tmp_path: Path) -> None:
    lines: list[str] = []
    notices: list[str] = []
    result = api.run(
        api.Inputs(values_files=[PI], name="lib-tidy"),
        logs=True, cleanup=True, archive_logs=tmp_path, echo=lines.append, notice=notices.append,
    )
    assert result.succeeded is True and result.deleted
    assert "Pi is roughly 3.14159" in lines and "driver lib-tidy-driver: Succeeded" in notices
    assert [p.name for p in result.archived] == ["driver.log", "status.json"]
    assert cluster.names("Pod") == [] and cluster.names("Secret") == []


def test_a_failed_app_is_a_result_not_an_exception(cluster: RunningCluster) -> None:
    cluster.kubelet.scripts["lib-bad"] = DriverScript(outcome="Failed", exit_code=3, message="boom")
    result = api.run(api.Inputs(values_files=[PI], name="lib-bad"), wait=True, notice=lambda _: None)
    assert result.succeeded is False
    assert result.outcome is not None and (result.outcome.app.exit_code, result.outcome.app.message) == (3, "boom")


def test_bad_input_raises_user_error_before_the_cluster(cluster: RunningCluster) -> None:
    with pytest.raises(UserError) as caught:
        api.run(api.Inputs(values_files=[PI], sets=["executor.memory=lots"], name="lib-x"), wait=True)
    assert caught.value.exit_code == 2 and "executor.memory" in str(caught.value)
    assert isinstance(caught.value, SparkhelmError)
    assert [m for m, p in cluster.requests() if m != "GET"] == []


def _airflow_stubs(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Just enough of Airflow for the example: @dag builds, @task records, AirflowException."""
    tasks: list[Any] = []

    def dag(**_: Any) -> Any:
        return lambda build: build

    def task(function: Any) -> Any:
        tasks.append(function)
        return lambda *a, **k: None

    class AirflowException(Exception):  # noqa: N818 - Airflow's name
        pass

    decorators = types.ModuleType("airflow.decorators")
    decorators.dag, decorators.task = dag, task  # type: ignore[attr-defined]
    exceptions = types.ModuleType("airflow.exceptions")
    exceptions.AirflowException = AirflowException  # type: ignore[attr-defined]
    pendulum = types.ModuleType("pendulum")
    pendulum.datetime = lambda *a, **k: None  # type: ignore[attr-defined]
    for name, module in {"airflow": types.ModuleType("airflow"), "airflow.decorators": decorators,
                         "airflow.exceptions": exceptions, "pendulum": pendulum}.items():
        monkeypatch.setitem(sys.modules, name, module)
    return tasks


def test_the_airflow_example_runs_an_app_to_its_end(cluster: RunningCluster, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code = re.search(r"## From an Airflow task.*?```python\n(.*?)```", DOC, re.S)
    assert code, "docs/python-api.md has the Airflow example"
    source = code.group(1).replace("/opt/airflow/dags/spark/prod.yaml", PI)
    cluster.add_namespace("spark-jobs")
    tasks = _airflow_stubs(monkeypatch)
    exec(compile(source, "airflow-example", "exec"), {"__name__": "dag_file"})  # noqa: S102 - our own doc
    (nightly_etl,) = tasks
    assert nightly_etl(ts_nodash="20261121T020000") == "nightly-etl-20261121-020000"
    assert "Pi is roughly 3.14159" in capsys.readouterr().out  # the driver log, in the task log
    assert cluster.names("Pod", "spark-jobs") == []  # cleanup
    cluster.kubelet.scripts["nightly-etl-20261122-020000"] = DriverScript(outcome="Failed", exit_code=1, message="oom")
    with pytest.raises(Exception, match="nightly-etl-20261122-020000 failed \\(exit code 1\\): oom") as caught:
        nightly_etl(ts_nodash="20261122T020000")
    assert type(caught.value).__name__ == "AirflowException"


def test_the_api_documents_every_function_it_offers() -> None:
    for name in ("values", "explain", "render", "render_many", "dry_run", "run", "submit", "follow", "status",
                 "list_apps", "logs", "delete", "gc"):
        assert callable(getattr(api, name)) and f"`{name}(" in DOC, name
    assert KubeTarget().namespace is None
