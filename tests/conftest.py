"""Shared pytest configuration for every tier."""

from __future__ import annotations

# The apiserver tier's build step and summary run at session level, also in pytest-xdist's
# controller, which loads no conftest below this one: its hooks are registered here.
from tests.apiserver.apiserver_tier import (  # noqa: F401
    pytest_collection_finish,
    pytest_configure_node,
    pytest_runtest_logreport,
    pytest_sessionfinish,
    pytest_sessionstart,
    pytest_terminal_summary,
    pytest_testnodedown,
)
