"""What VPP's npol decides for a packet, from npol's state: an evaluator of programmed policy.

npol has no dumps, so what vppnet programmed is known twice: from the ownership
index (ids and objects as applied) and, in tests, from the simulator's state.
Both are turned into an :class:`NpolState` (npol's own numbers: set, rule and
policy ids and enum values) and evaluated here exactly as ``npol_match.c``
(VPP v26.06) does:

* a rule matches when every filter holds (a protocol filter; an ICMP type or code
  filter, which never matches a non-ICMP packet), and, per category of entries
  (positive/negative x source/destination x CIDR/IP set), at least one positive
  entry matches (entries of the other address family never match) and no
  negative one does, except that a side's port ranges and IP-and-port sets form
  one category;
* a policy's rules for the direction are tried in order; the first match decides;
* the interface's policies for the direction in order: allow and deny decide,
  pass jumps to the profiles, log and no match go on to the next policy; then
  the policy default (allow, deny, or pass to the profiles); then the profiles
  likewise and the profile default. An interface without configuration allows.

``is_inbound`` is VPP's: a packet received on the interface. With
``invert_rx_tx`` (vppnet sets it on pod interfaces) the rx lists and the
policies' inbound rules judge what the interface *sends*, i.e. what goes to the pod.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from agent.vppobjects import (
    NpolEntry,
    NpolInterface,
    NpolIpset,
    NpolPolicy,
    NpolRule,
    VppObject,
)
from plugins.policy_oracle import ICMP, Packet

ALLOW, DENY, LOG, PASS = 0, 1, 2, 3  # npol_rule_action
DEFAULT_ALLOW, DEFAULT_DENY, DEFAULT_PASS = 0, 1, 2  # npol_policy_default
CIDR, PORT_RANGE, PORT_IP_SET, IP_SET = 0, 1, 2, 3  # npol_entry_type
SET_IP, SET_IP_AND_PORT, SET_NET = 0, 1, 2  # npol_ipset_type
F_NONE, F_ICMP_TYPE, F_ICMP_CODE, F_L4_PROTO = 0, 1, 2, 3  # npol_rule_filter_type

ACTIONS = {"allow": ALLOW, "deny": DENY, "pass": PASS}
DEFAULTS = {"allow": DEFAULT_ALLOW, "deny": DEFAULT_DENY, "pass": DEFAULT_PASS}
SET_TYPES = {"ip": SET_IP, "ip-and-port": SET_IP_AND_PORT, "net": SET_NET}
ENTRY_TYPES = {"cidr": CIDR, "ports": PORT_RANGE, "port-ipset": PORT_IP_SET, "ipset": IP_SET}
FILTER_TYPES = {"proto": F_L4_PROTO, "icmp-type": F_ICMP_TYPE, "icmp-code": F_ICMP_CODE}


@dataclass(frozen=True, slots=True)
class RuleSpec:
    action: int
    filters: tuple[tuple[int, int, bool], ...]  # (type, value, should_match)
    entries: tuple[tuple[bool, bool, int, object], ...]  # (is_src, is_not, type, data)


@dataclass(frozen=True, slots=True)
class InterfaceSpec:
    rx: tuple[int, ...]
    tx: tuple[int, ...]
    profiles: tuple[int, ...]
    invert: bool
    policy_default_rx: int
    policy_default_tx: int
    profile_default_rx: int
    profile_default_tx: int


@dataclass
class NpolState:
    ipsets: dict[int, tuple[int, frozenset[object]]] = field(default_factory=dict)
    rules: dict[int, RuleSpec] = field(default_factory=dict)
    policies: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)
    interfaces: dict[Hashable, InterfaceSpec] = field(default_factory=dict)


Stage = Literal["policy", "policy default", "profile", "profile default", "unconfigured"]


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    stage: Stage
    policy: int | None = None  # npol policy id that decided
    rule: int | None = None  # npol rule id that decided
    passed_by: tuple[int, ...] = ()  # policies (then profiles) tried without a decision


# -- matching -----------------------------------------------------------------------------


def _contains(state: NpolState, set_id: int, addr: object) -> bool:
    kind, members = state.ipsets.get(set_id, (None, frozenset()))
    if kind == SET_IP:
        return addr in members
    if kind == SET_NET:
        return any(addr in m for m in members)  # type: ignore[operator]
    return False  # an IP-and-port set in an address category: npol warns, no match


def _contains_port(state: NpolState, set_id: int, addr: object, proto: int, port: int) -> bool:
    kind, members = state.ipsets.get(set_id, (None, frozenset()))
    return kind == SET_IP_AND_PORT and (addr, proto, port) in members


def _filters_hold(spec: RuleSpec, p: Packet) -> bool:
    for kind, value, should in spec.filters:
        if kind == F_L4_PROTO:
            if (value == p.proto) != should:
                return False
        elif kind in (F_ICMP_TYPE, F_ICMP_CODE):
            if p.proto not in ICMP:
                return False
            got = p.icmp_type if kind == F_ICMP_TYPE else p.icmp_code
            if (value == got) != should:
                return False
    return True


def _address_ok(state: NpolState, spec: RuleSpec, p: Packet, src: bool) -> bool:
    addr = p.src if src else p.dst
    for kind in (CIDR, IP_SET):
        pos = [d for s, n, k, d in spec.entries if s == src and not n and k == kind]
        neg = [d for s, n, k, d in spec.entries if s == src and n and k == kind]
        if kind == CIDR:
            hit_pos = any(addr in d for d in pos)  # type: ignore[operator]
            hit_neg = any(addr in d for d in neg)  # type: ignore[operator]
        else:
            hit_pos = any(_contains(state, d, addr) for d in pos)  # type: ignore[arg-type]
            hit_neg = any(_contains(state, d, addr) for d in neg)  # type: ignore[arg-type]
        if (pos and not hit_pos) or hit_neg:
            return False
    return True


def _ports_ok(state: NpolState, spec: RuleSpec, p: Packet, src: bool) -> bool:
    addr = p.src if src else p.dst
    port = p.sport if src else p.dport
    if p.proto in ICMP:  # cnat's 5-tuple of an ICMP message carries no ports
        port = 0
    positive = False
    found = False
    for s, negated, kind, data in spec.entries:
        if s != src or kind not in (PORT_RANGE, PORT_IP_SET):
            continue
        if kind == PORT_RANGE:
            bounds: tuple[int, int] = data  # type: ignore[assignment]
            hit = bounds[0] <= port <= bounds[1]
        else:
            hit = _contains_port(state, data, addr, p.proto, port)  # type: ignore[arg-type]
        if negated and hit:
            return False
        if not negated:
            positive = True
            found = found or hit
    return found or not positive


def rule_matches(state: NpolState, spec: RuleSpec, p: Packet) -> bool:
    return (
        _filters_hold(spec, p)
        and _address_ok(state, spec, p, True)
        and _address_ok(state, spec, p, False)
        and _ports_ok(state, spec, p, True)
        and _ports_ok(state, spec, p, False)
    )


def _policy(state: NpolState, policy_id: int, inbound: bool, p: Packet) -> tuple[int, int] | None:
    """(action, rule id) of the policy's first matching rule for the direction."""
    rx, tx = state.policies[policy_id]
    for rule_id in rx if inbound else tx:
        spec = state.rules[rule_id]
        if rule_matches(state, spec, p):
            return spec.action, rule_id
    return None


def evaluate(state: NpolState, interface: Hashable, is_inbound: bool, p: Packet) -> Decision:
    """npol's verdict for packet ``p`` received on (``is_inbound``) or sent by ``interface``."""
    conf = state.interfaces.get(interface)
    if conf is None:
        return Decision(True, "unconfigured")
    rx = is_inbound != conf.invert
    policies = conf.rx if rx else conf.tx
    default = conf.policy_default_rx if rx else conf.policy_default_tx
    to_profiles = False
    tried: list[int] = []
    for pid in policies:
        hit = _policy(state, pid, rx, p)
        if hit is None or hit[0] == LOG:
            tried.append(pid)
            continue
        if hit[0] == PASS:
            to_profiles = True
            break
        return Decision(hit[0] == ALLOW, "policy", pid, hit[1], tuple(tried))
    if not to_profiles and default != DEFAULT_PASS:
        return Decision(default == DEFAULT_ALLOW, "policy default", passed_by=tuple(tried))
    for pid in conf.profiles:
        hit = _policy(state, pid, rx, p)
        if hit is None or hit[0] == LOG:
            tried.append(pid)
            continue
        # a pass in a profile is an error in npol, which then leaves the action unset
        return Decision(hit[0] == ALLOW, "profile", pid, hit[1], tuple(tried))
    profile_default = conf.profile_default_rx if rx else conf.profile_default_tx
    return Decision(profile_default == DEFAULT_ALLOW, "profile default", passed_by=tuple(tried))


def evaluate_pod(state: NpolState, interface: Hashable, ingress: bool, p: Packet) -> Decision:
    """The verdict for a packet to (``ingress``) or from a pod: VPP sends it to the pod."""
    return evaluate(state, interface, not ingress, p)


# -- from vppnet's objects ------------------------------------------------------------------


def rule_spec(rule: NpolRule, set_ids: Mapping[str, int]) -> RuleSpec:
    """An npol rule as VPP holds it, with set names resolved to VPP's ids."""
    filters = tuple((FILTER_TYPES[f.kind], f.value, f.match) for f in rule.filters)
    return RuleSpec(ACTIONS[rule.action], filters, tuple(_entry(e, set_ids) for e in rule.entries))


def _entry(e: NpolEntry, set_ids: Mapping[str, int]) -> tuple[bool, bool, int, object]:
    data: object
    if e.kind == "cidr":
        data = e.cidr
    elif e.kind == "ports":
        data = e.ports
    else:
        data = set_ids[e.ipset or ""]
    return e.src, e.negated, ENTRY_TYPES[e.kind], data


def state_of(objects: Iterable[VppObject], ids: Mapping[str, int]) -> NpolState:
    """The npol state that vppnet's objects make, given VPP's id of each (by key).

    Interfaces are keyed by name (``str`` of the interface reference).
    """
    objs = [o for o in objects if isinstance(o, NpolIpset | NpolRule | NpolPolicy | NpolInterface)]
    set_ids = {o.name: ids[o.key] for o in objs if isinstance(o, NpolIpset) and o.key in ids}
    rule_ids = {o.name: ids[o.key] for o in objs if isinstance(o, NpolRule) and o.key in ids}
    policy_ids = {o.name: ids[o.key] for o in objs if isinstance(o, NpolPolicy) and o.key in ids}
    state = NpolState()
    for o in objs:
        if isinstance(o, NpolIpset) and o.name in set_ids:
            state.ipsets[set_ids[o.name]] = (SET_TYPES[o.kind], frozenset(o.members))
        elif isinstance(o, NpolRule) and o.name in rule_ids:
            state.rules[rule_ids[o.name]] = rule_spec(o, set_ids)
        elif isinstance(o, NpolPolicy) and o.name in policy_ids:
            state.policies[policy_ids[o.name]] = (
                tuple(rule_ids[r] for r in o.inbound),
                tuple(rule_ids[r] for r in o.outbound),
            )
        elif isinstance(o, NpolInterface):
            state.interfaces[str(o.interface)] = interface_spec(o, policy_ids)
    return state


def interface_spec(o: NpolInterface, policy_ids: Mapping[str, int]) -> InterfaceSpec:
    """npol_configure_policies as vppnet sends it: inverted, so rx is towards the pod."""
    return InterfaceSpec(
        rx=tuple(policy_ids[n] for n in o.inbound),
        tx=tuple(policy_ids[n] for n in o.outbound),
        profiles=tuple(policy_ids[n] for n in o.profiles),
        invert=True,
        policy_default_rx=DEFAULTS[o.inbound_default],
        policy_default_tx=DEFAULTS[o.outbound_default],
        profile_default_rx=DEFAULTS[o.profile_default],
        profile_default_tx=DEFAULTS[o.profile_default],
    )
