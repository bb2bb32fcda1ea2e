"""`sslcertkey`: list, get, add, change (replace the certificate in place), link, unlink, delete."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from typing import Any

from netscaler_certsync.nitro import errors, parsing
from netscaler_certsync.nitro.models import BulkResult, CertKey, CertLink, NewCertKey
from netscaler_certsync.nitro.operations.bulk import CONTINUE_ON_ERROR, bulk_results
from netscaler_certsync.nitro.session import NitroSession
from netscaler_certsync.nitro.wire import Call, arg_list

RESOURCE = "sslcertkey"


def _same_file(shown: str | None, given: str) -> bool:
    """NITRO echoes `cert`/`key` as given, sometimes with the default directory: compare base names."""
    return shown is not None and posixpath.basename(shown) == posixpath.basename(given)


#: Sent with an unencrypted key: some 12.1 builds refuse one with 1537 unless a pass phrase is
#: given (ryancbutler/ns-letsencrypt #5); Keyfactor's orchestrator always sends this one with
#: `password: false`. Not a secret: it protects nothing.
PLAIN_KEY_PASSPLAIN = "0"


def _key_fields(key: str | None, passplain: str | None, inform: str) -> dict[str, Any]:
    """`key`, and the pass phrase fields: the caller's for an encrypted key, else the dummy one."""
    fields: dict[str, Any] = {"key": key} if key is not None else {}
    if passplain is not None:
        # "the PEM key is encrypted"; PFX carries its own flag
        return fields | {"passplain": passplain} | ({"password": True} if inform == "PEM" else {})
    if key is not None:
        fields |= {"passplain": PLAIN_KEY_PASSPLAIN, "password": False}
    return fields


def _add_body(item: NewCertKey) -> dict[str, Any]:
    body: dict[str, Any] = {"certkey": item.name, "cert": item.cert, "inform": item.inform}
    return body | _key_fields(item.key, item.passplain, item.inform)


class CertKeyOperations(NitroSession):
    async def list_certkeys(
        self, filter: Mapping[str, str] | None = None, attrs: Sequence[str] | None = None
    ) -> list[CertKey]:
        """Every certkey (optionally filtered, `filter={"certkey": "www"}`; `attrs` to trim the reply)."""
        query: list[tuple[str, str]] = []
        if attrs:
            query.append(("attrs", ",".join(dict.fromkeys(["certkey", *attrs]))))
        if filter:
            query.append(("filter", arg_list(filter)))
        reply = await self._call(Call("GET", RESOURCE, "list", query=query, idempotent=True))
        return [parsing.certkey(row) for row in parsing.rows(reply.body, RESOURCE)]

    async def count_certkeys(self) -> int:
        reply = await self._call(Call("GET", RESOURCE, "count", query=[("count", "yes")], idempotent=True))
        return parsing.count(reply.body, RESOURCE)

    async def get_certkey(self, name: str) -> CertKey | None:
        """One certkey, or None when the appliance has no such name."""
        try:
            reply = await self._call(Call("GET", RESOURCE, "get", name=name, idempotent=True))
        except errors.APIError as exc:
            if errors.is_not_found(exc):
                return None
            raise
        found = parsing.rows(reply.body, RESOURCE)
        return parsing.certkey(found[0]) if found else None

    async def add_certkey(
        self,
        name: str,
        cert: str,
        key: str | None = None,
        *,
        inform: str = "PEM",
        passplain: str | None = None,
    ) -> None:
        """Create a certkey from files already uploaded (`cert`, `key`: names in /nsconfig/ssl or paths)."""
        item = NewCertKey(name, cert, key, inform=inform, passplain=passplain)

        async def took_effect() -> bool:
            found = await self.get_certkey(name)
            return found is not None and _same_file(found.cert, cert)

        await self._call(
            Call("POST", RESOURCE, "add", body={RESOURCE: _add_body(item)}, secrets=_secrets(passplain)),
            readback=took_effect,
        )

    async def add_certkeys(self, items: Sequence[NewCertKey]) -> list[BulkResult]:
        """Bulk add, continuing past failures; one result per item, in order."""
        if not items:
            return []
        reply = await self._call(
            Call(
                "POST",
                RESOURCE,
                "bulk_add",
                body={RESOURCE: [_add_body(item) for item in items]},
                headers=CONTINUE_ON_ERROR,
                secrets=tuple(item.passplain for item in items if item.passplain),
            )
        )
        return bulk_results(reply, len(items))

    async def change_certkey(
        self,
        name: str,
        cert: str,
        key: str | None = None,
        *,
        nodomaincheck: bool = True,
        passplain: str | None = None,
    ) -> None:
        """Replace the certificate (and key) of an existing certkey in place, keeping its bindings.

        This is the CLI `update ssl certKey`, NITRO `POST ?action=update`. `nodomaincheck` lets a
        renewal whose names changed through (otherwise 3585).
        """
        body: dict[str, Any] = {"certkey": name, "cert": cert, **_key_fields(key, passplain, "PEM")}
        if nodomaincheck:
            body["nodomaincheck"] = True

        async def took_effect() -> bool:
            found = await self.get_certkey(name)
            return found is not None and _same_file(found.cert, cert)

        await self._call(
            Call(
                "POST",
                RESOURCE,
                "update",
                query=[("action", "update")],
                body={RESOURCE: body},
                secrets=_secrets(passplain),
            ),
            readback=took_effect,
        )

    async def link_certkey(self, name: str, ca_name: str) -> None:
        """Link `name` to the CA certkey `ca_name` (the appliance then serves the chain)."""

        async def took_effect() -> bool:
            found = await self.get_certkey(name)
            return found is not None and found.linked_to == ca_name

        await self._call(
            Call(
                "POST",
                RESOURCE,
                "link",
                query=[("action", "link")],
                body={RESOURCE: {"certkey": name, "linkcertkeyname": ca_name}},
            ),
            readback=took_effect,
        )

    async def unlink_certkey(self, name: str) -> None:
        async def took_effect() -> bool:
            found = await self.get_certkey(name)
            return found is None or found.linked_to is None

        await self._call(
            Call(
                "POST", RESOURCE, "unlink", query=[("action", "unlink")], body={RESOURCE: {"certkey": name}}
            ),
            readback=took_effect,
        )

    async def delete_certkey(self, name: str, *, delete_from_device: bool = False) -> None:
        """Remove a certkey; `delete_from_device` also removes its files (newer builds only)."""
        query = [("args", arg_list({"deletefromdevice": True}))] if delete_from_device else []
        await self._call(
            Call("DELETE", RESOURCE, "delete", name=name, query=query, idempotent=True, gone_ok=True)
        )

    async def list_cert_links(self) -> list[CertLink]:
        reply = await self._call(Call("GET", "sslcertlink", "list", idempotent=True))
        return [parsing.cert_link(row) for row in parsing.rows(reply.body, "sslcertlink")]


def _secrets(passplain: str | None) -> tuple[str, ...]:
    return (passplain,) if passplain else ()


__all__ = ["CertKeyOperations"]
