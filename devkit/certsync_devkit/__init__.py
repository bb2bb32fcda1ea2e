"""Helpers for tests, the demo, benchmarks and the simulator: never imported by the operator."""
