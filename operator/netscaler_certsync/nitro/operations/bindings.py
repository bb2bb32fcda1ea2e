"""`sslvserver_sslcertkey_binding` and friends: bind, unbind, list per vserver and for all vservers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netscaler_certsync.nitro import errors, parsing
from netscaler_certsync.nitro.models import BulkResult, CertBinding, SSLVServer
from netscaler_certsync.nitro.operations.bulk import CONTINUE_ON_ERROR, bulk_results
from netscaler_certsync.nitro.session import NitroSession
from netscaler_certsync.nitro.wire import Call, arg_list

RESOURCE = "sslvserver_sslcertkey_binding"


def _bind_body(binding: CertBinding) -> dict[str, Any]:
    body: dict[str, Any] = {
        "vservername": binding.vserver,
        "certkeyname": binding.certkey,
        "snicert": binding.sni,
    }
    if binding.ca:
        body["ca"] = True
    return body


class BindingOperations(NitroSession):
    async def bind_certkey(
        self,
        vserver: str,
        certkey: str,
        *,
        sni: bool = False,
        ca: bool = False,
        crlcheck: str | None = None,
        ocspcheck: str | None = None,
    ) -> None:
        """Bind a certkey to an SSL vserver: as its server cert, as an SNI cert, or as a CA (for
        client authentication, with `crlcheck` / `ocspcheck` Mandatory or Optional)."""
        binding = CertBinding(vserver, certkey, sni=sni, ca=ca)
        body = _bind_body(binding)
        checks = {"crlcheck": crlcheck, "ocspcheck": ocspcheck} if ca else {}
        body.update({k: v for k, v in checks.items() if v})

        async def took_effect() -> bool:
            return binding in await self.list_bindings(vserver)

        # PUT is what the binding's reference page, the SDKs and Terraform use.
        await self._call(Call("PUT", RESOURCE, "bind", body={RESOURCE: body}), readback=took_effect)

    async def bind_certkeys(self, bindings: Sequence[CertBinding]) -> list[BulkResult]:
        """Bulk bind, continuing past failures; one result per binding, in order."""
        if not bindings:
            return []
        reply = await self._call(
            Call(
                "PUT",
                RESOURCE,
                "bulk_bind",
                body={RESOURCE: [_bind_body(binding) for binding in bindings]},
                headers=CONTINUE_ON_ERROR,
            )
        )
        return bulk_results(reply, len(bindings))

    async def unbind_certkey(
        self, vserver: str, certkey: str, *, sni: bool = False, ca: bool = False
    ) -> None:
        """Remove a binding; flags must match how it was bound (a CA binding needs `ca=True`, else 1542)."""
        args: dict[str, Any] = {"certkeyname": certkey}
        if sni:
            args["snicert"] = True
        if ca:
            args["ca"] = True
        await self._call(
            Call(
                "DELETE",
                RESOURCE,
                "unbind",
                name=vserver,
                query=[("args", arg_list(args))],
                idempotent=True,
                gone_ok=True,
            )
        )

    async def list_bindings(self, vserver: str, certkey: str | None = None) -> list[CertBinding]:
        """The certkeys bound to one vserver (no bindings → []); with `certkey`, only that
        certkey's bindings (`filter=certkeyname:`), a reply that does not grow with the vserver."""
        query = [("filter", arg_list({"certkeyname": certkey}))] if certkey is not None else []
        reply = await self._call(Call("GET", RESOURCE, "list", name=vserver, query=query, idempotent=True))
        return [parsing.binding(row, vserver) for row in parsing.rows(reply.body, RESOURCE)]

    async def list_all_bindings(self) -> list[CertBinding]:
        """Every certkey binding of every SSL vserver, in one request (`bulkbindings=yes`)."""
        reply = await self._call(
            Call("GET", RESOURCE, "list_all", query=[("bulkbindings", "yes")], idempotent=True)
        )
        return [parsing.binding(row) for row in parsing.rows(reply.body, RESOURCE)]

    async def certkey_vservers(self, certkey: str) -> list[str]:
        """Names of the vservers a certkey is bound to (reverse lookup); unknown certkey → []."""
        resource = "sslcertkey_sslvserver_binding"
        try:
            reply = await self._call(Call("GET", resource, "list", name=certkey, idempotent=True))
        except errors.APIError as exc:
            if errors.is_not_found(exc):
                return []
            raise
        names = []
        for row in parsing.rows(reply.body, resource):
            name = parsing.as_str(row.get("servername") or row.get("vservername") or row.get("vserver"))
            if name and name not in names:
                names.append(name)
        return names

    async def list_ssl_vservers(self) -> list[SSLVServer]:
        reply = await self._call(Call("GET", "sslvserver", "list", idempotent=True))
        return [parsing.ssl_vserver(row) for row in parsing.rows(reply.body, "sslvserver")]


__all__ = ["BindingOperations"]
