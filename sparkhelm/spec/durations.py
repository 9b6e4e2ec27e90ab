"""Durations as users type them (`90s`, `15m`, `2h`, `1h30m`, `1d`), for --timeout and --older-than."""

from __future__ import annotations

import re

from sparkhelm.errors import UserError

_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, flag: str) -> float:
    """Seconds in `text`; a bare number means seconds. Bad text is a UserError naming `flag`."""
    cleaned = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", cleaned):
        return float(cleaned)
    parts = _PART.findall(cleaned)
    if not cleaned or "".join(f"{number}{unit}" for number, unit in parts) != cleaned:
        raise UserError(f"{flag} {text!r} is not a duration: use a number with s, m, h or d, e.g. 90s, 15m, 2h, 1h30m")
    return sum(float(number) * _SECONDS[unit] for number, unit in parts)


def format_duration(seconds: float) -> str:
    """A short human form (`45s`, `12m`, `3h4m`, `2d5h`), as kubectl prints ages."""
    seconds = int(max(seconds, 0))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h" if hours else f"{days}d"
