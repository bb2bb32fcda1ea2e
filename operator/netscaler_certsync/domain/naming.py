"""Names on the appliance: certkey names from the user's template, content-addressed file names.

NetScaler's rules (nitro.md section 5): a certkey name starts with an ASCII letter, digit or `_`
and holds only letters, digits and `_ # . space : @ = -`; older builds cap it at 31 characters
(configurable here); system file names are capped at 63.

Ownership is written into the file names, the one place on the appliance a certkey's owner can
be stored (a certkey has no free-text field), so it can be decided from the appliance alone:
- leaf files are `cs-<cluster>-<scope>-<fingerprint>.crt|.key` (63 characters, the systemfile
  limit): `<cluster>` is a 6-hex-digit tag of the cluster identity (`cluster_tag`), `<scope>` an
  8-hex-digit hash of the CertificateSync (`owner_id`); together the owner tag (`owner_tag`). An
  interrupted apply's leftovers are found by it, and no other sync's or cluster's files match;
- CA files are `cs-ca-<cluster>-<fingerprint>.crt`, CA certkeys `csca-<fingerprint>`: the certkey
  is shared by every sync and cluster (NetScaler loads a certificate once), its file says which
  cluster added it;
- files of earlier versions carry no cluster: `cs-<scope>-<fingerprint>` and `cs-ca-<fingerprint>`
  (`FileTag.cluster` is None). Whose they are is decided by the records (engine/plan_types.py).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from dataclasses import dataclass

from netscaler_certsync.domain import reasons
from netscaler_certsync.domain.errors import NamingError

#: The CRD's default too: readable on the appliance, stable across renewals, unique per Secret.
DEFAULT_TEMPLATE = "{{namespace}}-{{secretName}}"
DEFAULT_NAME_LIMIT = 31
FILE_NAME_LIMIT = 63
PLACEHOLDERS = ("certificateId", "namespace", "secretName", "commonName")

_ALLOWED = re.compile(r"[A-Za-z0-9_#. :@=-]")
_VALID_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_#. :@=-]*")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z]+)\s*\}\}")
_HEX = re.compile(r"[0-9a-f]+")


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def certificate_id(namespace: str, secret_name: str) -> str:
    """A stable 10-character id of (namespace, Secret name): lower-case base32, valid in any name."""
    return base64.b32encode(_digest(f"{namespace}/{secret_name}")).decode()[:10].lower()


def owner_id(scope: str) -> str:
    """A stable 8-hex-digit id of a deploying scope (e.g. `namespace/certificatesync-name`)."""
    return _digest(scope).hex()[:8]


def cluster_tag(identity: str) -> str:
    """A stable 6-hex-digit tag of a cluster identity (the kube-system Namespace UID, or `--cluster-id`).

    Six digits keep leaf file names within 63 characters; two clusters share a tag with a chance
    of one in 16.7 million.
    """
    return _digest(f"cluster:{identity}").hex()[:6]


def owner_tag(identity: str, scope: str) -> str:
    """The owner tag in leaf file names: `<cluster tag>-<scope id>`."""
    return f"{cluster_tag(identity)}-{owner_id(scope)}"


def _sanitize_value(value: str) -> str:
    """A placeholder value reduced to allowed characters (`*.example.com` → `wildcard.example.com`)."""
    value = value.replace("*", "wildcard")
    return "".join(ch if _ALLOWED.fullmatch(ch) else "-" for ch in value)


def validate_name(name: str, limit: int = DEFAULT_NAME_LIMIT) -> str:
    """Return `name` if NetScaler accepts it as a certkey name, else raise `NamingError`."""
    if not name or not _VALID_NAME.fullmatch(name):
        bad = sorted({ch for ch in name if not _ALLOWED.fullmatch(ch)})
        detail = (
            f"characters {''.join(bad)!r} are not allowed"
            if bad
            else "it must start with a letter, digit or _"
        )
        raise NamingError(reasons.InvalidName, f"certkey name {name!r} is invalid: {detail}")
    if len(name) > limit:
        raise NamingError(reasons.NameTooLong, f"certkey name {name!r} is longer than {limit} characters")
    return name


def _shorten(name: str, limit: int) -> str:
    """Cut `name` to `limit` with a hash of the whole name as suffix: different names stay different."""
    suffix = _digest(name).hex()[:8]
    return name[: limit - len(suffix) - 1].rstrip(" ") + "-" + suffix


def render_certkey_name(
    template: str,
    *,
    namespace: str,
    secret_name: str,
    common_name: str = "",
    limit: int = DEFAULT_NAME_LIMIT,
) -> str:
    """Render a `certificateNameTemplate`; raise `NamingError` when the result cannot be valid.

    Values are reduced to allowed characters; literal text must already be valid. A result longer
    than `limit` is cut and given a hash of the whole rendered name as suffix, but only when the
    template names the Secret (`{{certificateId}}` or `{{secretName}}`, which the CRD requires):
    then different Secrets keep different names. A template that does not (only `{{commonName}}`,
    say) is rejected rather than cut into a possible collision.
    """
    literal = _PLACEHOLDER.sub("", template)
    bad = sorted({ch for ch in literal if not _ALLOWED.fullmatch(ch)})
    if bad:
        raise NamingError(
            reasons.InvalidName, f"template {template!r} has characters NetScaler forbids: {''.join(bad)!r}"
        )
    used = _PLACEHOLDER.findall(template)
    unknown = sorted(set(used) - set(PLACEHOLDERS))
    if unknown:
        raise NamingError(
            reasons.InvalidName,
            f"template {template!r} uses unknown placeholders {unknown}; known: {list(PLACEHOLDERS)}",
        )
    values = {
        "certificateId": certificate_id(namespace, secret_name),
        "namespace": _sanitize_value(namespace),
        "secretName": _sanitize_value(secret_name),
        "commonName": _sanitize_value(common_name),
    }
    name = _PLACEHOLDER.sub(lambda m: values[m.group(1)], template).strip(" ")
    if name and not re.match(r"[A-Za-z0-9_]", name):
        name = "_" + name
    if not name:
        raise NamingError(reasons.InvalidName, f"template {template!r} renders an empty name")
    if len(name) > limit:
        if not {"certificateId", "secretName"} & set(used):
            raise NamingError(
                reasons.NameTooLong,
                f"template {template!r} renders {name!r} ({len(name)} characters, limit {limit}); "
                "add {{certificateId}} so it can be shortened safely, or shorten the template",
            )
        if limit < 12:
            raise NamingError(reasons.NameTooLong, f"a certkey name limit of {limit} is too small")
        name = _shorten(name, limit)
    return validate_name(name, limit)


def successor_name(base: str, fingerprint: str, limit: int = DEFAULT_NAME_LIMIT) -> str:
    """A unique certkey name for a renewed certificate deployed beside its predecessor."""
    suffix = fingerprint[:8]
    return validate_name(base[: limit - len(suffix) - 1].rstrip(" ") + "-" + suffix, limit)


def ca_certkey_name(fingerprint: str, limit: int = DEFAULT_NAME_LIMIT) -> str:
    """The certkey name of a CA certificate, from its fingerprint."""
    return "csca-" + fingerprint[: max(16, min(limit, 40) - 5)]


def is_ca_certkey_name(name: str) -> bool:
    return name.startswith("csca-") and bool(_HEX.fullmatch(name[5:])) and len(name) >= 21


@dataclass(frozen=True)
class LeafFiles:
    cert: str
    key: str


def leaf_file_names(owner: str, fingerprint: str, key_id: str | None = None) -> LeafFiles:
    """Content-addressed file names of a leaf certificate and its key, tagged with `owner`
    (`owner_tag`; an earlier version's scope id alone in files it wrote).

    The certificate file is named by the certificate's fingerprint, the key file by `key_id` (a
    hash of the public key, `CertificateMaterial.key_id`): a renewal that keeps its key reuses the
    key file instead of uploading the same secret again under another name.
    """
    stem = f"cs-{owner}-"
    files = LeafFiles(cert=f"{stem}{fingerprint[:40]}.crt", key=f"{stem}{(key_id or fingerprint)[:40]}.key")
    assert max(len(files.cert), len(files.key)) <= FILE_NAME_LIMIT
    return files


def ca_file_name(fingerprint: str, cluster: str) -> str:
    """The file of a CA certificate added by the cluster with tag `cluster`."""
    return f"cs-ca-{cluster}-{fingerprint[:40]}.crt"


_LEAF_FILE = re.compile(r"cs-(?:([0-9a-f]{6})-)?([0-9a-f]{8})-([0-9a-f]{40})\.(crt|key)")
_CA_FILE = re.compile(r"cs-ca-(?:([0-9a-f]{6})-)?([0-9a-f]{40})\.crt")


@dataclass(frozen=True)
class FileTag:
    """What a file name of ours says: who wrote it and what it holds."""

    cluster: str | None
    """The cluster tag; None in a file an earlier version wrote (no cluster in its name)."""
    scope: str | None
    """The scope id (one CertificateSync) of a leaf file; None for a CA file."""
    fingerprint: str
    """The first 40 hex digits of the certificate fingerprint (or public-key hash, `.key`)."""

    @property
    def owner(self) -> str | None:
        """The owner tag as `leaf_file_names` wrote it (None for a CA file)."""
        if self.scope is None:
            return None
        return f"{self.cluster}-{self.scope}" if self.cluster else self.scope


# Cached: the planner asks about every file and certkey of the appliance in each plan (with
# thousands of certificates, the regular expressions were a tenth of the operator's CPU).
@functools.lru_cache(maxsize=1 << 16)
def file_tag(filename: str) -> FileTag | None:
    """The tag in one of our file names (any cluster, any version), or None for anyone else's file."""
    base = filename.rsplit("/", 1)[-1]
    if m := _LEAF_FILE.fullmatch(base):
        return FileTag(m.group(1), m.group(2), m.group(3))
    if m := _CA_FILE.fullmatch(base):
        return FileTag(m.group(1), None, m.group(2))
    return None


def leaf_file_owner(filename: str) -> str | None:
    """The owner tag encoded in a leaf file name of ours, or None for anyone else's file."""
    tag = file_tag(filename)
    return tag.owner if tag else None


def leaf_file_fingerprint(filename: str) -> str | None:
    """The (shortened) certificate fingerprint in a leaf file name of any owner, or None."""
    tag = file_tag(filename)
    return tag.fingerprint if tag and tag.scope else None


def is_ca_file_name(filename: str) -> bool:
    tag = file_tag(filename)
    return tag is not None and tag.scope is None
