"""Netlink changes on the Linux side: strip the uplink, dress the host interface, restore.

All through pyroute2. Addresses and routes are written with every field the
capture read (flags, lifetimes, labels, table, metric, protocol, scope,
metrics, multipath), so that moving them to the host interface and back is
lossless. While VPP owns a NIC whose netdev the kernel keeps (af_packet,
af_xdp, rdma), the Linux side is kept quiet: no addresses, no ARP
(IFF_NOARP), no IPv6 (disable_ipv6) and strict reverse-path filtering, so
the kernel does not answer what VPP answers.
"""

from __future__ import annotations

import contextlib
import errno
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from agent.manager.capture import (
    FOREVER,
    IFF_NOARP,
    Address,
    Neighbour,
    Route,
    UplinkState,
)
from agent.manager.errors import ManagerError

log = logging.getLogger(__name__)

QUIET_SYSCTLS = (("net/ipv6/conf/{if}/disable_ipv6", "1"), ("net/ipv4/conf/{if}/rp_filter", "1"))


def index_of(ipr: IPRoute, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return int(found[0]) if found else None


def write_sysctl(procfs: str, template: str, name: str, value: str) -> None:
    Path(procfs, "sys", template.format(**{"if": name})).write_text(value, encoding="ascii")


def address_kwargs(a: Address) -> dict[str, Any]:
    kw: dict[str, Any] = {"address": a.address, "prefixlen": a.prefixlen, "IFA_FLAGS": a.flags}
    if a.broadcast:
        kw["broadcast"] = a.broadcast
    if a.label:
        kw["label"] = a.label
    if a.valid_lft != FOREVER or a.preferred_lft != FOREVER:
        kw["IFA_CACHEINFO"] = {
            "ifa_preferred": a.preferred_lft,
            "ifa_valid": a.valid_lft,
            "cstamp": 0,
            "tstamp": 0,
        }
    return kw


def add_addresses(ipr: IPRoute, index: int, addresses: Iterable[Address], label_of: str) -> None:
    for a in addresses:
        kw = address_kwargs(a)
        if a.label is not None:  # IPv4 labels must start with the device name
            kw["label"] = a.label.replace(label_of, _name(ipr, index), 1)
        try:
            ipr.addr("add", index=index, **kw)
        except NetlinkError as e:
            if e.code != errno.EEXIST:
                raise


def _name(ipr: IPRoute, index: int) -> str:
    return str(ipr.get_links(index)[0].get_attr("IFLA_IFNAME"))


def route_kwargs(r: Route, oif: int) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "dst": r.dst,
        "family": r.family,
        "table": r.table,
        "proto": r.proto,
        "scope": r.scope,
        "type": r.type,
    }
    if r.priority is not None:
        kw["priority"] = r.priority
    if r.prefsrc:
        kw["prefsrc"] = r.prefsrc
    if r.pref is not None and r.family == 10:
        kw["RTA_PREF"] = r.pref
    if r.multipath:
        kw["multipath"] = [
            {"gateway": n.gateway, "oif": oif, "hops": n.weight - 1, "flags": n.flags}
            for n in r.multipath
            if n.via_uplink
        ]
    else:
        kw["oif"] = oif
        if r.gateway:
            kw["gateway"] = r.gateway
        if r.flags:
            kw["flags"] = r.flags
    return kw


def add_routes(ipr: IPRoute, index: int, routes: Iterable[Route]) -> None:
    for r in routes:
        kw = route_kwargs(r, index)
        if r.metrics:
            kw["metrics"] = {k.removeprefix("RTAX_").lower(): v for k, v in r.metrics}
        try:
            ipr.route("add", **kw)
        except NetlinkError as e:
            if e.code != errno.EEXIST:
                raise NetlinkError(e.code, f"adding route {r.dst} table {r.table}: {e}") from e


def del_routes(ipr: IPRoute, index: int, routes: Iterable[Route]) -> None:
    """Remove routes; one already gone (with its address, or never there) is fine."""
    for r in routes:
        try:
            ipr.route("del", **route_kwargs(r, index))
        except NetlinkError as e:
            if e.code not in (errno.ESRCH, errno.ENODEV, errno.ENETUNREACH):
                raise


def add_neighbours(ipr: IPRoute, index: int, neighbours: Iterable[Neighbour]) -> None:
    for n in neighbours:
        with contextlib.suppress(NetlinkError):
            ipr.neigh(
                "replace",
                dst=n.ip,
                lladdr=n.mac,
                ifindex=index,
                state=n.state,
                family=10 if ":" in n.ip else 2,
            )


def strip_uplink(ipr: IPRoute, uplink: UplinkState, procfs: str) -> tuple[tuple[str, str], ...]:
    """Take the host's configuration off the Linux uplink and keep its stack quiet.

    Returns the sysctls written, so that the state file knows what to undo.
    """
    index = uplink.ifindex
    del_routes(ipr, index, reversed(uplink.movable_routes))
    for a in uplink.addresses:
        with contextlib.suppress(NetlinkError):
            ipr.addr("del", index=index, address=a.address, prefixlen=a.prefixlen)
    ipr.link("set", index=index, flags=IFF_NOARP, change=IFF_NOARP)
    written = []
    captured = dict(uplink.sysctls)
    for template, value in QUIET_SYSCTLS:
        if template in captured and captured[template] != value:
            write_sysctl(procfs, template, uplink.name, value)
            written.append((template, value))
    if not uplink.up:
        ipr.link("set", index=index, state="up")
    return tuple(written)


def restore_uplink(ipr: IPRoute, uplink: UplinkState, procfs: str) -> None:
    """Make the Linux uplink what the capture saw: link, sysctls, addresses, routes."""
    index = index_of(ipr, uplink.name)
    if index is None:
        raise ManagerError(
            f"cannot give {uplink.name} back: it is not in this network namespace; the state "
            "file stays for the next start (see docs/operations.md to restore by hand)"
        )
    for template, value in uplink.sysctls:
        with contextlib.suppress(OSError):
            write_sysctl(procfs, template, uplink.name, value)
    link = ipr.get_links(index)[0]
    ipr.link("set", index=index, flags=uplink.flags & IFF_NOARP, change=IFF_NOARP)
    if int(link.get_attr("IFLA_MTU")) != uplink.mtu:
        ipr.link("set", index=index, mtu=uplink.mtu)
    if str(link.get_attr("IFLA_ADDRESS")) != uplink.mac:
        ipr.link("set", index=index, address=uplink.mac)
    ipr.link("set", index=index, state="up" if uplink.up else "down")
    add_addresses(ipr, index, uplink.addresses, uplink.name)
    add_routes(ipr, index, uplink.movable_routes)
    add_neighbours(ipr, index, [n for n in uplink.neighbours if n.permanent])
