"""Certificate material, naming and reasons: pure code, no I/O, no Kubernetes.

Public surface:
- `parse_material()` → `CertificateMaterial` (leaf, ordered chain, root, canonical key) or
  `MaterialError`;
- naming: `render_certkey_name()`, `validate_name()`, `certificate_id()`, `owner_id()`,
  `cluster_tag()`, `owner_tag()`,
  `successor_name()`, `ca_certkey_name()`, `leaf_file_names()`, `ca_file_name()` and the
  recognisers `file_tag()`, `leaf_file_owner()`, `leaf_file_fingerprint()`, `file_fingerprint()`,
  `is_ca_file_name()`, `is_ca_certkey_name()`;
- serials: `serial_text()` (NetScaler's form), `same_serial()` (compare as numbers);
- `reasons`: CamelCase reason constants used in conditions, Events and results.
"""

from netscaler_certsync.domain import reasons
from netscaler_certsync.domain.errors import DomainError, MaterialError, NamingError
from netscaler_certsync.domain.material import (
    CertificateMaterial,
    CertInfo,
    cert_info,
    file_fingerprint,
    parse_material,
)
from netscaler_certsync.domain.naming import (
    DEFAULT_NAME_LIMIT,
    DEFAULT_TEMPLATE,
    FILE_NAME_LIMIT,
    FileTag,
    LeafFiles,
    ca_certkey_name,
    ca_file_name,
    certificate_id,
    cluster_tag,
    file_tag,
    is_ca_certkey_name,
    is_ca_file_name,
    leaf_file_fingerprint,
    leaf_file_names,
    leaf_file_owner,
    owner_id,
    owner_tag,
    render_certkey_name,
    successor_name,
    validate_name,
)
from netscaler_certsync.domain.serials import same_serial, serial_text, serial_value

__all__ = [
    "DEFAULT_NAME_LIMIT",
    "DEFAULT_TEMPLATE",
    "FILE_NAME_LIMIT",
    "CertInfo",
    "CertificateMaterial",
    "DomainError",
    "FileTag",
    "LeafFiles",
    "MaterialError",
    "NamingError",
    "ca_certkey_name",
    "ca_file_name",
    "cert_info",
    "certificate_id",
    "cluster_tag",
    "file_fingerprint",
    "file_tag",
    "is_ca_certkey_name",
    "is_ca_file_name",
    "leaf_file_fingerprint",
    "leaf_file_names",
    "leaf_file_owner",
    "owner_id",
    "owner_tag",
    "parse_material",
    "reasons",
    "render_certkey_name",
    "same_serial",
    "serial_text",
    "serial_value",
    "successor_name",
    "validate_name",
]
