"""FIB tables and routes, with the entries VPP installs by itself.

VPP keeps one FIB entry per prefix with contributions from several sources;
``ip_route_dump`` shows the paths of the best source. We store only what the
API added and compute the other sources (special prefixes of a new table,
interface addresses, neighbour adjacencies) when a dump asks, then let the
best source win per prefix, using VPP's source priorities.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agent.vppsim.codec import IPNetwork, Msg
from agent.vppsim.state.interfaces import NO_INDEX, Interface

PATH_NORMAL = 0
PATH_LOCAL = 1
PATH_DROP = 2
PROTO_IP4 = 0
PROTO_IP6 = 1

# fib_source_t order: a lower number wins (SPECIAL > INTERFACE > API > ADJ > DEFAULT_ROUTE)
SRC_SPECIAL = 0
SRC_INTERFACE = 1
SRC_API = 2
SRC_ADJ = 3
SRC_DEFAULT_ROUTE = 4

_V4_SPECIALS = (
    ("0.0.0.0/0", SRC_DEFAULT_ROUTE),
    ("0.0.0.0/32", SRC_DEFAULT_ROUTE),
    ("240.0.0.0/4", SRC_SPECIAL),
    ("224.0.0.0/4", SRC_SPECIAL),
    ("255.255.255.255/32", SRC_SPECIAL),
)


def make_path(
    ptype: int,
    is_ip6: bool,
    sw_if_index: int = NO_INDEX,
    nh: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None,
) -> Msg:
    """A ``fib_path`` as VPP's fib_path_encode reports self-installed paths."""
    return {
        "sw_if_index": sw_if_index,
        "table_id": 0,
        "rpf_id": 0,
        "weight": 1,
        "preference": 0,
        "type": ptype,
        "flags": 0,
        "proto": PROTO_IP6 if is_ip6 else PROTO_IP4,
        "nh": {"address": nh.packed if nh is not None else b""},
        "n_labels": 0,
    }


@dataclass
class Route:
    prefix: IPNetwork
    paths: list[Msg]
    stats_index: int


@dataclass
class Table:
    table_id: int
    is_ip6: bool
    name: str
    api_owned: bool = True
    routes: dict[IPNetwork, Route] = field(default_factory=dict)


def default_table_name(is_ip6: bool, table_id: int) -> str:
    return f"ipv{6 if is_ip6 else 4}-VRF:{table_id}"


class Fib:
    """All IPv4 and IPv6 unicast tables; table 0 of each family always exists."""

    def __init__(self) -> None:
        self.tables: dict[tuple[bool, int], Table] = {}
        self._stats: dict[tuple[bool, int, IPNetwork], int] = {}
        self._next_stats = 1
        for is_ip6 in (False, True):
            self.add_table(is_ip6, 0, "")

    def table(self, is_ip6: bool, table_id: int) -> Table | None:
        return self.tables.get((is_ip6, table_id))

    def add_table(self, is_ip6: bool, table_id: int, name: str) -> None:
        """Idempotent: an existing table keeps its name, as in VPP's ip_table_create."""
        t = self.tables.get((is_ip6, table_id))
        if t is None:
            self.tables[(is_ip6, table_id)] = Table(
                table_id, is_ip6, name or default_table_name(is_ip6, table_id)
            )
        else:
            t.api_owned = True

    def delete_table(self, is_ip6: bool, table_id: int, bound: bool) -> None:
        """Flush the API routes; the table itself goes when no interface still binds it."""
        t = self.tables.get((is_ip6, table_id))
        if t is None or table_id == 0:
            return
        for prefix in list(t.routes):
            self.delete_route(t, prefix)
        t.api_owned = False
        if not bound:
            del self.tables[(is_ip6, table_id)]

    def collect(self, bound_tables: set[tuple[bool, int]]) -> None:
        """Drop tables kept only by interface bindings once nothing binds them."""
        for key, t in list(self.tables.items()):
            if key[1] != 0 and not t.api_owned and key not in bound_tables:
                del self.tables[key]

    def stats_index(self, is_ip6: bool, table_id: int, prefix: IPNetwork) -> int:
        """A stable handle per FIB entry (VPP returns the entry's stats index)."""
        key = (is_ip6, table_id, prefix)
        idx = self._stats.get(key)
        if idx is None:
            idx = self._stats[key] = self._next_stats
            self._next_stats += 1
        return idx

    def replace_route(self, t: Table, prefix: IPNetwork, paths: list[Msg]) -> Route:
        route = t.routes.get(prefix)
        if route is None:
            route = Route(prefix, paths, self.stats_index(t.is_ip6, t.table_id, prefix))
            t.routes[prefix] = route
        else:
            route.paths = paths
        return route

    def add_paths(self, t: Table, prefix: IPNetwork, paths: list[Msg]) -> Route:
        route = t.routes.get(prefix)
        if route is None:
            return self.replace_route(t, prefix, list(paths))
        for p in paths:
            key = path_key(p)
            route.paths = [q for q in route.paths if path_key(q) != key] + [p]
        return route

    def remove_paths(self, t: Table, prefix: IPNetwork, paths: list[Msg]) -> None:
        route = t.routes.get(prefix)
        if route is None:
            return
        keys = {path_key(p) for p in paths}
        route.paths = [q for q in route.paths if path_key(q) not in keys]
        if not route.paths:
            self.delete_route(t, prefix)

    def delete_route(self, t: Table, prefix: IPNetwork) -> None:
        if t.routes.pop(prefix, None) is not None:
            self._stats.pop((t.is_ip6, t.table_id, prefix), None)

    # -- dump -----------------------------------------------------------------
    def entries(
        self, t: Table, interfaces: Iterable[Interface], neighbors: Iterable[tuple[int, Any]]
    ) -> list[tuple[IPNetwork, list[Msg]]]:
        """Every prefix of the table with the paths of its best source."""
        best: dict[IPNetwork, tuple[int, list[Msg]]] = {}

        def offer(prefix: IPNetwork, source: int, paths: list[Msg]) -> None:
            current = best.get(prefix)
            if current is None or source < current[0]:
                best[prefix] = (source, paths)

        for prefix, source, paths in special_entries(t.is_ip6):
            offer(prefix, source, paths)
        for iface in interfaces:
            if iface.admin_up and iface.table(t.is_ip6) == t.table_id:
                for prefix, paths in interface_entries(iface, t.is_ip6):
                    offer(prefix, SRC_INTERFACE, paths)
        for sw_if_index, ip in neighbors:
            prefix = ipaddress.ip_network(ip)
            offer(prefix, SRC_ADJ, [make_path(PATH_NORMAL, t.is_ip6, sw_if_index, ip)])
        for prefix, route in t.routes.items():
            offer(prefix, SRC_API, route.paths)
        return sorted(
            ((p, paths) for p, (_, paths) in best.items()),
            key=lambda e: (e[0].network_address, e[0].prefixlen),
        )


def path_key(path: Msg) -> tuple[Any, ...]:
    """VPP's fib_route_path_cmp: next hop, interface, and the table when there is no next hop."""
    nh = path.get("nh") or {}
    addr = nh.get("address")
    raw = getattr(addr, "raw", addr) or b""
    if isinstance(raw, dict):
        raw = b"".join(getattr(v, "packed", b"") for v in raw.values())
    raw = bytes(raw).rstrip(b"\0")
    table = path.get("table_id", 0) if not raw else 0
    return (path.get("proto", 0), raw, path.get("sw_if_index", NO_INDEX), table)


def special_entries(is_ip6: bool) -> list[tuple[IPNetwork, int, list[Msg]]]:
    if is_ip6:
        return [
            (ipaddress.ip_network("::/0"), SRC_DEFAULT_ROUTE, [make_path(PATH_DROP, True)]),
            (ipaddress.ip_network("fe80::/10"), SRC_SPECIAL, [make_path(PATH_LOCAL, True)]),
        ]
    return [
        (ipaddress.ip_network(p), src, [make_path(PATH_DROP, False)]) for p, src in _V4_SPECIALS
    ]


def interface_entries(iface: Interface, is_ip6: bool) -> list[tuple[IPNetwork, list[Msg]]]:
    """ip4_add_interface_routes / ip6_add_interface_routes for each address."""
    out: list[tuple[IPNetwork, list[Msg]]] = []
    sw = iface.sw_if_index
    for addr in iface.addresses_of(is_ip6):
        net = addr.network
        host_len = 128 if is_ip6 else 32
        if net.prefixlen < host_len - (0 if is_ip6 else 1):
            out.append((net, [make_path(PATH_NORMAL, is_ip6, sw)]))
            if not is_ip6:
                for special in (net.network_address, net.broadcast_address):
                    if special != addr.ip:
                        out.append((ipaddress.ip_network(special), [make_path(PATH_DROP, False)]))
        elif not is_ip6 and net.prefixlen == 31:
            other = ipaddress.IPv4Address(int(addr.ip) ^ 1)
            out.append((ipaddress.ip_network(other), [make_path(PATH_NORMAL, False, sw, other)]))
        out.append((ipaddress.ip_network(addr.ip), [make_path(PATH_LOCAL, is_ip6, sw, addr.ip)]))
    return out
