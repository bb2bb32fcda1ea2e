"""The NITRO client's one error tree, and names for the errorcodes the sync relies on.

httpx (or any other transport) may be swapped, so its exceptions never leak: `client.py`
translates them at one seam and raises ours `from` the original. The tree::

    NitroError
    ├── ConfigurationError          # the client was asked for something unsafe or impossible
    ├── WriteFenced                 # the write guard refused a write: nothing was sent
    ├── TransportError              # connect/read/write failures (retryable when idempotent)
    │   ├── NitroTimeoutError
    │   ├── SessionClosedError      # this client was closed (shutdown, replaced settings): not retryable
    │   └── TLSVerificationError    # the appliance's certificate was not trusted: not retryable
    ├── APIError(status, errorcode, message)
    │   ├── BadRequestError         # 400: arguments (1095, 1097, 278 ...)
    │   ├── AuthenticationError     # 401: bad credentials (354), session expired (444, 1027)
    │   ├── ForbiddenError          # 403 or command policy (2138)
    │   ├── NotFoundError           # 404 or 258
    │   ├── AlreadyExistsError      # 409 or 273 / 1642
    │   ├── NetScalerError          # 599 "Netscaler specific error": deterministic, never retried
    │   └── ServerError             # other 5xx: retryable when idempotent
    └── ProtocolError               # a body we cannot parse or an unexpected shape

Error text never carries a password or key material: messages pass through `redact()`, which
removes the secrets the client knows and anything shaped like a PEM block or a CLI password flag
(NetScaler appends the offending CLI command to some messages, e.g. 2138).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable


class ErrorCode(enum.IntEnum):
    """NITRO errorcodes with a meaning for the sync (see docs/nitro.md, section 3)."""

    NO_SUCH_RESOURCE = 258
    RESOURCE_EXISTS = 273
    INVALID_ARGUMENT = 278
    INVALID_CREDENTIALS = 354
    SESSION_EXPIRED = 444
    SESSION_LIMIT = 445
    NO_SUCH_VSERVER = 461
    NOT_LOGGED_IN = 1027
    REQUIRED_ARGUMENT_MISSING = 1095
    INVALID_ARGUMENT_VALUE = 1097
    STRING_TOO_LONG = 1106
    ECDSA_NOT_SUPPORTED = 1675
    EC_CURVE_NOT_SUPPORTED = 1676
    BULK_FAILED = 1243
    SAVE_IN_PROGRESS = 1461
    INVALID_CERTIFICATE = 1536
    INVALID_PRIVATE_KEY = 1537
    CERT_KEY_MISMATCH = 1538
    CERT_DOES_NOT_EXIST = 1540
    CERT_REFERENCED = 1541
    BINDING_DOES_NOT_EXIST = 1542
    CANNOT_LINK_TO_SELF = 1543
    NOT_SSL_VSERVER = 1544
    NO_CA_LINK = 1545
    INVALID_PASSWORD = 1614
    FILE_EXISTS = 1642
    FILE_NOT_PRESENT = 1647
    DUPLICATE_SNI_DOMAIN = 1674
    LINK_LOOP = 1677
    NOT_AUTHORIZED = 2138
    DIFFERENT_DOMAIN = 3585
    CANNOT_DELETE_DEFAULT_CERT = 3719


_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?(-----END [A-Z0-9 ]+-----|$)", re.DOTALL)
_PASSWORD_FLAG = re.compile(
    r"(-pass(?:plain|word|crypt)\s+|\"pass(?:plain|word)\"\s*:\s*)(\"[^\"]*\"|\S+)", re.I
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without any known secret, PEM block or CLI password argument."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _PEM_BLOCK.sub("<redacted PEM>", text)
    return _PASSWORD_FLAG.sub(lambda m: m.group(1) + "***", text)


class NitroError(Exception):
    """Base of every error raised by the NITRO client."""


class ConfigurationError(NitroError):
    """The client cannot be built as asked (plain HTTP not allowed, unreadable CA bundle...)."""


class WriteFenced(NitroError):
    """A write refused before it was sent, by the session's write guard: this process may not
    write to appliances now (the operator's leadership fence, docs/design.md "High availability").
    Nothing reached the appliance. `retry_after`: seconds until the guard may allow it, when the
    guard knows (an appliance claimed by another process: when that claim would expire)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransportError(NitroError):
    """The request did not complete at the transport level (connect, read, write, reset).

    `sent` tells whether the request may have reached the appliance: False only when the
    failure happened before a single byte left (connect errors), which makes a write safe to
    repeat; True means the outcome is unknown.
    """

    def __init__(self, message: str, *, endpoint: str = "", sent: bool = True) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.sent = sent


class NitroTimeoutError(TransportError):
    """No answer in time."""


class SessionClosedError(TransportError):
    """This client was closed while a task still held it; nothing was sent. The next reconcile
    takes a fresh client, so repeating the request on this one is pointless."""


class TLSVerificationError(TransportError):
    """The appliance's certificate or name failed verification; retrying cannot help."""


class ProtocolError(NitroError):
    """The appliance answered with a body we cannot parse or an unexpected shape."""


class APIError(NitroError):
    """The appliance refused the request: HTTP status plus NITRO errorcode and message."""

    def __init__(
        self,
        status: int,
        errorcode: int | None,
        message: str,
        *,
        method: str = "",
        resource: str = "",
        name: str | None = None,
        severity: str | None = None,
    ) -> None:
        self.status = status
        self.errorcode = errorcode
        self.message = message
        self.method = method
        self.resource = resource
        self.name = name
        self.severity = severity
        target = f"{resource}/{name}" if name else resource
        code = f"errorcode {errorcode}" if errorcode is not None else "no errorcode"
        super().__init__(f"{method} {target}: HTTP {status}, {code}: {message}".strip())

    @property
    def code(self) -> ErrorCode | int | None:
        """The errorcode as an `ErrorCode` when we know its name."""
        if self.errorcode is None:
            return None
        try:
            return ErrorCode(self.errorcode)
        except ValueError:
            return self.errorcode


class BadRequestError(APIError):
    """400: an argument is missing or invalid."""


class AuthenticationError(APIError):
    """401: bad credentials, or a session that expired or was killed."""


class ForbiddenError(APIError):
    """403 or errorcode 2138: the user's command policy does not allow this."""


class NotFoundError(APIError):
    """404 or errorcode 258: no such object."""


class AlreadyExistsError(APIError):
    """409 or errorcode 273/1642: an object (or file, or certificate content) already exists."""


class NetScalerError(APIError):
    """599 "Netscaler specific error": a deterministic feature error, never retried."""


class ServerError(APIError):
    """Any other 5xx: the appliance (or a proxy in front of it) failed; retryable if idempotent."""


def api_error_class(status: int, errorcode: int | None) -> type[APIError]:
    """The most specific class for a failed reply; the errorcode wins where it is unambiguous."""
    if errorcode == ErrorCode.NOT_AUTHORIZED:
        return ForbiddenError
    if errorcode in (ErrorCode.SESSION_EXPIRED, ErrorCode.NOT_LOGGED_IN):
        return AuthenticationError  # with any HTTP status: some builds answer them with 200 or 403
    if errorcode in (ErrorCode.RESOURCE_EXISTS, ErrorCode.FILE_EXISTS):
        return AlreadyExistsError
    by_status: dict[int, type[APIError]] = {
        400: BadRequestError,
        401: AuthenticationError,
        403: ForbiddenError,
        404: NotFoundError,
        409: AlreadyExistsError,
        599: NetScalerError,
    }
    if status in by_status:
        return by_status[status]
    if errorcode == ErrorCode.NO_SUCH_RESOURCE:
        return NotFoundError
    if 500 <= status < 600:
        return ServerError
    return APIError


# --- predicates: what callers ask of an error ------------------------------------------------


def has_code(exc: BaseException, *codes: int) -> bool:
    """True when `exc` is an API error carrying one of `codes`."""
    return isinstance(exc, APIError) and exc.errorcode in codes


def is_not_found(exc: BaseException) -> bool:
    """The object is absent (258, 404, a missing certkey 1540 or vserver 461)."""
    return isinstance(exc, NotFoundError) or has_code(
        exc, ErrorCode.NO_SUCH_RESOURCE, ErrorCode.CERT_DOES_NOT_EXIST, ErrorCode.NO_SUCH_VSERVER
    )


def is_already_exists(exc: BaseException) -> bool:
    return isinstance(exc, AlreadyExistsError) or has_code(exc, ErrorCode.RESOURCE_EXISTS)


def is_duplicate_content(exc: BaseException) -> bool:
    """273 naming `certkeyName Contents`: this certificate is already loaded under another name."""
    return (
        isinstance(exc, APIError)
        and exc.errorcode == ErrorCode.RESOURCE_EXISTS
        and "contents" in exc.message.lower()
    )


def existing_name_for_content(exc: BaseException) -> str | None:
    """The existing certkey named in `Resource already exists [certkeyName Contents, <name>]`."""
    if not isinstance(exc, APIError) or not is_duplicate_content(exc):
        return None
    match = re.search(r"\[\s*certkeyName\s+Contents\s*,\s*([^\]]+?)\s*\]", exc.message, re.I)
    return match.group(1) if match else None


def is_file_exists(exc: BaseException) -> bool:
    return has_code(exc, ErrorCode.FILE_EXISTS)


def is_file_missing(exc: BaseException) -> bool:
    return has_code(exc, ErrorCode.FILE_NOT_PRESENT)


def is_cert_missing(exc: BaseException) -> bool:
    return has_code(exc, ErrorCode.CERT_DOES_NOT_EXIST)


def is_domain_mismatch(exc: BaseException) -> bool:
    return has_code(exc, ErrorCode.DIFFERENT_DOMAIN)


def is_key_mismatch(exc: BaseException) -> bool:
    return has_code(exc, ErrorCode.CERT_KEY_MISMATCH)


def is_bad_key(exc: BaseException) -> bool:
    """Invalid or encrypted key without passphrase (1537), or a wrong passphrase (1614)."""
    return has_code(exc, ErrorCode.INVALID_PRIVATE_KEY, ErrorCode.INVALID_PASSWORD)


def is_still_referenced(exc: BaseException) -> bool:
    return has_code(exc, ErrorCode.CERT_REFERENCED)


def is_binding_missing(exc: BaseException) -> bool:
    return has_code(exc, ErrorCode.BINDING_DOES_NOT_EXIST)


def is_duplicate_sni_domain(exc: BaseException) -> bool:
    return has_code(exc, ErrorCode.DUPLICATE_SNI_DOMAIN)


def is_vserver_missing(exc: BaseException) -> bool:
    """The vserver does not exist (461, sometimes 258) or is not an SSL vserver (1544)."""
    return has_code(exc, ErrorCode.NO_SUCH_VSERVER, ErrorCode.NOT_SSL_VSERVER)


def is_session_expired(exc: BaseException) -> bool:
    """An authenticated call refused for its session: log in again and repeat once.

    Any 401 (JSON, an HTML "NITRO Login Failure" page or no body, after a failover, a reboot or
    an idle timeout), and 444/1027 whatever the HTTP status: the request was not executed.
    """
    return isinstance(exc, AuthenticationError) and (
        exc.status == 401 or exc.errorcode in (ErrorCode.SESSION_EXPIRED, ErrorCode.NOT_LOGGED_IN)
    )


def is_key_type_refused(exc: BaseException) -> bool:
    """The platform refuses this key type: ECDSA (1675) or its curve (1676), e.g. MPX/FIPS."""
    return has_code(exc, ErrorCode.ECDSA_NOT_SUPPORTED, ErrorCode.EC_CURVE_NOT_SUPPORTED)


def is_forbidden(exc: BaseException) -> bool:
    return isinstance(exc, ForbiddenError)


def is_retryable(exc: BaseException) -> bool:
    """Worth repeating an *idempotent* request: transport trouble (not TLS) or a non-599 5xx."""
    if isinstance(exc, TLSVerificationError | SessionClosedError):
        return False
    return isinstance(exc, TransportError | ServerError)


__all__ = [
    "APIError",
    "AlreadyExistsError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ErrorCode",
    "ForbiddenError",
    "NetScalerError",
    "NitroError",
    "NitroTimeoutError",
    "NotFoundError",
    "ProtocolError",
    "ServerError",
    "SessionClosedError",
    "TLSVerificationError",
    "TransportError",
    "WriteFenced",
    "api_error_class",
    "existing_name_for_content",
    "has_code",
    "is_already_exists",
    "is_bad_key",
    "is_binding_missing",
    "is_cert_missing",
    "is_domain_mismatch",
    "is_duplicate_content",
    "is_duplicate_sni_domain",
    "is_file_exists",
    "is_file_missing",
    "is_forbidden",
    "is_key_mismatch",
    "is_key_type_refused",
    "is_not_found",
    "is_retryable",
    "is_session_expired",
    "is_still_referenced",
    "is_vserver_missing",
    "redact",
]
