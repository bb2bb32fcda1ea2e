"""netscaler-certsync: deploy TLS certificates from Kubernetes Secrets to NetScaler appliances.

Layers (enforced by import-linter, see `.importlinter`):
handlers -> reconcile -> engine -> (domain | nitro | k8s). The simulator stands apart and shares
nothing with the client but the NITRO facts in docs/nitro.md.
"""

__version__ = "0.1.0"
