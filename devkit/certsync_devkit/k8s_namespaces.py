"""Route `v1/namespaces` requests, which kmock 0.8's URL parser cannot represent.

kmock reads `/api/v1/namespaces/<x>` as "namespace <x>, no resource" and fails outright on
`/api/v1/namespaces` (a 500). kopf lists and watches namespaces when it serves specific
namespaces (`kopf run -n NS`), so namespaced operators could not be tested. `parse_namespace_request`
builds the request kmock *should* have parsed: the cluster-scoped resource `v1/namespaces`,
named or not, with an optional `status`/`finalize` subresource. The emulator then handles it
like any other cluster-scoped object (stamps, selectors, watch, 409/404).
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp.web
from kmock._internal import enums, parsing, references, rendering

__all__ = ["NAMESPACES", "STANDARD_NAMESPACES", "namespace_object", "parse_namespace_request"]

NAMESPACES = references.resource("", "v1", "namespaces")
STANDARD_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_PATH = re.compile(r"/api/v1/namespaces(?:/(?P<name>[^/]+)(?:/(?P<sub>status|finalize))?)?/?")


def namespace_object(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


async def parse_namespace_request(raw: aiohttp.web.BaseRequest, request_id: int) -> rendering.Request | None:
    """The request for a namespaces URL, or None when the path is something else."""
    m = _PATH.fullmatch(raw.path)
    if m is None:
        return None
    body = await raw.read()
    text = body.decode(errors="replace")
    try:
        data = await raw.json() if body else None
    except ValueError:
        data = None
    method = enums.method(raw.method)
    query = dict(raw.query)
    path = parsing.ParsedPath("", "v1", "namespaces", None, m["name"], m["sub"])
    return rendering.Request(
        id=request_id,
        raw_request=raw,
        url=raw.url,
        method=raw.method,
        params=query,
        headers=dict(raw.headers),
        cookies=dict(raw.cookies),
        data=data,
        body=body,
        text=text,
        action=parsing.guess_k8s(path, method, query),
        resource=NAMESPACES,
        namespace=None,
        name=m["name"],
        subresource=m["sub"],
    )
