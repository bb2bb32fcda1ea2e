"""The cluster identity: which objects on the appliance this operator installation owns.

Every object the operator creates carries the identity's tag in its file names
(`domain.owner_tag`); objects tagged by another identity are foreign. The identity is
`--cluster-id` (Helm value `clusterId`) when given — for a cluster that is rebuilt but should keep
its objects, or for two installations in one cluster — else the UID of the kube-system Namespace,
which lives as long as the cluster (RBAC: `get` on namespaces; k8s/permissions.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from netscaler_certsync.domain import cluster_tag

log = logging.getLogger(__name__)

KUBE_SYSTEM = "kube-system"


@dataclass(frozen=True)
class ClusterIdentity:
    id: str = ""
    source: str = "unset"
    """`flag` (--cluster-id), `kube-system` (the Namespace UID), or `unset` before startup."""

    @property
    def tag(self) -> str:
        """The tag in file names on the appliance (`domain.cluster_tag`)."""
        return cluster_tag(self.id)

    def status(self) -> dict[str, Any]:
        """As NetScalerConnection status shows it (`status.clusterIdentity`)."""
        return {"id": self.id, "tag": self.tag, "source": self.source}


async def resolve(flag: str | None, namespace_uid: Any) -> ClusterIdentity:
    """`flag` if given, else the kube-system Namespace UID read with `namespace_uid(name)`.

    No fallback: without an identity the operator cannot tell its objects from another
    cluster's, so a failed read stops the start-up (the error names the RBAC it needs).
    """
    if flag:
        identity = ClusterIdentity(flag, "flag")
    else:
        try:
            uid = await namespace_uid(KUBE_SYSTEM)
        except Exception as exc:
            raise RuntimeError(
                f"cannot read the UID of Namespace {KUBE_SYSTEM} for the cluster identity ({exc}); "
                "grant `get` on namespaces or set --cluster-id"
            ) from exc
        identity = ClusterIdentity(uid, KUBE_SYSTEM)
    log.info(
        "cluster identity %s (tag %s, from %s): objects on appliances tagged otherwise are never changed",
        identity.id,
        identity.tag,
        identity.source,
    )
    return identity
