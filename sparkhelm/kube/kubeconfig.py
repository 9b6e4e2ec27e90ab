"""Find, read and merge kubeconfig files with kubectl's rules; every problem is one line naming the file.

Rules (client-go's `ClientConfigLoadingRules`, checked against a real kubectl in tests/test_kubeconfig.py):

* `--kubeconfig FILE` alone, and it must exist; else every file of `$KUBECONFIG` (split on `:`,
  empty and repeated entries dropped, missing files skipped); else `~/.kube/config`. `~` is expanded
  in these locations, not in the paths written inside a kubeconfig (kubectl does not either).
* Merging: the first file that defines a cluster, user or context name wins that name, whole (entries
  are never merged field by field); the first file with a `current-context` wins it. A name defined
  twice in one file is an error, as in kubectl.
* Relative paths inside a file (certificate-authority, client-certificate, client-key, tokenFile, and
  an exec command that contains a `/`) are relative to the directory of the file that holds them.

Each file is read once. Nothing here touches the network; `connection.resolve` turns the result
into a `Connection`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from sparkhelm.errors import UserError

FLAG = "--kubeconfig / KUBECONFIG"
DEFAULT_LOCATION = "~/.kube/config"
SECTIONS = (("clusters", "cluster"), ("users", "user"), ("contexts", "context"))
#: Keys that hold a path, per section: resolved against the directory of the file that names them.
PATH_KEYS = {"clusters": ("certificate-authority",), "users": ("client-certificate", "client-key", "tokenFile")}


class Entry:
    """A named cluster, user or context, and the file it came from (relative paths resolve against it).

    Plain classes here, not dataclasses: this module is imported by every cluster command, and each
    dataclass costs about a millisecond to build at import.
    """

    __slots__ = ("body", "file", "name")

    def __init__(self, name: str, body: dict[str, Any], file: str) -> None:
        self.name = name
        self.body = body
        self.file = file

    def __repr__(self) -> str:
        return f"Entry({self.name!r}, file={self.file!r})"  # the body may hold a token

    def path(self, key: str) -> str | None:
        """The value of a path key, made absolute against the entry's file (None when absent or empty)."""
        value = self.body.get(key)
        if not value:
            return None
        return absolute(str(value), self.file)


class Kubeconfig:
    """The merged content of the kubeconfig files that exist, in kubectl's precedence."""

    __slots__ = ("clusters", "contexts", "current_context", "files", "preferences", "users")

    def __init__(
        self,
        files: tuple[str, ...],
        clusters: dict[str, Entry],
        users: dict[str, Entry],
        contexts: dict[str, Entry],
        current_context: str | None,
        preferences: dict[str, Any] | None = None,
    ) -> None:
        self.files = files
        self.clusters = clusters
        self.users = users
        self.contexts = contexts
        self.current_context = current_context
        self.preferences = preferences or {}

    def __repr__(self) -> str:
        return f"Kubeconfig({self.where!r}, current_context={self.current_context!r})"

    @property
    def where(self) -> str:
        """The files, as error messages name them."""
        return os.pathsep.join(self.files)

    def is_empty(self) -> bool:
        """True when the files define nothing to connect with (kubectl then tries the in-cluster config)."""
        return not (self.clusters or self.users or self.contexts or self.current_context)

    def merged_yaml(self) -> str:
        """The merged kubeconfig as one YAML document, every relative path made absolute.

        Helm gets this when KUBECONFIG lists several files: the text no longer sits next to the files it
        came from, so a relative `certificate-authority` would otherwise point nowhere.
        """
        import yaml

        document: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "preferences": self.preferences}
        for section, key in SECTIONS:
            entries: dict[str, Entry] = getattr(self, section)
            document[section] = [{"name": e.name, key: _absolute_paths(section, e)} for e in entries.values()]
        if self.current_context:
            document["current-context"] = self.current_context
        return str(yaml.safe_dump(document, default_flow_style=False, sort_keys=False))


def absolute(path: str, holder: str) -> str:
    """`path` as written in the kubeconfig `holder`: relative paths are relative to that file's directory."""
    if os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(holder)), path))


def _absolute_paths(section: str, entry: Entry) -> dict[str, Any]:
    body = dict(entry.body)
    for key in PATH_KEYS.get(section, ()):
        if body.get(key):
            body[key] = absolute(str(body[key]), entry.file)
    exec_config = body.get("exec")
    if section == "users" and isinstance(exec_config, dict) and "/" in str(exec_config.get("command") or ""):
        body["exec"] = {**exec_config, "command": absolute(str(exec_config["command"]), entry.file)}
    return body


def locations(explicit: str | None, environ: Mapping[str, str]) -> tuple[list[str], str]:
    """The kubeconfig files to read, in precedence order, and where that list came from (for messages).

    The second item is "--kubeconfig", "KUBECONFIG" or "default".
    """
    if explicit:
        return [expand_home(explicit, environ)], "--kubeconfig"
    paths: list[str] = []
    for item in environ.get("KUBECONFIG", "").split(os.pathsep):
        path = expand_home(item, environ) if item else ""
        if path and path not in paths:
            paths.append(path)
    if paths:
        return paths, "KUBECONFIG"
    return [expand_home(DEFAULT_LOCATION, environ)], "default"


def expand_home(path: str, environ: Mapping[str, str]) -> str:
    """`~/x` with the home directory of `environ` (tests pass their own), else of the process."""
    home = environ.get("HOME")
    if home and (path == "~" or path.startswith("~/")):
        return home + path[1:]
    return os.path.expanduser(path)


def load(paths: Sequence[str], *, explicit: bool = False) -> Kubeconfig | None:
    """Read and merge `paths` (each once); None when none of them exists.

    With `explicit` (a --kubeconfig flag) the single file must exist.
    """
    clusters: dict[str, Entry] = {}
    users: dict[str, Entry] = {}
    contexts: dict[str, Entry] = {}
    merged = {"clusters": clusters, "users": users, "contexts": contexts}
    current: str | None = None
    preferences: dict[str, Any] | None = None
    read: list[str] = []
    for path in paths:
        data = _read(path, explicit=explicit)
        if data is None:
            continue
        read.append(path)
        for section, key in SECTIONS:
            for entry in _entries(data, section, key, path):
                merged[section].setdefault(entry.name, entry)
        if current is None and data.get("current-context"):
            current = _string(data["current-context"], "current-context", path)
        if preferences is None and isinstance(data.get("preferences"), dict) and data["preferences"]:
            preferences = data["preferences"]
    if not read:
        return None
    return Kubeconfig(tuple(read), clusters, users, contexts, current, preferences or {})


def _read(path: str, *, explicit: bool) -> dict[str, Any] | None:
    """One file's YAML mapping; None when it does not exist (an error for an explicit --kubeconfig)."""
    try:
        with open(path, "rb") as handle:
            text = handle.read()
    except FileNotFoundError:
        if explicit:
            raise UserError(f"--kubeconfig {path}: no such file; give the path of a kubeconfig") from None
        return None
    except IsADirectoryError:
        raise UserError(f"{FLAG}: {path} is a directory, not a kubeconfig file") from None
    except OSError as exc:
        raise UserError(f"{FLAG}: cannot read {path}: {exc.strerror or exc}") from None
    data = parse(text, path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{FLAG}: {path} is not a kubeconfig: expected a mapping with clusters, users and contexts")
    return data


def parse(text: bytes, path: str) -> Any:
    """YAML (or JSON, which is YAML) to Python data; a syntax error names the file, line and column."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser: a big kubeconfig loads 10x faster
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader, chosen above
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if mark is not None and exc.context_mark is not None and mark.index >= len(text.rstrip()):
            mark = exc.context_mark  # "at the end of the file" helps nobody: point at what was left open
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise UserError(f"{FLAG}: {path}{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{FLAG}: {path}: {' '.join(str(exc).split())}") from None


def _string(value: Any, key: str, path: str) -> str:
    if not isinstance(value, str):
        raise UserError(f"{FLAG}: {path}: {key} must be a string, not {type(value).__name__}")
    return value


def _entries(data: dict[str, Any], section: str, key: str, path: str) -> list[Entry]:
    """The named entries of one section of one file, checked for the shape kubectl requires."""
    items = data.get(section)
    if items is None:
        return []
    if not isinstance(items, list):
        raise UserError(f"{FLAG}: {path}: {section} must be a list of {{name, {key}}} entries")
    found: list[Entry] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("name"):
            raise UserError(f"{FLAG}: {path}: {section}[{index}] has no name")
        name = _string(item["name"], f"{section}[{index}].name", path)
        body = item.get(key) or {}
        if not isinstance(body, dict):
            raise UserError(f"{FLAG}: {path}: {section}[{name}].{key} must be a mapping")
        if name in seen:
            raise UserError(f"{FLAG}: {path}: two {section} are named {name!r}; rename one")
        seen.add(name)
        found.append(Entry(name, body, path))
    return found
