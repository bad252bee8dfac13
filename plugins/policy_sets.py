"""Calico's IP sets as npol IP sets, and the derived sets some rules need.

A Felix IP set becomes one npol set of the same type (``ip``, ``net`` or
``ip-and-port``), so a membership change is a member delta on that one set.

npol OR-s the IP sets of one rule entry category, while Calico AND-s a rule's
IP sets (``src_ip_set_ids: [a, b]`` means "in a and in b"), and npol OR-s port
ranges with IP-and-port sets while Calico AND-s a service match
(``dst_ip_port_set_ids``) with the rule's ports. Both are exact as one *derived*
set whose members vppnet computes from the model: the intersection of the sets
(prefix unions intersect as prefixes), or an IP-and-port set narrowed to some
ports. A derived set is an ordinary npol set named after its expression, kept up
to date with its sources like any other, so it too changes by member deltas.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any

from agent.model import (
    IPNetwork,
    IpPortMember,
    IpSet,
    IpSetType,
    L4Protocol,
    PortRange,
    host_prefix,
)
from agent.vppobjects import IpPort, NpolIpset, NpolMember, NpolMembers, NpolSetKind

L4_NUMBERS = {L4Protocol.TCP: 6, L4Protocol.UDP: 17, L4Protocol.SCTP: 132}
EPOCH_SET = "vppnet-epoch"
"""An always-empty set: its presence in VPP tells vppnet that VPP was not restarted."""

_KIND: dict[IpSetType, NpolSetKind] = {
    IpSetType.IP: "ip",
    IpSetType.NET: "net",
    IpSetType.IP_AND_PORT: "ip-and-port",
}


def base_name(set_id: str, set_type: IpSetType) -> str:
    """The npol set of a Felix set; the type is part of the name, since npol cannot
    change a set's type: a Felix set that changes type becomes another npol set."""
    return f"{_KIND[set_type]}:{set_id}"


@dataclass(frozen=True, slots=True)
class SetExpr:
    """The members every set of ``ids`` holds; for IP-and-port sets (``ports_kind``),
    only those whose port is in ``ports`` when that is given."""

    ports_kind: bool
    ids: tuple[str, ...]
    ports: tuple[PortRange, ...] | None = None

    @classmethod
    def of(cls, ports_kind: bool, ids: Iterable[str]) -> SetExpr:
        return cls(ports_kind, tuple(sorted(set(ids))))

    def both(self, other: SetExpr) -> SetExpr:
        """Members of both expressions."""
        ports = self.ports
        if other.ports is not None:
            ports = other.ports if ports is None else intersect_ranges(ports, other.ports)
        return SetExpr(self.ports_kind, tuple(sorted({*self.ids, *other.ids})), ports)

    def within(self, ranges: tuple[PortRange, ...]) -> SetExpr:
        """Members whose port is in ``ranges`` (IP-and-port expressions only)."""
        ports = ranges if self.ports is None else intersect_ranges(self.ports, ranges)
        return SetExpr(self.ports_kind, self.ids, ports)

    def name(self, types: Mapping[str, IpSetType]) -> str:
        if len(self.ids) == 1 and self.ports is None:
            return base_name(self.ids[0], types[self.ids[0]])
        text = "&".join(self.ids)
        if self.ports is not None:
            text += " ports " + (",".join(str(p) for p in self.ports) or "none")
        return f"({text})"


def intersect_ranges(a: Iterable[PortRange], b: Iterable[PortRange]) -> tuple[PortRange, ...]:
    """Ports in both lists of ranges, as sorted ranges."""
    out = {
        PortRange(max(x.first, y.first), min(x.last, y.last))
        for x in a
        for y in b
        if max(x.first, y.first) <= min(x.last, y.last)
    }
    return tuple(sorted(out))


def npol_members(ip_set: IpSet) -> NpolMembers:
    """A Felix set's members as npol members (IP-and-port: protocol numbers)."""
    if ip_set.type is IpSetType.IP_AND_PORT:
        return NpolMembers(
            (m.address, L4_NUMBERS[m.protocol], m.port)
            for m in ip_set.members
            if isinstance(m, IpPortMember)
        )
    return NpolMembers(ip_set.members)  # type: ignore[arg-type]


def _as_prefixes(members: Iterable[NpolMember]) -> set[IPNetwork]:
    out: set[IPNetwork] = set()
    for m in members:
        if isinstance(m, IPv4Network | IPv6Network):
            out.add(m)
        elif isinstance(m, IPv4Address | IPv6Address):
            out.add(host_prefix(m))
    return out


def _index(prefixes: Iterable[IPNetwork]) -> dict[tuple[int, int], set[IPNetwork]]:
    by_len: dict[tuple[int, int], set[IPNetwork]] = {}
    for p in prefixes:
        by_len.setdefault((p.version, p.prefixlen), set()).add(p)
    return by_len


def _covered(p: IPNetwork, index: dict[tuple[int, int], set[IPNetwork]]) -> bool:
    for (version, length), prefixes in index.items():
        if (
            version == p.version
            and length <= p.prefixlen
            and p.supernet(new_prefix=length) in prefixes
        ):
            return True
    return False


def intersect_prefixes(a: Iterable[IPNetwork], b: Iterable[IPNetwork]) -> set[IPNetwork]:
    """The addresses in both unions of prefixes, as prefixes (two prefixes either nest
    or are disjoint, so the intersection is the covered prefixes of either side)."""
    a, b = set(a), set(b)
    index_a, index_b = _index(a), _index(b)
    return {p for p in b if _covered(p, index_a)} | {p for p in a if _covered(p, index_b)}


def _members_of(expr: SetExpr, sets: Mapping[str, IpSet]) -> NpolMembers:
    sources = [sets[i] for i in expr.ids]
    if expr.ports_kind:
        common: set[IpPort] | None = None
        for s in sources:
            these = {m for m in npol_members(s) if isinstance(m, tuple)}
            common = these if common is None else common & these
        members = common or set()
        if expr.ports is not None:
            ranges = expr.ports
            members = {m for m in members if any(r.first <= m[2] <= r.last for r in ranges)}
        return NpolMembers(members)
    prefixes: set[IPNetwork] | None = None
    for s in sources:
        nets = _as_prefixes(npol_members(s))
        prefixes = nets if prefixes is None else intersect_prefixes(prefixes, nets)
    return NpolMembers(prefixes or ())


class SetTable:
    """The npol sets one render needs, reusing the previous render's unchanged ones.

    Each entry is kept with the model objects it was made from; an entry whose
    sources are the very same objects is reused as is (same object, so the
    dataplane's comparison of old and new costs nothing).
    """

    def __init__(self, sets: Mapping[str, IpSet], previous: dict[Any, Any] | None) -> None:
        self.sets = sets
        self.types = {k: s.type for k, s in sets.items()}
        self._previous = previous or {}
        self.cache: dict[Any, Any] = {}
        self.used: dict[str, NpolIpset] = {}

    def npol_set(self, expr: SetExpr) -> str:
        """The name of the npol set for ``expr``, which is added to :attr:`used`."""
        name = expr.name(self.types)
        if name in self.used:
            return name
        sources = tuple(self.sets[i] for i in expr.ids)
        hit = self._previous.get(expr)
        if (
            hit is not None
            and len(hit[0]) == len(sources)
            and all(x is y for x, y in zip(hit[0], sources, strict=True))
        ):
            self.cache[expr] = hit
            self.used[name] = hit[1]
            return name
        if len(expr.ids) == 1 and expr.ports is None:
            obj = NpolIpset(name, _KIND[sources[0].type], npol_members(sources[0]))
        else:
            kind: NpolSetKind = "ip-and-port" if expr.ports_kind else "net"
            obj = NpolIpset(name, kind, _members_of(expr, self.sets))
        self.cache[expr] = (sources, obj)
        self.used[name] = obj
        return name


def epoch_set() -> NpolIpset:
    return NpolIpset(EPOCH_SET, "ip")
