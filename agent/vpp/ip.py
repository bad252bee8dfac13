"""IP tables (VRFs), routes with multiple paths, neighbors and punt redirects."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from agent.vpp.convert import (
    IPAddress,
    IPNetwork,
    address,
    from_union,
    mac_text,
    network,
    union_address,
)
from agent.vpp.request import ANY_INTERFACE, Dump, Request, command

MESSAGES = (
    "ip_table_add_del",
    "ip_table_dump",
    "ip_route_add_del",
    "ip_route_dump",
    "ip_neighbor_add_del",
    "ip_neighbor_dump",
    "ip_punt_redirect",
    "ip_punt_redirect_dump",
)


class PathType(IntEnum):
    NORMAL = 0
    LOCAL = 1
    DROP = 2
    UDP_ENCAP = 3
    BIER_IMP = 4
    ICMP_UNREACH = 5
    ICMP_PROHIBIT = 6
    SOURCE_LOOKUP = 7
    DVR = 8
    INTERFACE_RX = 9
    CLASSIFY = 10


class PathFlags(IntEnum):
    NONE = 0
    RESOLVE_VIA_ATTACHED = 1
    RESOLVE_VIA_HOST = 2


_NH_PROTO_IP4 = 0
_NH_PROTO_IP6 = 1


@dataclass(frozen=True, slots=True)
class Table:
    table_id: int
    ip6: bool
    name: str


@dataclass(frozen=True, slots=True)
class Path:
    """One FIB path: through an interface, a next hop, or both; or a lookup in ``table_id``."""

    sw_if_index: int = ANY_INTERFACE
    nh: IPAddress | None = None
    table_id: int = 0
    weight: int = 1
    preference: int = 0
    type: PathType = PathType.NORMAL
    flags: PathFlags = PathFlags.NONE


@dataclass(frozen=True, slots=True)
class Route:
    table_id: int
    prefix: IPNetwork
    paths: tuple[Path, ...]
    stats_index: int = 0


def _table(d: Any) -> Table:
    t = d.table
    return Table(int(t.table_id), bool(t.is_ip6), str(t.name))


def dump_tables() -> Dump[Table]:
    return Dump("ip_table_dump", {}, _table)


def add_table(table_id: int, ip6: bool, name: str = "", what: str = "") -> Request[None]:
    table = {"table_id": table_id, "is_ip6": ip6, "name": name}
    return command("ip_table_add_del", what, is_add=True, table=table)


def del_table(table_id: int, ip6: bool, what: str = "") -> Request[None]:
    table = {"table_id": table_id, "is_ip6": ip6}
    return command("ip_table_add_del", what, is_add=False, table=table)


def _encode_path(path: Path, ip6: bool) -> dict[str, Any]:
    nh = path.nh
    if nh is None:
        nh = ipaddress.IPv6Address(0) if ip6 else ipaddress.IPv4Address(0)
    return {
        "sw_if_index": path.sw_if_index,
        "table_id": path.table_id,
        "rpf_id": 0,
        "weight": path.weight,
        "preference": path.preference,
        "type": int(path.type),
        "flags": int(path.flags),
        "proto": _NH_PROTO_IP6 if nh.version == 6 else _NH_PROTO_IP4,
        "nh": {
            "address": union_address(nh),
            "via_label": 0,
            "obj_id": 0,
            "classify_table_index": 0xFFFFFFFF,
        },
        "n_labels": 0,
        "label_stack": [{}] * 16,
    }


def _decode_path(p: Any) -> Path:
    ip6 = int(p.proto) == _NH_PROTO_IP6
    nh = from_union(p.nh.address, ip6)
    return Path(
        sw_if_index=int(p.sw_if_index),
        nh=None if int(nh) == 0 else nh,
        table_id=int(p.table_id),
        weight=int(p.weight),
        preference=int(p.preference),
        type=PathType(int(p.type)),
        flags=PathFlags(int(p.flags) & 3),
    )


def add_route(
    table_id: int,
    prefix: IPNetwork,
    paths: tuple[Path, ...],
    *,
    multipath: bool = False,
    what: str = "",
) -> Request[int]:
    """Add a route (replacing its paths) or, with ``multipath``, add these paths to it."""
    ip6 = prefix.version == 6
    route: dict[str, Any] = {
        "table_id": table_id,
        "prefix": prefix,
        "n_paths": len(paths),
        "paths": [_encode_path(p, ip6) for p in paths],
    }
    return Request(
        "ip_route_add_del",
        {"is_add": True, "is_multipath": multipath, "route": route},
        lambda r: int(r.stats_index),
        what,
    )


def del_route(table_id: int, prefix: IPNetwork, what: str = "") -> Request[None]:
    route: dict[str, Any] = {"table_id": table_id, "prefix": prefix, "n_paths": 0, "paths": []}
    return command("ip_route_add_del", what, is_add=False, is_multipath=False, route=route)


def _route(d: Any) -> Route:
    r = d.route
    return Route(
        table_id=int(r.table_id),
        prefix=network(r.prefix),
        paths=tuple(_decode_path(p) for p in r.paths),
        stats_index=int(r.stats_index),
    )


def dump_routes(table_id: int, ip6: bool) -> Dump[Route]:
    return Dump("ip_route_dump", {"table": {"table_id": table_id, "is_ip6": ip6}}, _route)


@dataclass(frozen=True, slots=True)
class Neighbor:
    sw_if_index: int
    ip: IPAddress
    mac: str
    static: bool


NEIGHBOR_STATIC = 1
NEIGHBOR_NO_FIB_ENTRY = 2  # no /32 (/128) adj-fib: the entry only completes adjacencies


def add_neighbor(
    sw_if_index: int,
    ip: IPAddress,
    mac: str,
    static: bool = True,
    what: str = "",
    *,
    no_fib_entry: bool = False,
) -> Request[None]:
    flags = (NEIGHBOR_STATIC if static else 0) | (NEIGHBOR_NO_FIB_ENTRY if no_fib_entry else 0)
    neighbor = {
        "sw_if_index": sw_if_index,
        "flags": flags,
        "mac_address": mac,
        "ip_address": ip,
    }
    return command("ip_neighbor_add_del", what, is_add=True, neighbor=neighbor)


def del_neighbor(sw_if_index: int, ip: IPAddress, mac: str, what: str = "") -> Request[None]:
    neighbor = {"sw_if_index": sw_if_index, "mac_address": mac, "ip_address": ip}
    return command("ip_neighbor_add_del", what, is_add=False, neighbor=neighbor)


def _neighbor(d: Any) -> Neighbor:
    n = d.neighbor
    return Neighbor(
        int(n.sw_if_index),
        address(n.ip_address),
        mac_text(n.mac_address),
        bool(int(n.flags) & NEIGHBOR_STATIC),
    )


def dump_neighbors(ip6: bool, sw_if_index: int = ANY_INTERFACE) -> Dump[Neighbor]:
    return Dump("ip_neighbor_dump", {"sw_if_index": sw_if_index, "af": 1 if ip6 else 0}, _neighbor)


@dataclass(frozen=True, slots=True)
class PuntRedirect:
    """Packets punted on ``rx_sw_if_index`` (~0: any) go out of ``tx_sw_if_index`` via ``nh``."""

    rx_sw_if_index: int
    tx_sw_if_index: int
    nh: IPAddress


def _punt_args(p: PuntRedirect) -> dict[str, Any]:
    return {"rx_sw_if_index": p.rx_sw_if_index, "tx_sw_if_index": p.tx_sw_if_index, "nh": p.nh}


def add_punt_redirect(p: PuntRedirect, what: str = "") -> Request[None]:
    return command("ip_punt_redirect", what, punt=_punt_args(p), is_add=True)


def del_punt_redirect(p: PuntRedirect, what: str = "") -> Request[None]:
    return command("ip_punt_redirect", what, punt=_punt_args(p), is_add=False)


def _punt(d: Any) -> PuntRedirect:
    p = d.punt
    return PuntRedirect(int(p.rx_sw_if_index), int(p.tx_sw_if_index), address(p.nh))


def dump_punt_redirects(ip6: bool, sw_if_index: int = ANY_INTERFACE) -> Dump[PuntRedirect]:
    return Dump("ip_punt_redirect_dump", {"sw_if_index": sw_if_index, "is_ipv6": ip6}, _punt)
