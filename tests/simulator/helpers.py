"""Raw NITRO calls over httpx and assertions on the NITRO envelope, for the simulator tests."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from certsync_devkit.pki import Issued

CONFIG = "/nitro/v1/config"


class Nitro:
    """Raw NITRO calls with a session cookie; returns the httpx response, never raises."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.headers: dict[str, str] = {}

    async def login(self, username: str = "nsroot", password: str = "nsroot", **extra: Any) -> httpx.Response:
        response = await self.client.post(
            f"{CONFIG}/login", json={"login": {"username": username, "password": password, **extra}}
        )
        if response.status_code == 201:
            self.headers = {"Cookie": f"NITRO_AUTH_TOKEN={response.json()['sessionid']}"}
        return response

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.get(f"{CONFIG}/{path}", headers=kw.pop("headers", self.headers), **kw)

    async def post(self, path: str, body: Any, **kw: Any) -> httpx.Response:
        return await self.client.post(
            f"{CONFIG}/{path}", json=body, headers=kw.pop("headers", self.headers), **kw
        )

    async def put(self, path: str, body: Any, **kw: Any) -> httpx.Response:
        return await self.client.put(
            f"{CONFIG}/{path}", json=body, headers=kw.pop("headers", self.headers), **kw
        )

    async def delete(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.delete(f"{CONFIG}/{path}", headers=kw.pop("headers", self.headers), **kw)

    # -- shortcuts for setting the scene ---------------------------------------------------------------
    async def upload(self, name: str, data: bytes, location: str = "/nsconfig/ssl") -> httpx.Response:
        content = base64.b64encode(data).decode()
        body = {"systemfile": {"filename": name, "filelocation": location, "filecontent": content}}
        return await self.post("systemfile", body)

    async def add_certkey(self, name: str, cert: str, key: str | None = None, **extra: Any) -> httpx.Response:
        item: dict[str, Any] = {"certkey": name, "cert": cert, **extra}
        if key:
            item["key"] = key
        return await self.post("sslcertkey", {"sslcertkey": item})

    async def install(
        self, name: str, issued: Issued, *, with_key: bool = True, location: str = "/nsconfig/ssl"
    ) -> None:
        """Upload `<name>.crt` (+ `.key`) and add certkey `name`; asserts each step worked."""
        assert (await self.upload(f"{name}.crt", issued.cert_pem, location)).status_code == 201
        if with_key:
            assert (await self.upload(f"{name}.key", issued.key_pem, location)).status_code == 201
        response = await self.add_certkey(name, f"{name}.crt", f"{name}.key" if with_key else None)
        assert response.status_code == 201, response.text

    async def bind(self, vserver: str, certkey: str, **extra: Any) -> httpx.Response:
        body = {"sslvserver_sslcertkey_binding": {"vservername": vserver, "certkeyname": certkey, **extra}}
        return await self.put("sslvserver_sslcertkey_binding", body)


def assert_error(response: httpx.Response, status: int, errorcode: int, prefix: str = "") -> dict[str, Any]:
    """A NITRO error: HTTP status, envelope with errorcode, severity ERROR, message prefix."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["errorcode"] == errorcode, body
    assert body["severity"] == "ERROR"
    assert body["message"].startswith(prefix), body["message"]
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["server"] == "Apache"
    if status == 599:  # the GO client matches the literal status line
        assert response.reason_phrase == "Netscaler specific error"
    return body


def assert_done(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["errorcode"], body["message"], body["severity"]) == (0, "Done", "NONE")
    return body
