"""Scheduled runs: `schedule.cron` and `schedule.timeZone` checked as a Kubernetes CronJob reads them, next run times.

croniter (a maintained cron library) checks each field's values (minute 0-59, hour 0-23, steps) and
computes when the next runs are. It also accepts forms Kubernetes' parser (robfig/cron's standard
parser) refuses: Quartz's `L`, `W` and `#`, a seconds field, reversed ranges such as `5-1`. So the
shape Kubernetes accepts is checked here first, in a few lines: five fields or one of its macros;
each field a list of `*`, `?` (day fields), numbers or (month, day of week) three-letter names, with
ranges low to high and steps. The API server would refuse the rest at install time, after the
release was half made; here it is an exit 2 naming the key. The time zone is checked against the
IANA database Python has (`zoneinfo`), as the API server checks it against its own.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from sparkhelm.errors import UserError

#: The macros Kubernetes documents for CronJob schedules.
MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_FIELDS = ("minute", "hour", "day of month", "month", "day of week")
_NAMES = {
    "month": ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
    "day of week": ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"),
}
_ATOM = re.compile(r"^(\*|\?|[0-9]+|[A-Za-z]{3})$")
FORMS = (
    "five fields (minute hour day-of-month month day-of-week) such as '0 2 * * *', "
    "or @hourly, @daily, @weekly, @monthly, @yearly"
)


def _atom_problem(atom: str, field: str) -> str | None:
    if not _ATOM.match(atom):
        return f"{atom!r} in the {field} field is not a number, * or a name"
    if atom == "?" and field not in ("day of month", "day of week"):
        return f"'?' is only for the day fields, not the {field} field"
    if field == "day of week" and atom.isdigit() and int(atom) > 6:
        return f"day of week {atom} is out of range: Kubernetes counts 0 (Sunday) to 6 (Saturday)"
    if atom.isalpha() and atom.upper() not in _NAMES.get(field, ()):
        names = _NAMES.get(field)
        allowed = f"one of {', '.join(names)}" if names else "numbers"
        return f"{atom!r} in the {field} field is not a name Kubernetes knows ({allowed})"
    return None


def _value(atom: str, field: str) -> int:
    return _NAMES[field].index(atom.upper()) if atom.isalpha() else int(atom)


def _field_problem(text: str, field: str) -> str | None:
    for part in text.split(","):
        base, slash, step = part.partition("/")
        if slash and not step.isdigit():
            return f"step {step!r} in the {field} field is not a number"
        low, dash, high = base.partition("-")
        for atom in (low, high) if dash else (low,):
            problem = _atom_problem(atom, field)
            if problem:
                return problem
        if dash and "*" not in (low, high) and "?" not in (low, high) and _value(low, field) > _value(high, field):
            return f"range {base!r} in the {field} field goes from high to low"
    return None


def cron_problem(expression: str) -> str | None:
    """Why Kubernetes would refuse `expression` as a CronJob schedule, or None when it is valid."""
    text = expression.strip()
    if re.match(r"^(CRON_)?TZ=", text):
        return "Kubernetes refuses a time zone in the schedule: give it apart (--time-zone, schedule.timeZone)"
    if text.startswith("@"):
        return None if text in MACROS else f"{text!r} is not a macro Kubernetes knows; use {FORMS}"
    fields = text.split()
    if len(fields) != len(_FIELDS):
        return f"it has {len(fields)} field(s); use {FORMS}"
    for value, field in zip(fields, _FIELDS, strict=True):
        problem = _field_problem(value, field)
        if problem:
            return problem
    from croniter import croniter  # deferred: 50 ms of imports, only for schedules

    if not croniter.is_valid(text):
        return f"a value is out of range (minute 0-59, hour 0-23, day 1-31, month 1-12, day of week 0-6); use {FORMS}"
    return None


def time_zone_problem(name: str) -> str | None:
    """Why `name` is not a time zone of the IANA database, or None (also when this machine has no database)."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        if not zoneinfo.available_timezones():  # no database here to judge by: the API server will
            return None
        return "not an IANA time zone name (such as UTC, Europe/Paris or America/New_York)"
    return None


def check(
    values: dict[str, Any], *, cron_source: str = "schedule.cron", zone_source: str = "schedule.timeZone"
) -> None:
    """Refuse a schedule Kubernetes would refuse, naming the key (or flag) and the fix."""
    schedule = values.get("schedule") or {}
    cron = str(schedule.get("cron") or "")
    if cron:
        problem = cron_problem(cron)
        if problem:
            raise UserError(f"{cron_source} {cron!r} is not a schedule Kubernetes accepts: {problem}")
    zone = str(schedule.get("timeZone") or "")
    if zone:
        problem = time_zone_problem(zone)
        if problem:
            raise UserError(f"{zone_source} {zone!r}: {problem}")


def next_runs(
    cron: str, time_zone: str = "", *, after: datetime.datetime | None = None, count: int = 1
) -> list[datetime.datetime]:
    """The next `count` times the schedule fires after `after` (now), in its time zone (UTC when none is given)."""
    import zoneinfo

    from croniter import croniter

    zone: datetime.tzinfo = zoneinfo.ZoneInfo(time_zone) if time_zone else datetime.UTC
    start = (after or datetime.datetime.now(tz=datetime.UTC)).astimezone(zone)
    runs = croniter(cron, start)
    return [runs.get_next(datetime.datetime) for _ in range(count)]
