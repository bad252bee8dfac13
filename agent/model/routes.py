"""Felix's routing view of the cluster: where each prefix lives and how to reach it.

Felix's route resolver already joined IP pools, IPAM blocks, nodes and tunnel
addresses into one record per destination prefix; keeping those records lets
the connectivity plugin choose per prefix between direct routing, IPIP and
VXLAN (with ``same_subnet`` for CrossSubnet) without redoing Felix's work.
VXLAN tunnel endpoints are the per-node VTEP addresses those routes need.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

from agent.model.base import IPAddress, IPNetwork


class RouteType(IntFlag):
    """What a destination is (Felix's ``RouteType``, a bit mask: combinations are normal).

    A value of 0 (``CIDR_INFO``) marks a prefix Felix sends only for its pool
    attributes, such as a whole IP pool.
    """

    CIDR_INFO = 0
    REMOTE_WORKLOAD = 1
    REMOTE_HOST = 2
    LOCAL_WORKLOAD = 4
    LOCAL_HOST = 8
    REMOTE_TUNNEL = 16
    LOCAL_TUNNEL = 32


class PoolEncap(IntEnum):
    """The encapsulation of the IP pool a destination lies in (Felix's ``IPPoolType``)."""

    NONE = 0
    NO_ENCAP = 1
    VXLAN = 2
    IPIP = 3


@dataclass(frozen=True, slots=True)
class CalicoRoute:
    """One destination prefix as Felix resolved it.

    Named apart from :class:`agent.vppobjects.Route`, the VPP FIB entry a plugin
    may render from it. ``node`` and ``node_address`` are the node hosting the
    destination (empty/None for pool-only records); ``borrowed`` marks a
    workload address taken from another node's block.
    """

    dst: IPNetwork
    types: RouteType = RouteType.CIDR_INFO
    pool_encap: PoolEncap = PoolEncap.NONE
    node: str = ""
    node_address: IPAddress | None = None
    same_subnet: bool = False
    nat_outgoing: bool = False
    local_workload: bool = False
    borrowed: bool = False
    ipip_tunnel: bool = False
    vxlan_tunnel: bool = False
    wireguard_tunnel: bool = False

    @property
    def is_workload_block(self) -> bool:
        """Whether this is a node's IPAM block (not a single borrowed or local workload)."""
        workload = self.types & (RouteType.REMOTE_WORKLOAD | RouteType.LOCAL_WORKLOAD)
        return bool(workload) and bool(self.node) and not self.borrowed and not self.local_workload


@dataclass(frozen=True, slots=True)
class VxlanTunnelEndpoint:
    """A node's VXLAN tunnel endpoint: the address and MAC of its VXLAN device, per family.

    ``parent_address`` is the node address the tunnel's outer packets are sent to.
    """

    node: str
    mac: str = ""
    address: IPAddress | None = None
    parent_address: IPAddress | None = None
    mac_v6: str = ""
    address_v6: IPAddress | None = None
    parent_address_v6: IPAddress | None = None
