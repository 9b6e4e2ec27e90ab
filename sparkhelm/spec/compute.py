"""From the user's values files and flags to the chart values of one application.

Steps, in order: merge the user's layers (spec.layers), check them over the chart's defaults
against the schema (spec.schema), and only then derive what sparkhelm decides: the app-name
(`--name`, else `nameOverride`, else a unique generated one) and the shared secret of Spark's RPC
authentication (`security.rpc.secret`, generated unless given or taken from an existing Secret).
Everything else is the chart's to derive from values (node affinity, the UI path, the Spark
configuration), so an ops user's `helm install` and `sparkhelm run` compute it in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from sparkhelm.chart.files import shared_default_values
from sparkhelm.spec import naming, schema
from sparkhelm.spec.layers import Values, coalesce, get, merge, user_values

#: The generated secret: letters and digits, as the chart's own `randAlphaNum` fallback makes them.
#: 64 characters of 62 are about 381 bits, well over the 256 Spark generates itself.
RPC_SECRET_LENGTH = 64
RPC_SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


class AppValues(NamedTuple):
    """The computed values of one application: what `sparkhelm values` prints and the engine renders."""

    app_name: str
    values: Values


def choose_app_name(effective: Values, name: str | None) -> str:
    """`--name` as given, else the values' nameOverride as given, else a unique generated name."""
    if name is not None:
        return naming.validate_app_name(name, source="--name")
    override = effective.get("nameOverride")
    if override:
        return naming.validate_app_name(str(override), source="nameOverride")
    base = naming.default_base(
        str(get(effective, "app", "name") or ""),
        str(get(effective, "app", "mainApplicationFile") or ""),
        str(get(effective, "app", "mainClass") or ""),
    )
    return naming.generate_app_name(base, str(effective.get("priorityClassName") or ""))


def generate_rpc_secret(length: int = RPC_SECRET_LENGTH) -> str:
    """A new shared secret for one application, from the OS's CSPRNG (as the app-name's suffix)."""
    import secrets  # deferred, as in naming.random_suffix

    return "".join(secrets.choice(RPC_SECRET_ALPHABET) for _ in range(length))


def needs_rpc_secret(effective: Values) -> bool:
    """Whether sparkhelm must generate the RPC secret: authentication on, and no secret given or referenced.

    The chart would otherwise make one with `randAlphaNum` at render time, and `sparkhelm template`
    would no longer be a plain Helm render of what `sparkhelm values` prints.
    """
    rpc = get(effective, "security", "rpc") or {}
    return bool(rpc.get("authenticate")) and not rpc.get("secret") and not rpc.get("existingSecret")


def compute(
    chart_dir: Path,
    values_files: Sequence[str | Path] = (),
    sets: Sequence[str] = (),
    set_strings: Sequence[str] = (),
    name: str | None = None,
    *,
    quick_check: schema.QuickCheck | None = None,
) -> AppValues:
    """The values of one application, with its app-name; the schema is checked before anything is derived.

    `quick_check`: the "valid?" answer to use (see `schema.check`), e.g. the loaded Helm engine's own.
    """
    user = user_values(values_files, sets, set_strings)
    effective = coalesce(shared_default_values(chart_dir), user)  # read-only: coalesce copies nothing
    schema.check(chart_dir, effective, quick_check)
    if (effective.get("schedule") or {}).get("cron"):  # what the schema's pattern cannot tell (spec.schedule)
        from sparkhelm.spec import schedule

        schedule.check(effective)
    app_name = choose_app_name(effective, name)
    computed: dict[str, Any] = {"nameOverride": app_name}
    computed.update((key, value) for key, value in user.items() if key != "nameOverride")
    if needs_rpc_secret(effective):
        computed = merge(computed, {"security": {"rpc": {"secret": generate_rpc_secret()}}})
    return AppValues(app_name=app_name, values=computed)
