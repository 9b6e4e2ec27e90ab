"""An exec credential plugin for the tests, run as `python exec_plugin.py`, configured by its environment.

PLUGIN_STATE (a directory): each run appends a line to `runs` (so tests count runs) and saves the
KUBERNETES_EXEC_INFO it was given as `exec-info.json`. PLUGIN_TOKENS: comma-separated tokens, the Nth
run answers the Nth (the last one once they run out). PLUGIN_MODE: token (default), cert (answers
PLUGIN_CERT / PLUGIN_KEY files' PEM), fail (prints to stderr and exits 3), garbage (prints no JSON).
PLUGIN_API: the apiVersion to answer with; PLUGIN_EXPIRY: an RFC 3339 expirationTimestamp.
"""

import json
import os
import sys
from pathlib import Path


def main() -> int:
    state = Path(os.environ["PLUGIN_STATE"])
    with (state / "runs").open("a") as runs:
        runs.write("run\n")
    count = len((state / "runs").read_text().splitlines())
    (state / "exec-info.json").write_text(os.environ.get("KUBERNETES_EXEC_INFO", ""))
    mode = os.environ.get("PLUGIN_MODE", "token")
    if mode == "fail":
        print("plugin: looking up credentials", file=sys.stderr)
        print("plugin: your session expired; run 'cloud login'", file=sys.stderr)
        return 3
    if mode == "garbage":
        print("hello")
        return 0
    if mode == "cert":
        status = {
            "clientCertificateData": Path(os.environ["PLUGIN_CERT"]).read_text(),
            "clientKeyData": Path(os.environ["PLUGIN_KEY"]).read_text(),
        }
    else:
        tokens = os.environ.get("PLUGIN_TOKENS", "plugin-token").split(",")
        status = {"token": tokens[min(count, len(tokens)) - 1]}
    if os.environ.get("PLUGIN_EXPIRY"):
        status["expirationTimestamp"] = os.environ["PLUGIN_EXPIRY"]
    api = os.environ.get("PLUGIN_API") or json.loads(os.environ.get("KUBERNETES_EXEC_INFO") or "{}").get(
        "apiVersion", "client.authentication.k8s.io/v1"
    )
    print(json.dumps({"apiVersion": api, "kind": "ExecCredential", "status": status}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
