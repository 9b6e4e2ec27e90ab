"""The naming contract: the app-name rule, generated names, and the name of every object of an app.

The chart decides object names (templates/_names.tpl); this module is their one Python owner, and
tests/test_naming_contract.py renders the chart for many app names and checks every object against it.

An app-name is a DNS-1035 label of at most 47 characters (Spark's executor pod name prefix limit),
so `<app>-driver-svc` and `<app>-ui-ingress` stay under 63 and the name is also a valid Helm
release name. Generated names are `<base>[-<priorityClass>]-<suffix>`: the suffix is random
(10 characters of [a-z0-9], over 51 bits, from `secrets`) and is never truncated; the base is.
Ten rather than eight characters: with 41 bits, 100,000 names drawn for one base would collide
with a chance of about 1 in 550; with 51 bits it is about 1 in 700,000.
"""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

from sparkhelm.errors import UserError

MAX_APP_NAME = 47
SUFFIX_LENGTH = 10
SUFFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
DEFAULT_BASE = "spark"

_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def app_name_problem(name: str) -> str | None:
    """Why `name` is not a valid app-name, or None when it is."""
    if not name:
        return "it is empty"
    if len(name) > MAX_APP_NAME:
        return f"it has {len(name)} characters, the limit is {MAX_APP_NAME}"
    if not _DNS_1035.match(name):
        return (
            "it must be a DNS-1035 label: lowercase letters, digits and '-', "
            "starting with a letter and ending with a letter or digit"
        )
    return None


def validate_app_name(name: str, *, source: str = "--name") -> str:
    """Return `name` if it is a valid app-name; raise UserError naming `source` otherwise."""
    problem = app_name_problem(name)
    if problem:
        raise UserError(f"{source} {name!r} is not a valid app name: {problem}")
    return name


def validate_namespace(namespace: str, *, source: str = "-n/--namespace") -> str:
    """Return `namespace` if Kubernetes would accept it (a DNS-1123 label); raise UserError otherwise."""
    if len(namespace) > 63 or not _DNS_1123_LABEL.match(namespace):
        raise UserError(
            f"{source} {namespace!r} is not a valid namespace: use at most 63 lowercase letters, "
            "digits and '-', starting and ending with a letter or digit"
        )
    return namespace


def sanitize(text: str) -> str:
    """Turn any text into a DNS-1035-friendly fragment: lowercase, [a-z0-9-], starting with a letter.

    Returns "" when nothing usable is left.
    """
    fragment = re.sub(r"[^a-z0-9]+", "-", text.lower())
    fragment = re.sub(r"^[^a-z]+", "", fragment)
    return fragment.strip("-")


def random_suffix(length: int = SUFFIX_LENGTH) -> str:
    """A random suffix from the OS's CSPRNG."""
    import secrets  # deferred: it imports hashlib and hmac (7 ms), and an exact --name needs no suffix

    return "".join(secrets.choice(SUFFIX_ALPHABET) for _ in range(length))


def _fit(fragment: str, budget: int) -> str:
    return fragment[:budget].rstrip("-")


def generate_app_name(base: str, priority_class: str = "", *, suffix: str | None = None) -> str:
    """A unique app-name `<base>[-<priorityClass>]-<suffix>` of at most 47 characters.

    The suffix is kept whole; the priority class keeps as much as it can while the base keeps at
    least a few characters; the base is cut last. An unusable base becomes "spark".
    """
    suffix = suffix if suffix is not None else random_suffix()
    clean_base = sanitize(base) or DEFAULT_BASE
    clean_priority = sanitize(priority_class) if priority_class else ""
    budget = MAX_APP_NAME - len(suffix) - 1
    if clean_priority:
        min_base = min(len(clean_base), 8)
        clean_priority = _fit(clean_priority, budget - min_base - 1)
    if clean_priority:
        clean_base = _fit(clean_base, budget - len(clean_priority) - 1)
        name = f"{clean_base}-{clean_priority}-{suffix}"
    else:
        name = f"{_fit(clean_base, budget)}-{suffix}"
    return validate_app_name(name, source="generated name")


def default_base(app_name: str, main_application_file: str, main_class: str) -> str:
    """The base of a generated name: `app.name`, else the main class, else the application file's stem."""
    if app_name:
        return app_name
    if main_class:
        return main_class.rsplit(".", 1)[-1]
    if main_application_file:
        stem = main_application_file.rstrip("/").rsplit("/", 1)[-1]
        return stem.rsplit(".", 1)[0] if "." in stem else stem
    return DEFAULT_BASE


#: The chart's name: the `app.kubernetes.io/name` label of every object it renders.
CHART_NAME = "spark-client-app"
#: Every object of every app of this chart (executor pods carry it too, from the pod template).
CHART_SELECTOR = f"app.kubernetes.io/name={CHART_NAME}"
#: The driver pods of every app: the apps themselves, as `list` reads them.
DRIVER_SELECTOR = f"{CHART_SELECTOR},spark-role=driver"
#: The longest suffix the chart adds to an app-name (`-driver-netpol`): 47 + 16 <= 63, no truncation.
MAX_SUFFIX = 16
#: The longest CronJob name of a scheduled app: its runs' driver pods are `<cronjob>-<8 digits>-<5 chars>`,
#: and that pod name is the run's executor name prefix (at most MAX_APP_NAME).
MAX_CRON_JOB_NAME = MAX_APP_NAME - len("-12345678-abcde")
#: App-names up to this long keep their CronJob name `<app>-cron`; longer ones are cut and hashed.
_CRON_KEEPS_NAME = MAX_CRON_JOB_NAME - len("-cron")


def run_executor_pod(run_pod: str, executor_id: int | str) -> str:
    """Executor `executor_id` of a scheduled run: its prefix is the run's driver pod name (templates/_schedule.tpl)."""
    return f"{run_pod}-exec-{executor_id}"


class AppNames(NamedTuple):
    """The objects of one app, by the names the chart gives them with default values."""

    app: str

    @property
    def driver_pod(self) -> str:
        """The driver Pod (`spark.kubernetes.driver.pod.name`)."""
        return f"{self.app}-driver"

    @property
    def driver_service(self) -> str:
        """The headless Service executors reach the driver through (`spark.driver.host`)."""
        return f"{self.app}-driver-svc"

    @property
    def ui_service(self) -> str:
        """The Spark UI Service."""
        return f"{self.app}-ui-svc"

    @property
    def ui_ingress(self) -> str:
        """The Spark UI Ingress."""
        return f"{self.app}-ui-ingress"

    @property
    def ui_route(self) -> str:
        """The Gateway API HTTPRoute of the Spark UI."""
        return f"{self.app}-ui-route"

    @property
    def connect_service(self) -> str:
        """The Service of the Spark Connect server (connect mode): `sc://<it>.<namespace>.svc:<port>`."""
        return f"{self.app}-connect-svc"

    @property
    def connect_route(self) -> str:
        """The Gateway API GRPCRoute of the Spark Connect server."""
        return f"{self.app}-connect-route"

    @property
    def config_map(self) -> str:
        """spark-defaults.conf, spark-env.sh and the executor pod template."""
        return f"{self.app}-cm"

    @property
    def rpc_secret(self) -> str:
        """The Secret with the shared secret of Spark's RPC authentication (unless security.rpc.existingSecret)."""
        return f"{self.app}-rpc-secret"

    @property
    def pod_group(self) -> str:
        """The Volcano PodGroup."""
        return f"{self.app}-podgroup"

    @property
    def driver_network_policy(self) -> str:
        """The NetworkPolicy of the driver pod."""
        return f"{self.app}-driver-netpol"

    @property
    def executor_network_policy(self) -> str:
        """The NetworkPolicy of the executor pods."""
        return f"{self.app}-exec-netpol"

    @property
    def driver_role(self) -> str:
        """The driver's Role and RoleBinding (same name)."""
        return f"{self.app}-driver"

    @property
    def driver_service_account(self) -> str:
        """The driver's ServiceAccount when the chart creates it."""
        return f"{self.app}-driver"

    @property
    def executor_service_account(self) -> str:
        """The executors' ServiceAccount when the chart creates it."""
        return f"{self.app}-executor"

    @property
    def pod_monitor(self) -> str:
        """The Prometheus Operator PodMonitor of the driver's metrics."""
        return f"{self.app}-metrics"

    @property
    def executor_group(self) -> str:
        """The executors' scheduling group: the native PodGroup or Workload (scheduler.gang), the Kueue pod group."""
        return f"{self.app}-executors"

    @property
    def ui_tls_secret(self) -> str:
        """The default Secret of the UI Ingress' certificate."""
        return f"{self.app}-ui-tls"

    @property
    def cron_job(self) -> str:
        """The CronJob of a scheduled app (schedule.cron): `<app>-cron`, cut and hashed past 27 characters.

        Its runs' driver pods are `<cronjob>-<minutes>-<5 chars>` (the CronJob and Job controllers name
        them), and each run's executor prefix is that pod name: at most 47 characters, so the CronJob
        name has at most 32 (templates/_names.tpl says the same).
        """
        if len(self.app) <= _CRON_KEEPS_NAME:
            return f"{self.app}-cron"
        digest = hashlib.sha256(self.app.encode()).hexdigest()[:6]
        return f"{self.app[:20].strip('-')}-{digest}-cron"

    @property
    def driver_selector(self) -> str:
        """The driver pods of this app: the one driver, or every run of a schedule."""
        return f"{self.selector},spark-role=driver"

    @property
    def executor_prefix(self) -> str:
        """`spark.kubernetes.executor.podNamePrefix`: executors are `<prefix>-exec-<id>`."""
        return self.app

    def executor_pod(self, executor_id: int | str) -> str:
        """The pod of executor `executor_id` (1, 2, ...)."""
        return f"{self.executor_prefix}-exec-{executor_id}"

    @property
    def selector(self) -> str:
        """Every object of this app, executor pods included."""
        return f"{CHART_SELECTOR},app-name={self.app}"

    @property
    def executor_selector(self) -> str:
        """The executor pods of this app."""
        return f"{self.selector},spark-role=executor"
