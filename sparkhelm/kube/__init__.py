"""The cluster: one connection resolved once (kubectl's rules), a light HTTP client, apps as read from it."""
