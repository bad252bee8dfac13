"""What the uplink looks like in Linux before VPP takes it, read through netlink.

This snapshot is the contract of the manager: the host interface is built
from it, VPP's uplink is configured from it, and giving the uplink back
means making Linux equal to it again. So it holds everything that restore
must put back (addresses with their flags and lifetimes, every route through
the uplink in every table with its metric, protocol and scope, MTU, MAC,
link flags, the per-interface sysctls the manager changes) and the facts
validation needs (queues, PCI parent, kernel driver).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyroute2 import IPRoute

from agent.manager.errors import ManagerError

IFF_UP = 0x1
IFF_NOARP = 0x80
IFF_PROMISC = 0x100
RT_TABLE_LOCAL = 255
RT_TABLE_MAIN = 254
RTPROT_KERNEL = 2
RTNH_F_ONLINK = 4
IFA_F_TENTATIVE = 0x40
IFA_F_PERMANENT = 0x80
FOREVER = 0xFFFFFFFF
NUD_PERMANENT = 0x80
NUD_NOARP = 0x40
NUD_FAILED = 0x20
NUD_INCOMPLETE = 0x01

# Per-interface sysctls the manager changes while VPP owns the NIC, as paths under
# /proc/sys with {if} for the interface name.
SYSCTLS = ("net/ipv6/conf/{if}/disable_ipv6", "net/ipv4/conf/{if}/rp_filter")


@dataclass(frozen=True)
class Address:
    address: str
    prefixlen: int
    flags: int = 0
    scope: int = 0
    label: str | None = None
    broadcast: str | None = None
    valid_lft: int = FOREVER
    preferred_lft: int = FOREVER

    @property
    def interface(self) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
        return ipaddress.ip_interface(f"{self.address}/{self.prefixlen}")

    @property
    def version(self) -> int:
        return self.interface.version

    @property
    def link_local(self) -> bool:
        return self.interface.ip.is_link_local


@dataclass(frozen=True)
class Nexthop:
    gateway: str | None
    weight: int = 1
    flags: int = 0
    via_uplink: bool = True


@dataclass(frozen=True)
class Route:
    """One route through the uplink, as netlink describes it."""

    family: int
    dst: str  # a prefix, "0.0.0.0/0" for the default route
    table: int = RT_TABLE_MAIN
    priority: int | None = None
    proto: int = 3  # RTPROT_BOOT, what `ip route add` uses
    scope: int = 0
    type: int = 1  # RTN_UNICAST
    gateway: str | None = None
    prefsrc: str | None = None
    flags: int = 0  # RTNH_F_ONLINK ...
    metrics: tuple[tuple[str, int], ...] = ()
    pref: int | None = None  # IPv6 router preference
    multipath: tuple[Nexthop, ...] = ()

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.dst)

    @property
    def kernel(self) -> bool:
        """Made by the kernel for an address (connected, local): it comes back by itself."""
        return self.proto == RTPROT_KERNEL or self.table == RT_TABLE_LOCAL

    def gateways(self) -> list[str]:
        if self.multipath:
            return [n.gateway for n in self.multipath if n.gateway and n.via_uplink]
        return [self.gateway] if self.gateway else []


@dataclass(frozen=True)
class Neighbour:
    ip: str
    mac: str
    state: int

    @property
    def permanent(self) -> bool:
        return bool(self.state & NUD_PERMANENT)


@dataclass(frozen=True)
class UplinkState:
    name: str
    ifindex: int
    mac: str
    mtu: int
    flags: int
    addresses: tuple[Address, ...]
    routes: tuple[Route, ...]
    neighbours: tuple[Neighbour, ...]
    sysctls: tuple[tuple[str, str], ...] = ()
    rx_queues: int = 1
    tx_queues: int = 1
    kind: str | None = None  # veth, bond, ... (None: a plain NIC)
    pci_address: str | None = None
    kernel_driver: str | None = None
    perm_mac: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def up(self) -> bool:
        return bool(self.flags & IFF_UP)

    def addresses_of(self, version: int, *, link_local: bool = False) -> list[Address]:
        return [
            a for a in self.addresses if a.version == version and (link_local or not a.link_local)
        ]

    @property
    def movable_routes(self) -> list[Route]:
        """Routes the manager moves: everything the kernel does not recreate by itself."""
        return [r for r in self.routes if not r.kernel]

    @property
    def gateway_ips(self) -> set[str]:
        return {g for r in self.routes for g in r.gateways()}


def _ifa_addr(a: Any) -> str:
    return str(a.get_attr("IFA_LOCAL") or a.get_attr("IFA_ADDRESS"))


def _address(a: Any) -> Address:
    cache = a.get_attr("IFA_CACHEINFO")
    valid = FOREVER if cache is None else int(cache["ifa_valid"])
    preferred = FOREVER if cache is None else int(cache["ifa_preferred"])
    flags = int(a.get_attr("IFA_FLAGS") or a["flags"]) & ~IFA_F_TENTATIVE
    return Address(
        address=_ifa_addr(a),
        prefixlen=int(a["prefixlen"]),
        flags=flags,
        scope=int(a["scope"]),
        label=a.get_attr("IFA_LABEL"),
        broadcast=a.get_attr("IFA_BROADCAST"),
        valid_lft=valid,
        preferred_lft=preferred,
    )


def _nla(msg: Any, name: str) -> Any:
    """An attribute of a netlink message, or of the plain dict pyroute2 gives for nexthops."""
    if hasattr(msg, "get_attr"):
        return msg.get_attr(name)
    return dict(msg.get("attrs", ())).get(name)


def _route(r: Any, ifindex: int) -> Route | None:
    family = int(r["family"])
    dst = r.get_attr("RTA_DST")
    prefix = f"{dst or ('::' if family == 10 else '0.0.0.0')}/{r['dst_len']}"
    table = int(r.get_attr("RTA_TABLE") or r["table"])
    multipath: tuple[Nexthop, ...] = ()
    mp = r.get_attr("RTA_MULTIPATH")
    if mp:
        multipath = tuple(
            Nexthop(
                gateway=_nla(nh, "RTA_GATEWAY"),
                weight=int(nh["hops"]) + 1,
                flags=int(nh["flags"]) & RTNH_F_ONLINK,
                via_uplink=int(nh["oif"]) == ifindex,
            )
            for nh in mp
        )
        if not any(n.via_uplink for n in multipath):
            return None
    elif r.get_attr("RTA_OIF") != ifindex:
        return None
    metrics = r.get_attr("RTA_METRICS")
    pairs: tuple[tuple[str, int], ...] = ()
    if metrics is not None:
        pairs = tuple(sorted((str(k), int(v)) for k, v in metrics.get("attrs", ())))
    prio = r.get_attr("RTA_PRIORITY")
    pref = r.get_attr("RTA_PREF")
    return Route(
        family=family,
        dst=str(ipaddress.ip_network(prefix, strict=False)),
        table=table,
        priority=None if prio is None else int(prio),
        proto=int(r["proto"]),
        scope=int(r["scope"]),
        type=int(r["type"]),
        gateway=r.get_attr("RTA_GATEWAY"),
        prefsrc=r.get_attr("RTA_PREFSRC"),
        flags=int(r["flags"]) & RTNH_F_ONLINK,
        metrics=pairs,
        pref=None if pref is None else int(pref),
        multipath=multipath,
    )


def routes_of(ipr: IPRoute, ifindex: int) -> list[Route]:
    """Every route through ``ifindex``, in every table, both families."""
    out: list[Route] = []
    for family in (2, 10):
        for r in ipr.get_routes(family=family):
            route = _route(r, ifindex)
            if route is not None and int(r["type"]) not in (3, 4):  # broadcast, anycast: local
                out.append(route)
    return sorted(out, key=_route_order)


def _route_order(r: Route) -> tuple[int, int, str, int]:
    """Link routes before the gateway routes that may need them."""
    return (r.family, 0 if r.gateway is None and not r.multipath else 1, r.dst, r.table)


def addresses_of(ipr: IPRoute, ifindex: int) -> list[Address]:
    return sorted(
        (_address(a) for a in ipr.get_addr(index=ifindex)),
        key=lambda a: (a.version, a.address),
    )


def neighbours_of(ipr: IPRoute, ifindex: int) -> list[Neighbour]:
    out = []
    for family in (2, 10):
        for n in ipr.get_neighbours(family=family, ifindex=ifindex):
            mac = n.get_attr("NDA_LLADDR")
            state = int(n["state"])
            if mac and not state & (NUD_FAILED | NUD_INCOMPLETE | NUD_NOARP):
                out.append(Neighbour(str(n.get_attr("NDA_DST")), str(mac), state))
    return sorted(out, key=lambda n: (":" in n.ip, n.ip))


def read_sysctls(procfs: str, name: str) -> tuple[tuple[str, str], ...]:
    out = []
    for template in SYSCTLS:
        path = Path(procfs, "sys", template.format(**{"if": name}))
        try:
            out.append((template, path.read_text(encoding="ascii").strip()))
        except OSError:
            continue  # IPv6 disabled in the kernel, say: nothing to change or restore
    return tuple(out)


def pci_driver(sysfs: str, pci: str | None) -> str | None:
    if pci is None:
        return None
    link = Path(sysfs, "bus", "pci", "devices", pci, "driver")
    return os.path.basename(os.readlink(link)) if link.is_symlink() else None


def capture(ipr: IPRoute, name: str, *, procfs: str = "/proc", sysfs: str = "/sys") -> UplinkState:
    """Read the uplink's whole Linux state; :class:`ManagerError` when there is no such link."""
    links = ipr.get_links(ifname=name) if name else []
    if not links:
        names = sorted(str(link.get_attr("IFLA_IFNAME")) for link in ipr.get_links())
        raise ManagerError(
            f"uplink.interface: no interface {name!r} in this network namespace "
            f"(there are: {', '.join(names)})"
        )
    link = links[0]
    index = int(link["index"])
    info = link.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
    bus = link.get_attr("IFLA_PARENT_DEV_BUS_NAME")
    pci = link.get_attr("IFLA_PARENT_DEV_NAME") if bus == "pci" else None
    return UplinkState(
        name=name,
        ifindex=index,
        mac=str(link.get_attr("IFLA_ADDRESS")),
        mtu=int(link.get_attr("IFLA_MTU")),
        flags=int(link["flags"]),
        addresses=tuple(addresses_of(ipr, index)),
        routes=tuple(routes_of(ipr, index)),
        neighbours=tuple(neighbours_of(ipr, index)),
        sysctls=read_sysctls(procfs, name),
        rx_queues=int(link.get_attr("IFLA_NUM_RX_QUEUES") or 1),
        tx_queues=int(link.get_attr("IFLA_NUM_TX_QUEUES") or 1),
        kind=kind,
        pci_address=pci,
        kernel_driver=pci_driver(sysfs, pci),
        perm_mac=link.get_attr("IFLA_PERM_ADDRESS"),
    )
