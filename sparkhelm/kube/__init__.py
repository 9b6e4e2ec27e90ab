"""The cluster side: the connection (kubeconfig, context, namespace) resolved once, and a light HTTP client.

`connection.resolve` reads the kubeconfig (or the in-cluster service account) the way kubectl does;
`client.Client` talks to the API server with the standard library only; `portforward` tunnels a
pod port over the API server's WebSocket. Nothing here imports the `kubernetes` package.
"""
