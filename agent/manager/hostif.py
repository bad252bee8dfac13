"""The host interface: the host's way into VPP once VPP owns the NIC.

A tun (default) or tap made by VPP's tap driver in the node's namespace, or,
on a node without /dev/vhost-net, a veth pair whose VPP end VPP opens with
af_packet. The Linux side gets the uplink's MTU and (tap, veth) its MAC; on
the Ethernet kinds it is also IFF_NOARP, so the kernel sends every frame to
its own MAC — which is the MAC of the VPP end too — and needs neither ARP
nor proxy ARP in VPP to reach the gateway or any on-link peer.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from agent.manager.capture import IFF_NOARP, UplinkState
from agent.manager.config import ManagerSettings
from agent.manager.errors import ManagerError
from agent.manager.linux import add_addresses, add_routes, index_of, write_sysctl
from agent.vpp import VppApiError, VppConnection, af_packet, interfaces, tap

HOST_TAG = "vppnet:host"


@dataclass(frozen=True)
class HostInterface:
    kind: str  # tun | tap | veth
    name: str  # the Linux device that holds the host's addresses
    sw_if_index: int  # its VPP end
    peer: str | None = None  # veth: the Linux end VPP opened with af_packet


def create_veth(ipr: IPRoute, name: str, peer: str, mac: str, mtu: int, procfs: str) -> None:
    """The pair for the veth fallback; raises :class:`ManagerError` when netlink refuses.

    The VPP end keeps its own random MAC and no IP configuration: frames the
    host sends to VPP's MAC are "other host" there, so the kernel never
    handles them a second time.
    """
    try:
        ipr.link("add", ifname=name, kind="veth", peer=peer)
        index = index_of(ipr, name)
        peer_index = index_of(ipr, peer)
        assert index is not None and peer_index is not None
        ipr.link("set", index=index, address=mac, mtu=mtu)
        ipr.link("set", index=peer_index, mtu=mtu, flags=IFF_NOARP, change=IFF_NOARP)
        with contextlib.suppress(OSError):
            write_sysctl(procfs, "net/ipv6/conf/{if}/disable_ipv6", peer, "1")
        ipr.link("set", index=peer_index, state="up")
    except NetlinkError as e:
        with contextlib.suppress(NetlinkError):
            ipr.link("del", ifname=name)
        raise ManagerError(f"host_interface: cannot create veth pair {name}/{peer}: {e}") from e


def delete_veth(ipr: IPRoute, name: str) -> None:
    """Deleting one end deletes both; an already missing pair is fine."""
    with contextlib.suppress(NetlinkError):
        ipr.link("del", ifname=name)


def create_vpp_end(
    conn: VppConnection,
    settings: ManagerSettings,
    kind: str,
    name: str,
    peer: str,
    uplink: UplinkState,
    mtu: int,
) -> int:
    """Have VPP make (tun, tap) or open (veth) its end; returns its sw_if_index."""
    h = settings.host_interface
    try:
        if kind == "veth":
            spec = af_packet.AfPacketCreate(
                host_if_name=peer, mac=uplink.mac, rx_queues=h.rx_queues, tx_queues=h.tx_queues
            )
            sw = conn.call(af_packet.create(spec, f"host interface {name} (veth)"))
        else:
            created = tap.TapCreate(
                tun=kind == "tun",
                host_if_name=name,
                host_mtu=mtu,
                host_mac=uplink.mac if kind == "tap" else None,
                mac=uplink.mac if kind == "tap" else None,
                rx_queues=h.rx_queues,
                tx_queues=h.tx_queues,
                rx_ring_size=h.ring_size,
                tx_ring_size=h.ring_size,
                tag=HOST_TAG,
            )
            sw = conn.call(tap.create(created, f"host interface {name} ({kind})"))
    except VppApiError as e:
        hint = ""
        if kind != "veth" and e.retval == -11:
            hint = " (VPP's tap driver needs /dev/vhost-net; set host_interface.type: veth)"
        raise ManagerError(
            f"host_interface.type: VPP could not create the {kind}: {e}{hint}"
        ) from e
    conn.call(interfaces.set_tag(sw, HOST_TAG))
    return sw


def dress_linux_side(ipr: IPRoute, host: HostInterface, uplink: UplinkState, mtu: int) -> None:
    """Give the Linux side the uplink's MTU, MAC, addresses and routes, and bring it up."""
    index = index_of(ipr, host.name)
    if index is None:
        raise ManagerError(f"host interface {host.name} did not appear in this network namespace")
    settings: dict[str, object] = {"mtu": mtu}
    if host.kind != "tun":
        settings["address"] = uplink.mac
    ipr.link("set", index=index, **settings)
    if host.kind != "tun":
        ipr.link("set", index=index, flags=IFF_NOARP, change=IFF_NOARP)
    ipr.link("set", index=index, state="up")
    add_addresses(ipr, index, [a for a in uplink.addresses if not a.link_local], uplink.name)
    add_routes(ipr, index, uplink.movable_routes)
