"""Tools for tests, the demo and the benchmarks: the emulated Kubernetes API, threads, builders,
the test PKI and the demo. Never installed or shipped, never imported by the product
(import-linter); found through `pythonpath` (pytest) and `PYTHONPATH` (Makefile)."""
