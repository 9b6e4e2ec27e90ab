"""sparkhelm: run Apache Spark applications on Kubernetes in client mode, one Helm release each."""

__version__ = "0.1.0"
