"""A Kubernetes API server for tests: kmock's emulator plus the behaviour sparkhelm relies on.

`RunningCluster` starts it on a local port in a background thread and writes a kubeconfig, so the
real `kubernetes` client and Helm's Go SDK talk HTTP to it exactly as they would to a cluster.
"""

from tests.harness.cluster import RunningCluster
from tests.harness.kubelet import DriverScript

__all__ = ["DriverScript", "RunningCluster"]
