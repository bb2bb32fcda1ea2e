"""The NITRO error table (errorcode -> HTTP status, message) and the envelope helpers.

Codes, statuses and texts follow nitro.md section 3; where the HTTP status is a guess there,
NetScaler-specific errors use 599 "Netscaler specific error", like the real appliance.
Message texts follow the NITRO error-message reference pages (NRD `docs/error-messages/`).
"""

from __future__ import annotations

from typing import Any, Literal

NS_SPECIFIC = 599
REASONS = {599: "Netscaler specific error", 207: "Multi Status", 209: "X-NITRO-WARNING"}

ERRORS: dict[int, tuple[int, str]] = {
    258: (404, "No such resource"),
    273: (409, "Resource already exists"),
    278: (NS_SPECIFIC, "Invalid argument"),  # 599, adc-nitro-go #15 and terraform-provider #1447
    354: (401, "Invalid username or password"),
    444: (401, "Session expired or killed. Please login again"),
    445: (409, "Session limit exceeded"),
    461: (404, "No such Vserver"),
    1027: (401, "Not logged in or connection timed out"),
    1028: (
        NS_SPECIFIC,
        "Connected to a secondary node; changes made will not be propagated to, or saved on, other nodes",
    ),
    1092: (400, "Arguments cannot both be specified"),
    1095: (400, "Required argument missing"),
    1097: (400, "Invalid argument value"),
    1106: (400, "String length exceeds maximum"),  # GenLeCertForNS #34; HTTP status not quoted
    1243: (207, "Bulk operation failed"),
    1461: (NS_SPECIFIC, "Maximum number of concurrent save configs are in progress. Try again later."),
    1536: (NS_SPECIFIC, "Invalid certificate"),
    1537: (NS_SPECIFIC, "Invalid private key, or PEM pass phrase required for this private key"),
    1538: (NS_SPECIFIC, "Certificate and private key do not match"),
    1540: (NS_SPECIFIC, "Certificate does not exist"),
    1541: (
        NS_SPECIFIC,
        "Certificate is referenced by a CRL, OCSP responder, vserver, service, monitor, SSL profile, "
        "another certificate, or a policy expression using XML_ENCRYPT() or XML_DECRYPT()",
    ),
    1542: (NS_SPECIFIC, "Certificate binding does not exist"),
    1543: (NS_SPECIFIC, "Certificate cant be linked to the same certificate"),
    1544: (NS_SPECIFIC, "Objects protocol type is not SSL"),
    1545: (NS_SPECIFIC, "Certificate does not have any CA link"),
    1546: (NS_SPECIFIC, "Current certificate replaces the previous binding"),  # a warning
    1547: (NS_SPECIFIC, "Certificate is not a server certificate"),
    1548: (NS_SPECIFIC, "Issuer certificate mismatch"),
    1587: (NS_SPECIFIC, "All incompatible CA links/Cert bindings were broken during the update operation"),
    1588: (NS_SPECIFIC, "The specified certificate is not yet valid"),  # a warning on add/update
    1589: (NS_SPECIFIC, "The certificate has expired"),  # a warning on add/update
    1614: (NS_SPECIFIC, "Invalid password"),
    1642: (409, "Cannot create output file. File already exists"),
    1645: (NS_SPECIFIC, "Output filepath should be under the partitions default SSL directory"),
    1647: (NS_SPECIFIC, "Input file(s) not present or not accessible in current partition"),
    1674: (NS_SPECIFIC, "Duplicate domain cert cannot be added."),
    1675: (NS_SPECIFIC, "ECDSA certificates are not supported for this entity/platform"),
    1676: (NS_SPECIFIC, "The EC curve in the ECDSA certificate is not supported"),
    1677: (NS_SPECIFIC, "Linking the certificate would create a loop"),
    2138: (403, "Not authorized to execute this command"),
    3585: (
        NS_SPECIFIC,
        "Certificate is registered to a different domain; "
        "use the no domain check option to force the operation",
    ),
    3627: (NS_SPECIFIC, "SNI feature not enabled on the vserver/service"),
    3628: (NS_SPECIFIC, "CommonName not present in certificate, it is must for a certificate to use for SNI"),
    3719: (NS_SPECIFIC, "Cannot delete internal default certificate"),
}


#: The page some builds answer instead of JSON when a request has no usable credentials
#: (ansible/ansible #33378: `text/html`, "NITRO Login Failure").
LOGIN_FAILURE_PAGE = (
    "<html><head><title>NITRO Login Failure</title></head><body>"
    "<h1>Authentication failed - Please provide credentials</h1></body></html>"
)
BodyForm = Literal["json", "html", "empty"]


class NitroError(Exception):
    """An error the appliance answers with: HTTP status + NITRO envelope (or, with `form`, an
    HTML login-failure page or no body at all, as some builds and proxies answer a 401)."""

    def __init__(
        self,
        code: int,
        *detail: object,
        status: int | None = None,
        message: str | None = None,
        form: BodyForm = "json",
    ):
        default_status, default_message = ERRORS.get(code, (NS_SPECIFIC, "Internal error"))
        text = message or default_message
        if detail:
            text += " [" + ", ".join(str(d) for d in detail) + "]"
        super().__init__(text)
        self.code = code
        self.status = status or default_status
        self.message = text
        self.form = form

    def envelope(self) -> dict[str, Any]:
        return {"errorcode": self.code, "message": self.message, "severity": "ERROR"}


def done() -> dict[str, Any]:
    return {"errorcode": 0, "message": "Done", "severity": "NONE"}
