"""Appliance-wide reads and actions: version, HA state, config state, save, partition switch, counts."""

from __future__ import annotations

from netscaler_certsync.nitro import parsing
from netscaler_certsync.nitro.models import ConfigState, HAState, NSVersion
from netscaler_certsync.nitro.session import NitroSession
from netscaler_certsync.nitro.wire import Call


class SystemOperations(NitroSession):
    async def version(self) -> NSVersion:
        reply = await self._call(Call("GET", "nsversion", "get", idempotent=True))
        return parsing.ns_version(reply.body)

    async def ha_state(self) -> HAState:
        reply = await self._call(Call("GET", "hanode", "list", idempotent=True))
        return parsing.ha_state(reply.body)

    async def config_state(self) -> ConfigState:
        reply = await self._call(Call("GET", "nsconfig", "get", idempotent=True))
        return parsing.config_state(reply.body)

    async def save_config(self, *, all_partitions: bool = False) -> None:
        """Persist the running configuration (saving twice is harmless, so it may be retried)."""
        body = {"nsconfig": {"all": True} if all_partitions else {}}
        await self._call(
            Call("POST", "nsconfig", "save", query=[("action", "save")], body=body, idempotent=True)
        )

    async def switch_partition(self, name: str) -> None:
        """Move this session to admin partition `name`; kept for every later (re-)login."""
        await self._call(self._switch_call(name))
        self.partition = name

    async def count(self, resource: str) -> int:
        """How many objects of `resource` exist (`count=yes`)."""
        reply = await self._call(Call("GET", resource, "count", query=[("count", "yes")], idempotent=True))
        return parsing.count(reply.body, resource)


__all__ = ["SystemOperations"]
