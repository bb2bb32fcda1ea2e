"""Tier: the emulated Kubernetes API (self-test) and the k8s/ layer against it."""
