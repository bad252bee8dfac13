"""Secondary networks (the Network CRD) and the Multus attachments that select them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agent.model.base import IPNetwork


@dataclass(frozen=True, slots=True, order=True)
class NadRef:
    """A NetworkAttachmentDefinition, namespaced like every NAD."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Network:
    """An isolated pod network: one VRF on every node, joined between nodes by VXLAN.

    ``ranges`` holds at most one prefix per IP family (dual stack). The VRF table id
    defaults to the VNI, which keeps ``show ip fib`` readable; ``table_id`` overrides
    it when the VNI space and the operator's table numbering disagree.

    ``created`` orders networks by seniority: when two networks claim the same VNI,
    table or addresses, the older one keeps them and the newcomer is refused, so
    creating a network can never break one that already carries traffic.
    ``terminating`` says the Network object is being deleted but is kept (and still
    programmed) because pods use it; the CNI refuses new attachments to it.
    """

    name: str
    vni: int
    ranges: tuple[IPNetwork, ...]
    table_id: int | None = None
    attachments: tuple[NadRef, ...] = ()
    physical_network: str = ""
    created: datetime | None = None
    terminating: bool = False
    advertise: bool = False  # BGP: announce local pod prefixes as VPN routes (RD asn:vni)

    @property
    def vrf_table_id(self) -> int:
        return self.vni if self.table_id is None else self.table_id

    def range_for(self, version: int) -> IPNetwork | None:
        return next((r for r in self.ranges if r.version == version), None)
