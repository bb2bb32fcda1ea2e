"""Configuration of one simulated appliance: `SimulatorConfig` and the `Quirks` it models.

Where nitro.md marks a behaviour as a guess, the likelier behaviour is the default and the
alternative is a field of `Quirks`, so a test can pin either one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from netscaler_certsync.simulator.faults import FaultRule

DEFAULT_VERSION = "NetScaler NS13.1: Build 49.13.nc, Date: Mar 26 2024, 13:51:39   (64-bit)"
HAState = Literal["standalone", "primary", "secondary"]


@dataclass(frozen=True)
class Quirks:
    """Behaviours nitro.md cannot pin down; defaults are the likelier choice."""

    #: HTTP status of a successful add (201 per the reference pages; some builds say 200).
    add_status: int = 201
    #: HTTP status of logout (docs say 200, a 12.1 box answered 201).
    logout_status: int = 201
    #: GET of a type with no objects answers the envelope without the array key.
    omit_empty_arrays: bool = True
    #: `count=yes` answers `"__count"` as a number (False: as a string, like some ref pages).
    count_as_number: bool = True
    #: HTTP status of errorcode 445 (session limit); unknown on real boxes, 409 or 401.
    session_limit_status: int = 409
    #: `?action=link` on a certkey that is already linked: "error" (409/273) or "replace".
    relink: Literal["error", "replace"] = "error"
    #: Writes on an HA secondary: "accept" locally (CLI only warns) or "reject" with 1028.
    secondary_writes: Literal["accept", "reject"] = "accept"
    #: Some 12.1 builds refuse an unencrypted key unless a (dummy) `passplain` is given (1537).
    require_passplain: bool = False
    #: `POST systemfile?override=yes` overwrites (newer builds); False: still 1642.
    systemfile_override: bool = True
    #: `GET systemfile/<name>?args=filelocation:…` (one file with content; ANS uses it). False: only
    #: the documented `GET systemfile?args=filename:…,filelocation:…` reads one file (the 12.1 and 13
    #: reference pages list GET (ALL) only; TF reads so) and the `/<name>` form is 405/278.
    systemfile_get_by_name: bool = True
    #: An upload from an admin partition to a directory outside `/nsconfig/partitions/<name>`:
    #: "refuse" with 599/1645 (the gentool error text; the NITRO answer is not quoted anywhere), or
    #: "accept" it - then a certkey add there still fails: 1647 "not accessible in current partition".
    partition_uploads: Literal["refuse", "accept"] = "refuse"
    #: Binding a certkey without a private key as a server (default or SNI) certificate:
    #: "reject" with 599/1547 "Certificate is not a server certificate" (guess), or "accept".
    bind_without_key: Literal["reject", "accept"] = "reject"
    #: Success bodies of writes: the `{"errorcode":0,...}` envelope, or empty (some builds).
    empty_write_bodies: bool = False
    #: A request without usable credentials (no token, `SESSID=deleted`): 401 with JSON 1027, or
    #: the HTML "NITRO Login Failure" page (ansible/ansible #33378, 2017 build).
    no_credentials_answer: Literal["json", "html"] = "json"
    #: GET of a certkey that does not exist: 404/258 (adc-nitro-go's tests) or 599/1540
    #: "Certificate does not exist" (netscaler-k8s-ingress-controller #37).
    missing_certkey_code: Literal[258, 1540] = 258
    #: The login reply's session cookie: `NITRO_AUTH_TOKEN=%23%23<60 hex>` (reference pages, SDKs)
    #: or `SESSID=deleted` plus `sessionid=%23%23<252 hex>` (influxdata/telegraf #11478).
    login_cookie: Literal["NITRO_AUTH_TOKEN", "sessionid"] = "NITRO_AUTH_TOKEN"


@dataclass(frozen=True)
class RestrictedUser:
    """A user whose command policy allows only CLI commands matching `allow` (a regex)."""

    username: str
    password: str
    allow: str

    @classmethod
    def parse(cls, text: str) -> RestrictedUser:
        """`NAME:PASS:REGEX` as given on the command line (the regex may contain colons)."""
        name, password, allow = text.split(":", 2)
        re.compile(allow)
        return cls(name, password, allow)


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything that shapes one simulated appliance; `run_simulator(config)` serves it."""

    host: str = "127.0.0.1"
    port: int = 0
    https: bool = True
    #: management TLS certificate/key files; None: generate a throw-away CA and certificate
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: extra DNS names / IPs for the generated certificate (e.g. a Kubernetes Service name)
    tls_hosts: tuple[str, ...] = ()
    username: str = "nsroot"
    password: str = "nsroot"  # noqa: S105 - the documented factory default
    restricted_users: tuple[RestrictedUser, ...] = ()
    #: SSL vservers: "name" (lb) or "name:cs" / "name:vpn"
    ssl_vservers: tuple[str, ...] = ("vs_https",)
    non_ssl_vservers: tuple[str, ...] = ()
    #: SSL vservers created with SNI enabled
    sni_vservers: tuple[str, ...] = ()
    partitions: tuple[str, ...] = ()
    certkey_name_max: int = 31
    #: the platform loads ECDSA certificates (False: MPX/FIPS-like, RSA only → 1675)
    ecdsa: bool = True
    #: EC curves the platform accepts (others → 1676); P-256/P-384 per NetScaler's ECDSA docs
    ecdsa_curves: tuple[str, ...] = ("secp256r1", "secp384r1", "secp521r1", "secp224r1")
    #: seeds fault probabilities and jitter (session ids stay random: two simulators never share one)
    seed: int = 0
    ha_state: HAState = "standalone"
    version: str = DEFAULT_VERSION
    #: idle timeout of a session without an explicit login `timeout` (seconds)
    session_timeout: float = 1800.0
    max_sessions: int = 20
    #: newer builds also limit sessions per user (systemparameter `maxsessionperuser`, 1-40)
    max_sessions_per_user: int | None = None
    #: extra seconds every `nsconfig?action=save` takes (a slow save)
    save_delay: float = 0.0
    #: fault rules active from the start (copied per simulator: read counters from sim.faults.rules)
    faults: tuple[FaultRule, ...] = ()
    quirks: Quirks = field(default_factory=Quirks)
    #: log one line per request at INFO on the `netscaler_certsync.simulator` logger
    log_requests: bool = True
    #: answer TLS for each SSL vserver (default partition) on its own port with the bound
    #: certificates, so a client can verify by handshake what is served (`sim.vserver_address`)
    serve_vservers: bool = False
    #: serve `ns-server-certificate` (with its linked chain) on the management endpoint once it is
    #: updated or relinked, as a real appliance does (simulator/management_tls.py)
    management_follows_builtin: bool = False
    #: keep at most about this many request records (None: all; a long-running CLI caps it)
    request_log_max: int | None = None
