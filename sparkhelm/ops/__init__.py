"""What the commands do, put together from spec/, engine/ and kube/: render, submit, follow, inspect, remove."""
