"""Pod interfaces: what the CNI asked for, one entry per interface of a pod.

A pod with Multus attachments produces one CNI ADD per interface (``eth0``, ``net1``,
...), each possibly in a different network, so the unit of state is the interface,
never the pod.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from agent.model.base import (
    DEFAULT_NETWORK,
    IPAddress,
    IPInterface,
    IPNetwork,
    L4Protocol,
    PortRange,
)
from agent.model.policy import PolicyId, RuleAction


class InterfaceType(StrEnum):
    """How the pod interface is built in VPP.

    ``veth`` is the fallback for nodes without ``/dev/vhost-net``: a Linux veth pair
    whose host end VPP attaches with af_packet.
    """

    TUN = "tun"
    TAP = "tap"
    MEMIF = "memif"
    VETH = "veth"


class RxMode(StrEnum):
    """VPP rx-placement mode; ``default`` leaves VPP's own choice for the driver."""

    DEFAULT = "default"
    INTERRUPT = "interrupt"
    POLLING = "polling"
    ADAPTIVE = "adaptive"


class MemifRole(StrEnum):
    """VPP's side of a memif; calico-vpp makes VPP the master and the pod the slave."""

    MASTER = "master"
    SLAVE = "slave"


class MemifMode(StrEnum):
    """``ip`` memifs carry bare IP packets (L3, like tun); ``ethernet`` ones carry frames."""

    IP = "ip"
    ETHERNET = "ethernet"


@dataclass(frozen=True, slots=True)
class SteeredPorts:
    """Destination ports whose traffic goes to an extra memif instead of the main interface."""

    protocol: L4Protocol
    ports: PortRange


@dataclass(frozen=True, slots=True)
class ExtraMemif:
    """A memif added beside a pod interface, sharing its addresses (calico-vpp's
    ``vppExtraMemifPorts``/``vppExtraMemifSpec``): packet-processing apps get the steered
    ports at memory speed while everything else stays on the kernel interface.
    """

    name: str
    rx_queues: int = 1
    tx_queues: int = 1
    queue_size: int = 1024
    role: MemifRole = MemifRole.MASTER
    mode: MemifMode = MemifMode.IP
    steered_ports: tuple[SteeredPorts, ...] = ()


@dataclass(frozen=True, slots=True)
class HostPort:
    """A container port published on the node (``hostPort``), implemented as DNAT."""

    protocol: L4Protocol
    container_port: int
    host_port: int
    host_ip: IPAddress | None = None


@dataclass(frozen=True, slots=True)
class TierAssignment:
    """One policy tier applied to an endpoint, policies in evaluation order.

    ``default_action`` (deny or pass) applies when the tier has policies for a
    direction and none of them matched.
    """

    name: str
    ingress_policies: tuple[PolicyId, ...] = ()
    egress_policies: tuple[PolicyId, ...] = ()
    default_action: RuleAction = RuleAction.DENY


@dataclass(frozen=True, slots=True)
class PolicyAssignment:
    """What Felix applies to an endpoint: tiers in order, then profiles."""

    tiers: tuple[TierAssignment, ...] = ()
    profile_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, order=True)
class PodInterfaceKey:
    """Identity of a pod interface: the same pod has one per attachment."""

    namespace: str
    pod: str
    interface: str

    @property
    def workload_id(self) -> str:
        """Felix's workload id for the pod, which joins CNI requests with endpoint updates."""
        return f"{self.namespace}/{self.pod}"

    def __str__(self) -> str:
        return f"{self.namespace}/{self.pod}/{self.interface}"


@dataclass(frozen=True, slots=True)
class PodInterface:
    """One interface of a local pod, as the CNI and Felix described it.

    ``host_interface_name`` is the name we report to Calico; it comes back as the
    workload endpoint's name, so it must be unique on the node. ``routes`` are installed
    inside the pod, through this interface. ``allowed_source_prefixes`` lifts the
    anti-spoofing check for traffic the pod sends from addresses it does not own.
    ``mac`` is the MAC of the pod's side of an Ethernet interface (tap, veth), which
    VPP must send the pod's traffic to; None for tun and memif, and for interfaces
    recorded before vppnet kept it.
    """

    key: PodInterfaceKey
    container_id: str
    netns: str
    host_interface_name: str
    addresses: tuple[IPInterface, ...]
    network: str = DEFAULT_NETWORK
    interface_type: InterfaceType = InterfaceType.TUN
    routes: tuple[IPNetwork, ...] = ()
    mtu: int = 1450
    rx_queues: int = 1
    tx_queues: int = 1
    queue_size: int = 1024
    rx_mode: RxMode = RxMode.DEFAULT
    extra_memifs: tuple[ExtraMemif, ...] = ()
    allowed_source_prefixes: tuple[IPNetwork, ...] = ()
    host_ports: tuple[HostPort, ...] = ()
    policy: PolicyAssignment = PolicyAssignment()
    mac: str | None = None

    @property
    def ip_addresses(self) -> tuple[IPAddress, ...]:
        return tuple(address.ip for address in self.addresses)

    def addresses_for(self, version: int) -> tuple[IPInterface, ...]:
        return tuple(address for address in self.addresses if address.version == version)


ETHERNET_TYPES = (InterfaceType.TAP, InterfaceType.VETH)
"""Pod interface kinds with a MAC on the pod's side, which VPP must send to."""


def ethernet_mac(key: PodInterfaceKey) -> str:
    """The MAC of a pod's Ethernet interface: locally administered unicast, derived from
    the pod interface's identity.

    Derived, so the CNI and a scenario file give a pod the same one and a repeated
    ADD asks for the same interface; chosen by vppnet rather than by VPP, so a tap
    VPP makes again (after a VPP restart) has the MAC VPP was told (its static
    neighbour). Every pod interface is a link of its own, so the MAC need not be
    unique on the node.
    """
    digest = hashlib.sha256(str(key).encode()).digest()
    first = (digest[0] & 0xFC) | 0x02  # unicast, locally administered
    return ":".join(f"{b:02x}" for b in (first, *digest[1:6]))
