"""Pod interfaces -> VPP interfaces, their VRF, and the routes that reach the pods.

Each local pod interface becomes one VPP interface (tun by default; tap,
memif, or af_packet on a veth end) whose host side is created directly in
the pod's network namespace under the name the CNI asked for, with the pod's
addresses and MTU. VPP reaches the pod through a /32 or /128 route to that
interface in the VRF of the pod's network; on an Ethernet interface (tap,
veth) via the pod's address, with a static neighbour giving the pod's MAC
(which the CNI chose: a tap's pod side is made with it). Extra memif
interfaces requested for the pod get a socket inside the pod's netns (an
abstract socket, so nothing has to be mounted into the pod). IP is enabled
on all of them by :mod:`plugins.ipenable`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv6Interface

from agent.model import ClusterModel, InterfaceType, MemifMode, PodInterface, host_prefix
from agent.vppobjects import (
    AfPacket,
    InterfaceSettings,
    Memif,
    MemifSocket,
    Neighbor,
    Route,
    RoutePath,
    TunTap,
    VppObject,
    VrfTable,
)


@dataclass(frozen=True, slots=True)
class PodDefaults:
    """Node-wide choices for pod interfaces (from the agent config)."""

    gso: bool = True
    csum_offload: bool = True


def interface_name(pod: PodInterface) -> str:
    """The owned name (and tag) of a pod interface in VPP."""
    return f"pod/{pod.key}"


def memif_socket_path(pod: PodInterface, memif_name: str) -> str:
    """An abstract socket inside the pod's netns, in VPP's memif socket syntax."""
    return f"abstract:vpp/memif-{memif_name},netns_name={pod.netns}"


def render(model: ClusterModel, defaults: PodDefaults = PodDefaults()) -> Iterator[VppObject]:
    for key in sorted(model.pod_interfaces):
        pod = model.pod_interfaces[key]
        yield from render_pod(model, pod, defaults)


def render_pod(
    model: ClusterModel, pod: PodInterface, defaults: PodDefaults = PodDefaults()
) -> Iterator[VppObject]:
    table = model.vrf_table_id(pod.network)
    if table:
        yield VrfTable(table, ip6=False)
        yield VrfTable(table, ip6=True)
    name = interface_name(pod)
    settings = InterfaceSettings(
        admin_up=True,
        mtu=pod.mtu,
        vrf4=table,
        vrf6=table,
        rx_mode=None if pod.rx_mode.value == "default" else pod.rx_mode.value,
    )
    yield from _interface(pod, name, settings, defaults)
    # Ethernet interfaces (tap, af_packet on a veth) need the pod's address as next hop
    # so VPP resolves the pod's MAC; tun and memif (IP mode) are point to point.
    l2 = pod.interface_type in (InterfaceType.TAP, InterfaceType.VETH)
    for address in pod.addresses:
        path = RoutePath(nh=address.ip, interface=name) if l2 else RoutePath(interface=name)
        yield Route(table, host_prefix(address.ip), (path,))
        if l2 and pod.mac is not None:  # VPP need not resolve it: the CNI told us
            yield Neighbor(name, address.ip, pod.mac.lower())
    for extra in pod.extra_memifs:
        extra_name = f"{name}/{extra.name}"
        socket = MemifSocket(extra_name, memif_socket_path(pod, extra.name))
        yield socket
        yield Memif(
            name=extra_name,
            socket=socket.name,
            ip_mode=extra.mode is MemifMode.IP,
            rx_queues=extra.rx_queues,
            tx_queues=extra.tx_queues,
            ring_size=extra.queue_size,
            settings=InterfaceSettings(admin_up=True, vrf4=table, vrf6=table),
        )


def _interface(
    pod: PodInterface, name: str, settings: InterfaceSettings, defaults: PodDefaults
) -> Iterator[VppObject]:
    kind = pod.interface_type
    if kind in (InterfaceType.TUN, InterfaceType.TAP):
        v4 = next((a for a in pod.addresses if isinstance(a, IPv4Interface)), None)
        v6 = next((a for a in pod.addresses if isinstance(a, IPv6Interface)), None)
        yield TunTap(
            name=name,
            host_if_name=pod.key.interface,
            host_netns=pod.netns,
            tun=kind is InterfaceType.TUN,
            host_mtu=pod.mtu,
            host_mac=pod.mac if kind is InterfaceType.TAP else None,
            host_ip4=v4,
            host_ip6=v6,
            rx_queues=pod.rx_queues,
            tx_queues=pod.tx_queues,
            rx_ring_size=pod.queue_size,
            tx_ring_size=pod.queue_size,
            gso=defaults.gso,
            csum_offload=defaults.csum_offload,
            settings=settings,
        )
    elif kind is InterfaceType.MEMIF:
        socket = MemifSocket(name, memif_socket_path(pod, pod.key.interface))
        yield socket
        yield Memif(
            name=name,
            socket=socket.name,
            rx_queues=pod.rx_queues,
            tx_queues=pod.tx_queues,
            ring_size=pod.queue_size,
            settings=settings,
        )
    else:  # veth: the CNI made the pair; VPP attaches to its host end
        yield AfPacket(
            name=name,
            host_if_name=pod.host_interface_name,
            rx_queues=pod.rx_queues,
            tx_queues=pod.tx_queues,
            settings=settings,
        )
