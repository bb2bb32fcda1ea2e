"""Helpers shared by the test tiers: waiting on conditions, a fake clock, the engine's harness.

Test modules import helpers from here, never from a `conftest.py` (which holds fixtures only).
"""
