"""`--output table|json|yaml` for `list` and `status`.

Tables are kubectl-style: upper-case headers, columns padded with spaces, one row per line, never
wrapped or cut. That is what `awk`/`grep` users expect; rich's tables wrap and truncate at the
terminal width when output is piped, so plain padding is written here instead (a few lines).
JSON and YAML carry the same stable keys for scripts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sparkhelm.errors import UserError

FORMATS = ("table", "json", "yaml")


def check_format(output: str) -> str:
    """The --output value, validated."""
    if output not in FORMATS:
        raise UserError(f"--output {output!r} is not a format: use one of {', '.join(FORMATS)}")
    return output


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Aligned columns separated by three spaces; empty cells print as `-`."""
    cells = [[str(h).upper() for h in headers]] + [[("-" if v in (None, "") else str(v)) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["   ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip() for row in cells]
    return "\n".join(lines) + "\n"


def fields(pairs: Sequence[tuple[str, Any]]) -> str:
    """`key:   value` lines with aligned values; empty values print as `-`."""
    width = max(len(key) for key, _ in pairs) + 1
    return "".join(f"{(key + ':').ljust(width)}  {'-' if value in (None, '') else value}\n" for key, value in pairs)


def structured(data: Any, output: str) -> str:
    """JSON (sorted keys, indented) or YAML of `data`."""
    if output == "json":
        return json.dumps(data, indent=2, sort_keys=True) + "\n"
    import yaml

    return str(yaml.safe_dump(data, sort_keys=True, default_flow_style=False))
