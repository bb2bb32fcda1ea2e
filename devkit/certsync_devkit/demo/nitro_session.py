"""The scripted NITRO session: what the operator does for one certificate, step by step.

Logs in, uploads a leaf, its key and an intermediate, adds and links them, binds the leaf to
`vs_https`, renews the leaf in place (new files, `update` with nodomaincheck, old files deleted),
saves the configuration and logs out. Every step is printed with the NITRO call it made.
"""

from __future__ import annotations

from collections.abc import Callable

from certsync_devkit.pki import TestPKI
from netscaler_certsync.nitro import NitroClient, RequestEvent

SSL_DIR = "/nsconfig/ssl"


async def scripted_session(
    client: NitroClient, say: Callable[[str], None], vserver: str = "vs_https"
) -> None:
    pki = TestPKI.create("Demo")
    leaf = pki.leaf("www.example.com", sans=["www.example.com", "example.com"])
    ca_name, leaf_name = "demo-intermediate", "demo-www"

    say(f"1. upload the intermediate, the leaf and its key to {SSL_DIR}")
    await client.upload_file("demo-intermediate.crt", pki.intermediate.cert_pem)
    await client.upload_file(f"demo-www-{leaf.serial_hex[:8]}.crt", leaf.cert_pem)
    await client.upload_file(f"demo-www-{leaf.serial_hex[:8]}.key", leaf.key_pem)

    say("2. add the intermediate as a CA certkey and the leaf as a server certkey, then link them")
    await client.add_certkey(ca_name, "demo-intermediate.crt")
    await client.add_certkey(
        leaf_name, f"demo-www-{leaf.serial_hex[:8]}.crt", f"demo-www-{leaf.serial_hex[:8]}.key"
    )
    await client.link_certkey(leaf_name, ca_name)

    say(f"3. bind {leaf_name} to {vserver} as its default certificate")
    await client.bind_certkey(vserver, leaf_name)

    renewed = pki.leaf("www.example.com", sans=["www.example.com", "example.com"])
    say(
        f"4. renew in place: serial {leaf.serial_hex[:12]}… -> {renewed.serial_hex[:12]}… under the same name"
    )
    new_crt, new_key = f"demo-www-{renewed.serial_hex[:8]}.crt", f"demo-www-{renewed.serial_hex[:8]}.key"
    await client.upload_file(new_crt, renewed.cert_pem)
    await client.upload_file(new_key, renewed.key_pem)
    await client.change_certkey(leaf_name, new_crt, new_key, nodomaincheck=True)
    await client.delete_file(f"demo-www-{leaf.serial_hex[:8]}.crt")
    await client.delete_file(f"demo-www-{leaf.serial_hex[:8]}.key")
    bound = await client.list_bindings(vserver)
    served = await client.get_certkey(leaf_name)
    assert served is not None and served.serial == renewed.serial_hex, "the renewal did not take effect"
    say(f"   {vserver} still serves {[b.certkey for b in bound]}; {leaf_name} now has serial {served.serial}")

    say("5. save the configuration (once, at the end)")
    await client.save_config()


def print_request(say: Callable[[str], None]) -> Callable[[RequestEvent], None]:
    def hook(event: RequestEvent) -> None:
        say(f"     {event.method:<6} {event.resource:<32} -> {event.status} (errorcode {event.errorcode})")

    return hook
