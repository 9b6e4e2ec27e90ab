"""Import the embedded Helm SDK with its Go runtime tuned for many short renders.

Go reads GOGC once, when the runtime starts, which for the SDK is when its shared library loads.
Rendering allocates a lot of short-lived memory, and Go's default (GOGC=100) spent about a
quarter of every render collecting it (benchmarks/RESULTS.md); 400 lets the heap grow further
between collections, for a few MiB more. A GOGC the user set wins. The variable is set only for
the load, so programs this process starts later do not inherit it. Standard library only.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

GOGC = "400"


def import_helm_sdk() -> ModuleType:
    """`helm_python`, loaded (once per process) with GOGC=400 unless the environment says otherwise."""
    # Loaded or loading already (the console script's preload thread, cli/__init__.py): the import
    # statement waits for it to finish, where sys.modules alone could hand out a module still half
    # initialised.
    ours = "helm_python" not in sys.modules and "GOGC" not in os.environ
    if ours:
        os.environ["GOGC"] = GOGC
    try:
        import helm_python
    finally:
        if ours:
            os.environ.pop("GOGC", None)
    return helm_python
