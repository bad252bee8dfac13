"""Calico IP pools: which encapsulation and NAT apply to pod addresses."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from agent.model.base import (
    DEFAULT_NETWORK,
    IPAddress,
    IPInterface,
    IPNetwork,
    host_prefix,
    prefix_contains,
)


class EncapMode(StrEnum):
    """Calico's ``ipipMode`` / ``vxlanMode`` values, spelled as in the IPPool resource."""

    NEVER = "Never"
    ALWAYS = "Always"
    CROSS_SUBNET = "CrossSubnet"


@dataclass(frozen=True, slots=True)
class IpPool:
    """A Calico IPPool.

    ``network`` ties a pool to a secondary network; pools of the default network are
    the usual Calico pools. A disabled pool allocates no new addresses, but existing
    addresses in it keep its NAT and encapsulation, so plugins must not ignore it.
    """

    name: str
    cidr: IPNetwork
    block_size: int
    ipip_mode: EncapMode = EncapMode.NEVER
    vxlan_mode: EncapMode = EncapMode.NEVER
    nat_outgoing: bool = False
    disabled: bool = False
    network: str = DEFAULT_NETWORK

    @property
    def version(self) -> int:
        return self.cidr.version

    def contains(self, item: IPAddress | IPInterface | IPNetwork) -> bool:
        """Whether an address, an interface's address or a whole prefix lies in the pool."""
        if isinstance(item, IPInterface):
            item = item.ip
        if isinstance(item, IPAddress):
            item = host_prefix(item)
        return prefix_contains(self.cidr, item)
