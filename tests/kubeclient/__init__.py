"""Test helpers of the kube client: real HTTPS servers, a CONNECT proxy, an exec credential plugin."""
