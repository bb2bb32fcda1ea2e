"""Fidelity tests of the NITRO simulator against docs/nitro.md."""
