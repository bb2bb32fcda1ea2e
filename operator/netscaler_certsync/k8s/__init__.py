"""Thin Kubernetes access: Secret reads and watches, status patches, keys, labels, permissions."""
