"""Cluster nodes: where pods live and how to reach them."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv6Interface

from agent.model.base import DEFAULT_NETWORK, IPInterface, IPNetwork


@dataclass(frozen=True, slots=True)
class PodBlock:
    """A prefix of pod addresses affine to one node, in one network.

    Remote blocks are what we route (or tunnel) towards a node; local blocks bound the
    addresses the CNI may hand to local pods.
    """

    cidr: IPNetwork
    network: str = DEFAULT_NETWORK


@dataclass(frozen=True, slots=True)
class Node:
    """A Kubernetes node as Calico sees it.

    Addresses keep their prefix length because Calico's ``CrossSubnet`` encapsulation
    decides per peer whether the two nodes share a subnet. At most one address per
    family: Calico tracks one IPv4 and one IPv6 node address.
    """

    name: str
    addresses: tuple[IPInterface, ...]
    pod_blocks: tuple[PodBlock, ...] = ()
    asn: int | None = None
    uplink_interface: str | None = None
    labels: tuple[tuple[str, str], ...] = ()  # sorted (key, value): BGP peer selectors
    route_reflector_cluster_id: str | None = None  # Calico's routeReflectorClusterID
    zone: str | None = None  # ``topology.kubernetes.io/zone``: for topology-aware service hints

    @property
    def ipv4_address(self) -> IPv4Interface | None:
        return next((a for a in self.addresses if isinstance(a, IPv4Interface)), None)

    @property
    def ipv6_address(self) -> IPv6Interface | None:
        return next((a for a in self.addresses if isinstance(a, IPv6Interface)), None)

    def address_for(self, version: int) -> IPInterface | None:
        """The node address to use as tunnel endpoint towards a prefix of IP ``version``."""
        return self.ipv4_address if version == 4 else self.ipv6_address

    def blocks(self, network: str = DEFAULT_NETWORK) -> tuple[IPNetwork, ...]:
        """The node's pod blocks in ``network`` (the default Calico network unless named)."""
        return tuple(block.cidr for block in self.pod_blocks if block.network == network)
