"""sparkhelm: run Apache Spark applications on Kubernetes in client mode, one Helm release each.

Errors are exported here (`from sparkhelm import UserError`); the library is `sparkhelm.api`.
"""

from sparkhelm.errors import EngineError, SparkhelmError, UserError

__version__ = "0.1.0"

__all__ = ["EngineError", "SparkhelmError", "UserError", "__version__"]
