"""Calico's verdict for one packet, straight from the model: the reference for vppnet's npol.

Written from Calico's own semantics (Felix's iptables rendering), independently
of how :mod:`plugins.policy` translates them, so that tests can hold the
programmed npol state to it:

* egress first: a packet from an address the endpoint does not own (nor may
  spoof) is dropped;
* each tier with policies for the direction, in order: the first rule that
  matches decides (``allow``/``deny``), ``pass`` skips the rest of the tier,
  ``log`` goes on; no match in the whole tier: the tier's default (deny, or pass);
* then the profiles: the first matching rule decides, ``pass`` skips to the
  next profile; and finally deny.

Rules carrying the multinet network annotation count only on the pod's
interfaces in that network (profiles on every interface).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from typing import Literal

from agent.model import (
    ClusterModel,
    IPAddress,
    IpPortMember,
    IpSet,
    IpSetType,
    PodInterface,
    PodInterfaceKey,
    Rule,
    RuleAction,
    host_prefix,
    protocol_number,
)

PORTED = frozenset({6, 17, 132, 136})
ICMP = frozenset({1, 58})
Direction = Literal["ingress", "egress"]
_PROTO_NAMES = {6: "TCP", 17: "UDP", 132: "SCTP"}


@dataclass(frozen=True, slots=True)
class Packet:
    """The first packet of a flow as the policy sees it.

    ``sport``/``dport`` count for TCP, UDP, SCTP and UDP-Lite; ``icmp_type`` and
    ``icmp_code`` for ICMP and ICMPv6.
    """

    src: IPAddress
    dst: IPAddress
    proto: int
    sport: int = 0
    dport: int = 0
    icmp_type: int = 0
    icmp_code: int = 0

    def __str__(self) -> str:
        if self.proto in ICMP:
            return f"{self.src} -> {self.dst} icmp type {self.icmp_type} code {self.icmp_code}"
        return f"{self.src}:{self.sport} -> {self.dst}:{self.dport} proto {self.proto}"


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reason: str


def _in_set(s: IpSet | None, address: IPAddress) -> bool:
    if s is None:
        return False
    if s.type is IpSetType.IP:
        return address in s.members
    return any(isinstance(m, IPv4Network | IPv6Network) and address in m for m in s.members)


def _in_port_set(s: IpSet | None, address: IPAddress, proto: int, port: int) -> bool:
    if s is None or s.type is not IpSetType.IP_AND_PORT:
        return False
    name = _PROTO_NAMES.get(proto)
    return any(
        isinstance(m, IpPortMember)
        and m.address == address
        and m.port == port
        and m.protocol.value == name
        for m in s.members
    )


def _side(model: ClusterModel, rule: Rule, p: Packet, src: bool) -> bool:
    side = "src" if src else "dst"
    addr = p.src if src else p.dst
    port = p.sport if src else p.dport
    sets = model.ip_sets
    nets = getattr(rule, f"{side}_nets")
    if nets and not any(addr in n for n in nets):
        return False
    if any(addr in n for n in getattr(rule, f"not_{side}_nets")):
        return False
    if not all(_in_set(sets.get(i), addr) for i in getattr(rule, f"{side}_ip_set_ids")):
        return False
    if any(_in_set(sets.get(i), addr) for i in getattr(rule, f"not_{side}_ip_set_ids")):
        return False
    ported = p.proto in PORTED
    ranges = getattr(rule, f"{side}_ports")
    named = getattr(rule, f"{side}_named_port_ip_set_ids")
    if ranges or named:
        in_range = ported and any(r.first <= port <= r.last for r in ranges)
        in_named = ported and any(_in_port_set(sets.get(i), addr, p.proto, port) for i in named)
        if not (in_range or in_named):
            return False
    if ported and any(r.first <= port <= r.last for r in getattr(rule, f"not_{side}_ports")):
        return False
    not_named = getattr(rule, f"not_{side}_named_port_ip_set_ids")
    return not (ported and any(_in_port_set(sets.get(i), addr, p.proto, port) for i in not_named))


def matches(model: ClusterModel, rule: Rule, p: Packet) -> bool:
    """Whether a Calico rule matches a packet (every field must hold)."""
    if rule.ip_version is not None and rule.ip_version != p.src.version:
        return False
    if rule.protocol is not None and protocol_number(rule.protocol) != p.proto:
        return False
    if rule.not_protocol is not None and protocol_number(rule.not_protocol) == p.proto:
        return False
    if rule.icmp is not None and not (
        p.proto in ICMP
        and p.icmp_type == rule.icmp.type
        and (rule.icmp.code is None or p.icmp_code == rule.icmp.code)
    ):
        return False
    if rule.not_icmp is not None:
        if p.proto not in ICMP:  # an ICMP match, even negated, is for ICMP packets
            return False
        hit = p.icmp_type == rule.not_icmp.type and (
            rule.not_icmp.code is None or p.icmp_code == rule.not_icmp.code
        )
        if hit:
            return False
    if rule.dst_ip_port_set_ids and not (
        p.proto in PORTED
        and all(
            _in_port_set(model.ip_sets.get(i), p.dst, p.proto, p.dport)
            for i in rule.dst_ip_port_set_ids
        )
    ):
        return False
    return _side(model, rule, p, True) and _side(model, rule, p, False)


def _first(
    model: ClusterModel, rules: tuple[Rule, ...], network: str | None, p: Packet
) -> tuple[int, RuleAction] | None:
    """The first deciding rule (index, action); ``log`` rules decide nothing."""
    for i, rule in enumerate(rules):
        if network is not None and rule.network != network:
            continue
        if rule.action is not RuleAction.LOG and matches(model, rule, p):
            return i, rule.action
    return None


def _spoofed(model: ClusterModel, pod: PodInterface, p: Packet) -> bool:
    allowed = [host_prefix(a.ip) for a in pod.addresses] + list(pod.allowed_source_prefixes)
    endpoint = model.workload_endpoints.get(pod.key)
    if endpoint is not None:
        allowed += endpoint.allowed_source_prefixes
    if any(a.version == 6 for a in pod.addresses):
        allowed.append(IPv6Network("fe80::/10"))
    return not any(p.src in n for n in allowed)


def evaluate(model: ClusterModel, key: PodInterfaceKey, direction: Direction, p: Packet) -> Verdict:
    """Calico's verdict for packet ``p`` to (ingress) or from (egress) a local pod interface."""
    pod = model.pod_interfaces[key]
    if direction == "egress" and _spoofed(model, pod, p):
        return Verdict(False, f"source {p.src} is not an address of {key}")
    assignment = model.policy_for(pod)
    for tier in assignment.tiers:
        ids = tier.ingress_policies if direction == "ingress" else tier.egress_policies
        if not ids:
            continue
        passed = False
        for pid in ids:
            policy = model.policies.get(pid)
            if policy is None:
                continue
            rules = policy.ingress_rules if direction == "ingress" else policy.egress_rules
            hit = _first(model, rules, pod.network, p)
            if hit is None:
                continue
            i, action = hit
            where = f"tier {tier.name} policy {pid} {direction} rule {i}"
            if action is RuleAction.PASS:
                passed = True
                break
            return Verdict(action is RuleAction.ALLOW, f"{where}: {action.value}")
        if not passed and tier.default_action is not RuleAction.PASS:
            return Verdict(False, f"tier {tier.name}: no policy matched, end-of-tier deny")
    for profile_id in assignment.profile_ids:
        profile = model.profiles.get(profile_id)
        if profile is None:
            continue
        rules = profile.ingress_rules if direction == "ingress" else profile.egress_rules
        hit = _first(model, rules, None, p)
        if hit is None or hit[1] is RuleAction.PASS:
            continue
        where = f"profile {profile_id} {direction} rule {hit[0]}"
        return Verdict(hit[1] is RuleAction.ALLOW, f"{where}: {hit[1].value}")
    return Verdict(False, "no profile matched: deny")
