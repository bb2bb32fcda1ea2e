"""No private key or password in logs (at DEBUG), Events or status, through a lifecycle with failures."""

from __future__ import annotations

import base64
import json
import ssl

import httpx

from certsync_devkit import k8s_builders as build
from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.operator_thread import OperatorThread
from netscaler_certsync.k8s import keys
from tests.operator.harness import NS, Cluster
from tests.support.logs import LogRecorder as Recorder

PASSWORD = "S3cret-Appliance-Pa55"


def _needles(*key_pems: bytes) -> list[str]:
    out = [PASSWORD, base64.b64encode(PASSWORD.encode()).decode()]
    for pem in key_pems:
        body = "".join(line for line in pem.decode().splitlines() if "-----" not in line)
        out += [body[:40], body[-40:], base64.b64encode(pem).decode()[:60]]
    return out


def test_keys_and_passwords_never_leave(cluster: Cluster, operator: OperatorThread, logs: Recorder) -> None:
    # One connection logs in; a second one sends PASSWORD, which the appliance refuses.
    cluster.core.create_namespaced_secret(NS, build.credentials_secret("login", "nsroot", "nsroot"))
    cluster.core.create_namespaced_secret(NS, build.credentials_secret("wrong", "nsroot", PASSWORD))
    cluster.core.create_namespaced_secret(NS, build.opaque_secret("ca", {"ca.crt": cluster.simulator.ca_pem}))
    for name, login in (("adc", "login"), ("bad", "wrong")):
        spec = {
            "endpoint": cluster.simulator.url,
            "credentialsSecretRef": {"name": login},
            "tls": {"caSecretRef": {"name": "ca"}},
        }
        cluster.crs.create_namespaced_custom_object(
            keys.GROUP, keys.VERSION, NS, keys.CONNECTION_PLURAL, build.netscaler_connection(name, spec)
        )

    good = cluster.tls_secret("www")
    mismatched = cluster.pki.leaf("bad.example.com")
    other = cluster.pki.leaf("other.example.com")
    cluster.core.create_namespaced_secret(
        NS, build.tls_secret("mismatch", mismatched.cert_pem, other.key_pem)
    )
    cluster.sync(
        "www",
        connectionRefs=[{"name": "adc"}, {"name": "bad"}],
        certificates=[{"secretName": "www"}, {"secretName": "mismatch"}],
        bindings=[{"vserver": "vs_https"}],
    )
    cluster.wait_reason("www", "AuthenticationFailed")
    renewed = cluster.renew("www")
    wait_for(
        lambda: (cluster.certkey("default-www") or {}).get("serial") == renewed.serial_hex,
        timeout=10,
        what="renewal",
    )
    cluster.crs.delete_namespaced_custom_object(keys.GROUP, keys.VERSION, NS, keys.SYNC_PLURAL, "www")

    needles = _needles(good.key_pem, renewed.key_pem, other.key_pem)
    haystacks = {
        "logs": "\n".join(logs.lines),
        "events": json.dumps(
            [e.to_dict() for e in cluster.core.list_namespaced_event(NS).items], default=str
        ),
        "connections": json.dumps(
            cluster.crs.list_namespaced_custom_object(keys.GROUP, keys.VERSION, NS, keys.CONNECTION_PLURAL)
        ),
    }
    sync = cluster.get(keys.SYNC_PLURAL, "www")
    haystacks["sync"] = json.dumps(sync or {})
    assert len(haystacks["logs"]) > 10_000, (
        "the scan must have something to scan (DEBUG logs of a whole lifecycle)"
    )
    for where, text in haystacks.items():
        leaked = [i for i, needle in enumerate(needles) if needle in text]
        assert not leaked, f"secret material (needles {leaked}) found in {where}"  # never print the needle


KEYSTORE_PASSWORD = "P12-Keystore-Pa55w0rd"


def test_keystore_passwords_never_leave(cluster: Cluster, operator: OperatorThread, logs: Recorder) -> None:
    # One keystore opens with its password, one is refused it (WrongPassword): neither password,
    # nor the keystore, nor its key may show in logs, Events or status.
    cluster.connection()
    source = {"format": "PKCS12", "passwordSecretRef": {"name": "p12-pass"}}
    right, wrong = cluster.pki.leaf("p12.example.com"), cluster.pki.leaf("wrong.example.com")
    cluster.core.create_namespaced_secret(
        NS, build.opaque_secret("p12-pass", {"password": KEYSTORE_PASSWORD.encode()})
    )
    right_store = cluster.pki.keystore(right, KEYSTORE_PASSWORD.encode())
    wrong_store = cluster.pki.keystore(wrong, KEYSTORE_PASSWORD.encode() + b"-other")
    cluster.core.create_namespaced_secret(NS, build.opaque_secret("p12", {"keystore.p12": right_store}))
    cluster.core.create_namespaced_secret(NS, build.opaque_secret("p12w", {"keystore.p12": wrong_store}))
    cluster.sync(
        "p12",
        certificates=[{"secretName": "p12", "source": source}, {"secretName": "p12w", "source": source}],
        bindings=[{"vserver": "vs_https"}],
    )
    cluster.wait_reason("p12", "WrongPassword")
    assert (cluster.certkey("default-p12") or {}).get("serial") == right.serial_hex

    needles = [
        KEYSTORE_PASSWORD,
        base64.b64encode(KEYSTORE_PASSWORD.encode()).decode(),
        base64.b64encode(right_store).decode()[:60],
        *_needles(right.key_pem, wrong.key_pem)[2:],
    ]
    haystacks = {
        "logs": "\n".join(logs.lines),
        "events": json.dumps(
            [e.to_dict() for e in cluster.core.list_namespaced_event(NS).items], default=str
        ),
        "sync": json.dumps(cluster.get(keys.SYNC_PLURAL, "p12") or {}),
    }
    for where, text in haystacks.items():
        leaked = [i for i, needle in enumerate(needles) if needle in text]
        assert not leaked, f"secret material (needles {leaked}) found in {where}"  # never print the needle


KEY_PASSPHRASE = "Key-Pa55phrase-Qv8"


def test_key_passphrases_never_leave(cluster: Cluster, operator: OperatorThread, logs: Recorder) -> None:
    # An encrypted key opens with its passphrase (sent to the appliance as passplain on add and
    # update), another is refused it (WrongPassword): the passphrase shows nowhere the operator
    # writes, nor in the simulator's request log.
    cluster.connection()
    source = {"passwordSecretRef": {"name": "key-pass"}}
    right, wrong = cluster.pki.leaf("enc.example.com"), cluster.pki.leaf("wrong.example.com")
    cluster.core.create_namespaced_secret(
        NS, build.opaque_secret("key-pass", {"password": KEY_PASSPHRASE.encode()})
    )
    chain = cluster.pki.intermediate.cert_pem
    right_key = right.key_pem_encrypted(KEY_PASSPHRASE.encode())
    cluster.core.create_namespaced_secret(NS, build.tls_secret("enc", right.cert_pem + chain, right_key))
    cluster.core.create_namespaced_secret(
        NS, build.tls_secret("encw", wrong.cert_pem + chain, wrong.key_pem_encrypted(b"another"))
    )
    cluster.sync(
        "enc",
        certificates=[{"secretName": "enc", "source": source}, {"secretName": "encw", "source": source}],
        bindings=[{"vserver": "vs_https"}],
    )
    cluster.wait_reason("enc", "WrongPassword")
    assert (cluster.certkey("default-enc") or {}).get("key_encrypted") is True
    renewed = cluster.pki.leaf("enc.example.com")
    cluster.core.patch_namespaced_secret(
        "enc",
        NS,
        {
            "data": {
                "tls.crt": build.b64(renewed.cert_pem + chain),
                "tls.key": build.b64(renewed.key_pem_encrypted(KEY_PASSPHRASE.encode())),
            }
        },
    )
    wait_for(
        lambda: (cluster.certkey("default-enc") or {}).get("serial") == renewed.serial_hex,
        timeout=10,
        what="renewal with passplain",
    )

    needles = [
        KEY_PASSPHRASE,
        base64.b64encode(KEY_PASSPHRASE.encode()).decode(),
        base64.b64encode(right_key).decode()[:60],
        *_needles(right.key_pem, wrong.key_pem, renewed.key_pem)[2:],
    ]
    ctx = ssl.create_default_context(cadata=cluster.simulator.ca_pem.decode())
    requests = httpx.get(f"{cluster.simulator.url}/_simulator/requests", verify=ctx, timeout=10).text
    haystacks = {
        "logs": "\n".join(logs.lines),
        "events": json.dumps(
            [e.to_dict() for e in cluster.core.list_namespaced_event(NS).items], default=str
        ),
        "sync": json.dumps(cluster.get(keys.SYNC_PLURAL, "enc") or {}),
        "simulator requests": requests,
    }
    assert '"sslcertkey"' in requests and "default-enc" in requests  # the log has something to scan
    for where, text in haystacks.items():
        leaked = [i for i, needle in enumerate(needles) if needle in text]
        assert not leaked, f"secret material (needles {leaked}) found in {where}"  # never print the needle
