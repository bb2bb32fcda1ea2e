"""Types shared by the NITRO client tests."""

from __future__ import annotations

from collections.abc import Callable

from netscaler_certsync.nitro import NitroClient

#: The `make_client` fixture: a client for the test's simulator; keyword arguments override defaults.
ClientFactory = Callable[..., NitroClient]
