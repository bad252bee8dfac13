"""VPP's side of the grab: the uplink as the node, the host behind the host interface.

VPP's uplink gets the node's MAC, MTU and addresses, and the routes the
node had through the NIC (main table), with the gateways' neighbour entries
pre-loaded so the first packets need no ARP/ND round. The host interface
borrows the uplink's addresses (unnumbered), so IP runs on it without an
address of its own; what VPP receives for the node's addresses and does not
handle itself is punted, and the punt redirect sends it to the host
interface. On the Ethernet kinds (tap, veth) VPP also knows the host's
addresses as static neighbours, so that redirect needs no ARP towards the host.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable

from agent.manager.capture import RT_TABLE_MAIN, Route, UplinkState
from agent.vpp import VppConnection, interfaces, ip
from agent.vpp.request import ANY_INTERFACE

log = logging.getLogger(__name__)


def vpp_routes(uplink: UplinkState, sw_if_index: int) -> list[tuple[Route, tuple[ip.Path, ...]]]:
    """The main-table routes through the uplink as VPP paths; per prefix the best metric wins.

    Linux policy-routing tables have no meaning in VPP's table 0; their
    routes stay on the host interface only.
    """
    best: dict[str, Route] = {}
    for r in uplink.movable_routes:
        if r.table != RT_TABLE_MAIN or r.type != 1:
            continue
        current = best.get(r.dst)
        if current is None or (r.priority or 0) < (current.priority or 0):
            best[r.dst] = r
    out = []
    for r in best.values():
        if r.multipath:
            paths = tuple(
                ip.Path(
                    sw_if_index=sw_if_index,
                    nh=ipaddress.ip_address(n.gateway) if n.gateway else None,
                    weight=n.weight,
                )
                for n in r.multipath
                if n.via_uplink
            )
        else:
            nh = ipaddress.ip_address(r.gateway) if r.gateway else None
            paths = (ip.Path(sw_if_index=sw_if_index, nh=nh),)
        out.append((r, paths))
    return out


def configure_uplink(conn: VppConnection, uplink: UplinkState, sw_if_index: int, mtu: int) -> None:
    what = f"uplink {uplink.name}"
    current = conn.dump(interfaces.dump(sw_if_index))
    if current and current[0].mac != uplink.mac.lower():
        conn.call(interfaces.set_mac(sw_if_index, uplink.mac, what))
    conn.call(interfaces.set_mtu(sw_if_index, l3=mtu, what=what))
    for a in uplink.addresses:
        if not a.link_local:
            conn.call(interfaces.add_address(sw_if_index, a.interface, what))
    conn.call(interfaces.set_admin(sw_if_index, True, what))


def configure_host_side(
    conn: VppConnection,
    uplink: UplinkState,
    uplink_sw: int,
    host_sw: int,
    host_kind: str,
    mtu: int,
) -> None:
    what = f"host interface of {uplink.name}"
    conn.call(interfaces.set_unnumbered(borrower=host_sw, owner=uplink_sw, what=what))
    conn.call(interfaces.set_mtu(host_sw, l3=mtu, what=what))
    conn.call(interfaces.set_admin(host_sw, True, what))
    for version in (4, 6):
        own = uplink.addresses_of(version)
        if not own:
            continue
        if host_kind != "tun":
            for a in own:
                conn.call(ip.add_neighbor(host_sw, a.interface.ip, uplink.mac, True, what))
        punt = ip.PuntRedirect(ANY_INTERFACE, host_sw, own[0].interface.ip)
        conn.call(ip.add_punt_redirect(punt, what))


def configure_routes(conn: VppConnection, uplink: UplinkState, uplink_sw: int) -> None:
    for route, paths in vpp_routes(uplink, uplink_sw):
        conn.call(ip.add_route(0, route.network, paths, what=f"route {route.dst}"))
    gateways = uplink.gateway_ips
    for n in _gateway_neighbours(uplink, gateways):
        conn.call(
            ip.add_neighbor(uplink_sw, ipaddress.ip_address(n[0]), n[1], False, f"gateway {n[0]}")
        )


def _gateway_neighbours(uplink: UplinkState, gateways: Iterable[str]) -> list[tuple[str, str]]:
    wanted = set(gateways)
    return [(n.ip, n.mac) for n in uplink.neighbours if n.ip in wanted]


def configure(
    conn: VppConnection,
    uplink: UplinkState,
    uplink_sw: int,
    host_sw: int,
    host_kind: str,
    mtu: int,
) -> None:
    """Everything VPP needs, in dependency order (addresses before routes and punts)."""
    configure_uplink(conn, uplink, uplink_sw, mtu)
    configure_host_side(conn, uplink, uplink_sw, host_sw, host_kind, mtu)
    configure_routes(conn, uplink, uplink_sw)
    log.info(
        "VPP serves %s: sw_if_index %d, host interface sw_if_index %d",
        uplink.name,
        uplink_sw,
        host_sw,
    )
