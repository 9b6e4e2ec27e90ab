"""From what the user gives (values files, `--set`, `--name`) to checked chart values, without Helm or a cluster."""
