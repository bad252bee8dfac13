"""Calico rules as npol rules: validation, the rule algebra, and the npol encoding.

A :class:`Term` is exactly what one npol rule can match: protocol and ICMP
filters (at most three), and per side (source, destination) positive and
negative CIDRs, one positive IP-set expression, negative IP sets, and a port
condition (ranges OR IP-and-port sets, which npol OR-s) plus negative ports.
A Calico rule is one term, or two when a negated ICMP type *and code* must be
split (``not (type t and code c)`` is ``type != t``, or ``type t and code != c``);
two adjacent npol rules with the same action are exactly their OR.

:func:`conj` is the AND of two terms (None when nothing can match both); the
policy chain uses it to inline what follows a ``pass`` (see
:mod:`plugins.policy_chain`). Every AND stays one term: CIDR unions intersect as
prefixes, port ranges intersect, IP sets intersect as derived sets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Network, IPv6Network
from typing import Literal

from agent.model import (
    PORT_PROTOCOLS,
    IPNetwork,
    IpSetType,
    IpVersion,
    PortRange,
    Rule,
    RuleAction,
    protocol_number,
)
from agent.vppobjects import NpolEntry, NpolFilter, NpolRule
from plugins.policy_sets import SetExpr, intersect_prefixes, intersect_ranges

Action = Literal["allow", "deny", "pass"]
MAX_FILTERS = 3  # npol_rule.filters[3]
_ANY: dict[IpVersion, IPNetwork] = {
    IpVersion.V4: IPv4Network("0.0.0.0/0"),
    IpVersion.V6: IPv6Network("::/0"),
}


class RuleError(ValueError):
    """A rule vppnet cannot program; the text names the field."""


@dataclass(frozen=True, slots=True)
class Ports:
    """A side's port condition: a port in any range, or (address, proto, port) in any set."""

    ranges: tuple[PortRange, ...] = ()
    sets: frozenset[SetExpr] = frozenset()


@dataclass(frozen=True, slots=True)
class Side:
    """What one side (source or destination) of a packet must be; None: anything."""

    nets: frozenset[IPNetwork] | None = None
    not_nets: frozenset[IPNetwork] = frozenset()
    sets: SetExpr | None = None
    not_sets: frozenset[str] = frozenset()
    ports: Ports | None = None
    not_ports: frozenset[PortRange] = frozenset()
    not_port_sets: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Term:
    action: Action
    proto: int | None = None
    not_protos: frozenset[int] = frozenset()
    icmp_type: int | None = None
    not_icmp_types: frozenset[int] = frozenset()
    icmp_code: int | None = None
    not_icmp_codes: frozenset[int] = frozenset()
    src: Side = field(default_factory=Side)
    dst: Side = field(default_factory=Side)


DENY_ALL = Term("deny")


# -- Calico rule -> terms ---------------------------------------------------------------


def _protocol(value: int | str | None, field_name: str) -> int | None:
    if value is None:
        return None
    try:
        number = protocol_number(value)
    except ValueError:
        raise RuleError(f"{field_name}: unknown protocol {value!r}") from None
    if not 0 <= number <= 255:
        raise RuleError(f"{field_name}: protocol {number} is not 0-255")
    return number


def _ranges(ranges: tuple[PortRange, ...], field_name: str, proto: int | None) -> None:
    for r in ranges:
        if r.first > r.last:
            raise RuleError(f"{field_name}: port range {r.first}:{r.last} is inverted")
        if not (r.first >= 0 and r.last <= 65535):
            raise RuleError(f"{field_name}: port range {r.first}:{r.last} is not within 0-65535")
    if ranges and proto not in PORT_PROTOCOLS:
        raise RuleError(f"{field_name}: ports need protocol tcp, udp, sctp or udplite")


def _sets(
    ids: tuple[str, ...], field_name: str, types: Mapping[str, IpSetType], ports: bool
) -> None:
    for set_id in ids:
        kind = types.get(set_id)
        if kind is None:
            raise RuleError(f"{field_name}: unknown IP set {set_id!r}")
        if (kind is IpSetType.IP_AND_PORT) != ports:
            want = "an IP-and-port" if ports else "an address"
            raise RuleError(f"{field_name}: IP set {set_id!r} is {kind.value}, not {want} set")


def _validate(rule: Rule, types: Mapping[str, IpSetType]) -> tuple[int | None, int | None]:
    proto = _protocol(rule.protocol, "protocol")
    not_proto = _protocol(rule.not_protocol, "not_protocol")
    for name in ("src_ports", "dst_ports", "not_src_ports", "not_dst_ports"):
        _ranges(getattr(rule, name), name, proto)
    for icmp, name in ((rule.icmp, "icmp"), (rule.not_icmp, "not_icmp")):
        if icmp is None:
            continue
        if not 0 <= icmp.type <= 255 or not 0 <= (icmp.code or 0) <= 255:
            raise RuleError(f"{name}: ICMP type and code are 0-255")
    for name in ("src_ip_set_ids", "not_src_ip_set_ids", "dst_ip_set_ids", "not_dst_ip_set_ids"):
        _sets(getattr(rule, name), name, types, ports=False)
    for name in (
        "src_named_port_ip_set_ids",
        "not_src_named_port_ip_set_ids",
        "dst_named_port_ip_set_ids",
        "not_dst_named_port_ip_set_ids",
        "dst_ip_port_set_ids",
    ):
        _sets(getattr(rule, name), name, types, ports=True)
    return proto, not_proto


def _side(rule: Rule, src: bool) -> Side:
    p = "src" if src else "dst"
    ranges: tuple[PortRange, ...] = getattr(rule, f"{p}_ports")
    named: tuple[str, ...] = getattr(rule, f"{p}_named_port_ip_set_ids")
    ports = (
        Ports(ranges, frozenset(SetExpr.of(True, [n]) for n in named)) if ranges or named else None
    )
    if not src and rule.dst_ip_port_set_ids:
        service = SetExpr.of(True, rule.dst_ip_port_set_ids)
        if ports is None:
            ports = Ports((), frozenset({service}))
        else:  # AND with the rule's ports: narrow the service set to them
            narrowed = {service.within(ports.ranges)} if ports.ranges else set()
            ports = Ports((), frozenset(narrowed | {service.both(s) for s in ports.sets}))
    ip_sets: tuple[str, ...] = getattr(rule, f"{p}_ip_set_ids")
    nets: tuple[IPNetwork, ...] = getattr(rule, f"{p}_nets")
    return Side(
        nets=frozenset(nets) if nets else None,
        not_nets=frozenset(getattr(rule, f"not_{p}_nets")),
        sets=SetExpr.of(False, ip_sets) if ip_sets else None,
        not_sets=frozenset(getattr(rule, f"not_{p}_ip_set_ids")),
        ports=ports,
        not_ports=frozenset(getattr(rule, f"not_{p}_ports")),
        not_port_sets=frozenset(getattr(rule, f"not_{p}_named_port_ip_set_ids")),
    )


def terms_of(rule: Rule, types: Mapping[str, IpSetType]) -> tuple[Term, ...]:
    """The terms whose OR is the rule (none when nothing can match it).

    Raises :class:`RuleError` for a rule Calico itself would refuse or that names
    an unknown IP set. ``log`` rules are the caller's business (they decide nothing).
    """
    proto, not_proto = _validate(rule, types)
    action: Action = "pass" if rule.action is RuleAction.PASS else rule.action.value  # type: ignore[assignment]
    src = _side(rule, True)
    if rule.ip_version is not None:  # Calico's ipVersion: keep to one family
        family = _ANY[rule.ip_version]
        wanted: frozenset[IPNetwork] = src.nets or frozenset({family})
        nets = {n for n in wanted if n.version == family.version}
        if not nets:
            return ()
        src = replace(src, nets=frozenset(nets))
    term = Term(
        action=action,
        proto=proto,
        not_protos=frozenset({not_proto}) if not_proto is not None else frozenset(),
        icmp_type=rule.icmp.type if rule.icmp else None,
        icmp_code=rule.icmp.code if rule.icmp else None,
        src=src,
        dst=_side(rule, False),
    )
    base = _simplify(term)
    if base is None:
        return ()
    if rule.not_icmp is None:
        return (base,)
    t, code = rule.not_icmp.type, rule.not_icmp.code
    if code is None:
        one = _simplify(replace(base, not_icmp_types=base.not_icmp_types | {t}))
        return (one,) if one else ()
    parts = (
        _simplify(replace(base, not_icmp_types=base.not_icmp_types | {t})),
        _simplify(
            replace(
                base,
                icmp_type=base.icmp_type if base.icmp_type is not None else t,
                not_icmp_codes=base.not_icmp_codes | {code},
            )
        )
        if base.icmp_type in (None, t)
        else None,
    )
    return tuple(p for p in parts if p is not None)


# -- the AND of two terms ---------------------------------------------------------------


def _eq_filter(
    a: int | None, b: int | None, nots: frozenset[int]
) -> tuple[bool, int | None, frozenset[int]]:
    """(satisfiable, value, remaining negations) of ``x == a and x == b and x not in nots``."""
    if a is not None and b is not None and a != b:
        return False, None, nots
    value = a if a is not None else b
    if value is None:
        return True, None, nots
    if value in nots:
        return False, value, nots
    return True, value, frozenset()  # x == v already excludes every other value


def _simplify(t: Term) -> Term | None:
    ok1, proto, not_protos = _eq_filter(t.proto, None, t.not_protos)
    ok2, itype, not_types = _eq_filter(t.icmp_type, None, t.not_icmp_types)
    ok3, code, not_codes = _eq_filter(t.icmp_code, None, t.not_icmp_codes)
    if not (ok1 and ok2 and ok3):
        return None
    return replace(
        t,
        proto=proto,
        not_protos=not_protos,
        icmp_type=itype,
        not_icmp_types=not_types,
        icmp_code=code,
        not_icmp_codes=not_codes,
    )


def _and_nets(
    a: frozenset[IPNetwork] | None, b: frozenset[IPNetwork] | None
) -> frozenset[IPNetwork] | None:
    if a is None or b is None:
        return a if b is None else b
    return frozenset(intersect_prefixes(a, b))


def _and_ports(a: Ports | None, b: Ports | None) -> Ports | None:
    if a is None or b is None:
        return a if b is None else b
    sets = {s.within(b.ranges) for s in a.sets if b.ranges}
    sets |= {s.within(a.ranges) for s in b.sets if a.ranges}
    sets |= {x.both(y) for x in a.sets for y in b.sets}
    return Ports(intersect_ranges(a.ranges, b.ranges), frozenset(sets))


def _and_side(a: Side, b: Side) -> Side | None:
    nets = _and_nets(a.nets, b.nets)
    ports = _and_ports(a.ports, b.ports)
    if nets is not None and not nets:
        return None
    if ports is not None and not ports.ranges and not ports.sets:
        return None
    sets = a.sets.both(b.sets) if a.sets and b.sets else (a.sets or b.sets)
    return Side(
        nets=nets,
        not_nets=a.not_nets | b.not_nets,
        sets=sets,
        not_sets=a.not_sets | b.not_sets,
        ports=ports,
        not_ports=a.not_ports | b.not_ports,
        not_port_sets=a.not_port_sets | b.not_port_sets,
    )


def conj(a: Term, b: Term) -> Term | None:
    """Packets both terms match, with ``b``'s action; None when there can be none."""
    src, dst = _and_side(a.src, b.src), _and_side(a.dst, b.dst)
    if src is None or dst is None:
        return None
    ok1, proto, not_protos = _eq_filter(a.proto, b.proto, a.not_protos | b.not_protos)
    ok2, itype, not_types = _eq_filter(
        a.icmp_type, b.icmp_type, a.not_icmp_types | b.not_icmp_types
    )
    ok3, code, not_codes = _eq_filter(a.icmp_code, b.icmp_code, a.not_icmp_codes | b.not_icmp_codes)
    if not (ok1 and ok2 and ok3):
        return None
    return Term(b.action, proto, not_protos, itype, not_types, code, not_codes, src, dst)


# -- terms -> npol ----------------------------------------------------------------------


def _filters(t: Term) -> tuple[NpolFilter, ...]:
    out: list[NpolFilter] = []
    for kind, value, nots in (
        ("proto", t.proto, t.not_protos),
        ("icmp-type", t.icmp_type, t.not_icmp_types),
        ("icmp-code", t.icmp_code, t.not_icmp_codes),
    ):
        if value is not None:
            out.append(NpolFilter(kind, value))  # type: ignore[arg-type]
        out += [NpolFilter(kind, v, match=False) for v in sorted(nots)]  # type: ignore[arg-type]
    if len(out) > MAX_FILTERS:
        raise RuleError(
            f"needs {len(out)} protocol/ICMP conditions; an npol rule holds {MAX_FILTERS}"
        )
    return tuple(out)


def _order(expr: SetExpr) -> tuple[tuple[str, ...], tuple[PortRange, ...]]:
    return expr.ids, expr.ports or ()


def _entries(side: Side, src: bool, name: Callable[[SetExpr], str]) -> list[NpolEntry]:
    out = [NpolEntry("cidr", src, cidr=n) for n in sorted(side.nets or (), key=str)]
    out += [NpolEntry("cidr", src, True, cidr=n) for n in sorted(side.not_nets, key=str)]
    if side.sets is not None:
        out.append(NpolEntry("ipset", src, ipset=name(side.sets)))
    out += [
        NpolEntry("ipset", src, True, ipset=name(SetExpr.of(False, [s])))
        for s in sorted(side.not_sets)
    ]
    if side.ports is not None:
        out += [NpolEntry("ports", src, ports=(r.first, r.last)) for r in side.ports.ranges]
        out += [
            NpolEntry("port-ipset", src, ipset=name(s)) for s in sorted(side.ports.sets, key=_order)
        ]
    out += [NpolEntry("ports", src, True, ports=(r.first, r.last)) for r in sorted(side.not_ports)]
    out += [
        NpolEntry("port-ipset", src, True, ipset=name(SetExpr.of(True, [s])))
        for s in sorted(side.not_port_sets)
    ]
    return out


def to_npol(rule_name: str, t: Term, name: Callable[[SetExpr], str]) -> NpolRule:
    """The npol rule for a term; ``name`` gives (and registers) the npol set of an expression."""
    entries = _entries(t.src, True, name) + _entries(t.dst, False, name)
    return NpolRule(rule_name, t.action, _filters(t), tuple(entries))
