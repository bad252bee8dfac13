"""Felix's policies, profiles, rules and tier lists -> the cluster model's policy types.

Every conversion validates what the policy plugin will rely on (actions,
protocols, CIDRs, port ranges, ICMP) and raises :class:`ConversionError`
naming the object and the field, so one bad policy is rejected on its own
and the previous version stays in force. Selectors, service-account and
HTTP matches are not converted: Felix has already resolved the first two into
IP sets, and HTTP matches are for application-layer policy, not a dataplane.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from ipaddress import ip_network
from typing import Final

from agent.model import (
    IcmpMatch,
    IPNetwork,
    IpProtocol,
    IpVersion,
    Policy,
    PolicyAssignment,
    PolicyId,
    PortRange,
    Profile,
    Rule,
    RuleAction,
    TierAssignment,
    protocol_number,
)
from agent.proto_gen import felixbackend_pb2 as pb

NETWORK_ANNOTATION: Final = "extensions.projectcalico.org/network"
"""calico-vpp's rule annotation restricting a rule to a pod's interfaces in one network."""

_ACTION_SYNONYMS: Final = {"next-tier": "pass"}
_IP_VERSIONS: Final = {0: None, 4: IpVersion.V4, 6: IpVersion.V6}


class ConversionError(ValueError):
    """A Felix message the model cannot represent; the text names object and field."""


def policy_id(pid: pb.PolicyID) -> PolicyId:
    """The whole PolicyID is the key: Felix < 3.32 fills tier, later ones namespace/kind."""
    return PolicyId(tier=pid.tier, name=pid.name, namespace=pid.namespace, kind=pid.kind)


def describe_policy(pid: pb.PolicyID) -> str:
    return f"policy {policy_id(pid)}" + (f" ({pid.kind})" if pid.kind else "")


def action(text: str, where: str) -> RuleAction:
    word = text.strip().lower()
    word = _ACTION_SYNONYMS.get(word, word)
    try:
        return RuleAction(word)
    except ValueError:
        raise ConversionError(f"{where}: unknown action {text!r}") from None


def tiers(infos: Iterable[pb.TierInfo], where: str) -> tuple[TierAssignment, ...]:
    """Tier lists in evaluation order; an empty default action means Calico's Deny.

    Endpoints mostly share their tiers (same namespace, same policies), so each
    TierInfo is converted once per distinct content and the result shared.
    """
    try:
        return tuple(_tier(info.SerializeToString()) for info in infos)
    except ConversionError as e:
        raise ConversionError(f"{where} {e}") from None


@functools.lru_cache(maxsize=1 << 14)
def _tier(blob: bytes) -> TierAssignment:
    info = pb.TierInfo.FromString(blob)
    default = (
        action(info.default_action, f"tier {info.name} default_action")
        if info.default_action
        else RuleAction.DENY
    )
    return TierAssignment(
        name=info.name,
        ingress_policies=tuple(policy_id(p) for p in info.ingress_policies),
        egress_policies=tuple(policy_id(p) for p in info.egress_policies),
        default_action=default,
    )


@functools.lru_cache(maxsize=1 << 14)
def _assignment(
    tier_list: tuple[TierAssignment, ...], profile_ids: tuple[str, ...]
) -> PolicyAssignment:
    return PolicyAssignment(tiers=tier_list, profile_ids=profile_ids)


def assignment(
    tier_infos: Iterable[pb.TierInfo], profile_ids: Sequence[str], where: str
) -> PolicyAssignment:
    """An endpoint's policy assignment (one shared object per distinct assignment)."""
    return _assignment(tiers(tier_infos, where), tuple(profile_ids))


def clear_caches() -> None:
    """Forget converted values (benchmarks start cold; nothing else needs this)."""
    _tier.cache_clear()
    _assignment.cache_clear()
    _network.cache_clear()


@functools.lru_cache(maxsize=1 << 16)
def _network(text: str) -> IPNetwork:
    return ip_network(text, strict=False)


def networks(texts: Sequence[str], where: str) -> tuple[IPNetwork, ...]:
    """CIDRs (a bare address is its /32 or /128); the error names the bad one."""
    try:
        return tuple(_network(text) for text in texts)
    except ValueError:
        bad = next(t for t in texts if not _parses(t))
        raise ConversionError(f"{where}: invalid CIDR {bad!r}") from None


def _parses(text: str) -> bool:
    try:
        _network(text)
    except ValueError:
        return False
    return True


def ports(ranges: Iterable[pb.PortRange], where: str) -> tuple[PortRange, ...]:
    out = []
    for r in ranges:
        if not (0 <= r.first <= r.last <= 65535):
            raise ConversionError(f"{where}: invalid port range {r.first}:{r.last}")
        out.append(PortRange(r.first, r.last))
    return tuple(out)


def protocol(message: pb.Protocol, where: str) -> IpProtocol | None:
    which = message.WhichOneof("number_or_name")
    if which == "number":
        if not 0 <= message.number <= 255:
            raise ConversionError(f"{where}: protocol number {message.number} is not 0-255")
        return message.number
    if which == "name":
        name = message.name.lower()
        try:
            protocol_number(name)
        except ValueError:
            raise ConversionError(f"{where}: unknown protocol {message.name!r}") from None
        return name
    return None


def _icmp(rule: pb.Rule, negated: bool) -> IcmpMatch | None:
    which = rule.WhichOneof("not_icmp") if negated else rule.WhichOneof("icmp")
    if which is None:
        return None
    if which.endswith("_code"):
        match = rule.not_icmp_type_code if negated else rule.icmp_type_code
        return IcmpMatch(type=match.type, code=match.code)
    return IcmpMatch(type=rule.not_icmp_type if negated else rule.icmp_type)


def rule(message: pb.Rule, where: str) -> Rule:
    """One rule; ``where`` prefixes errors (e.g. ``policy default/x inbound rule 2``)."""
    if message.ip_version not in _IP_VERSIONS:
        raise ConversionError(f"{where}: ip_version {message.ip_version} is not 0, 4 or 6")
    network = message.metadata.annotations.get(NETWORK_ANNOTATION, "")
    return Rule(
        action=action(message.action, f"{where} action"),
        ip_version=_IP_VERSIONS[message.ip_version],
        protocol=protocol(message.protocol, f"{where} protocol"),
        not_protocol=protocol(message.not_protocol, f"{where} not_protocol"),
        src_nets=networks(message.src_net, f"{where} src_net"),
        not_src_nets=networks(message.not_src_net, f"{where} not_src_net"),
        dst_nets=networks(message.dst_net, f"{where} dst_net"),
        not_dst_nets=networks(message.not_dst_net, f"{where} not_dst_net"),
        src_ports=ports(message.src_ports, f"{where} src_ports"),
        not_src_ports=ports(message.not_src_ports, f"{where} not_src_ports"),
        dst_ports=ports(message.dst_ports, f"{where} dst_ports"),
        not_dst_ports=ports(message.not_dst_ports, f"{where} not_dst_ports"),
        src_named_port_ip_set_ids=tuple(message.src_named_port_ip_set_ids),
        not_src_named_port_ip_set_ids=tuple(message.not_src_named_port_ip_set_ids),
        dst_named_port_ip_set_ids=tuple(message.dst_named_port_ip_set_ids),
        not_dst_named_port_ip_set_ids=tuple(message.not_dst_named_port_ip_set_ids),
        src_ip_set_ids=tuple(message.src_ip_set_ids),
        not_src_ip_set_ids=tuple(message.not_src_ip_set_ids),
        dst_ip_set_ids=tuple(message.dst_ip_set_ids),
        not_dst_ip_set_ids=tuple(message.not_dst_ip_set_ids),
        dst_ip_port_set_ids=tuple(message.dst_ip_port_set_ids),
        icmp=_icmp(message, negated=False),
        not_icmp=_icmp(message, negated=True),
        network=network,
    )


def rules(messages: Iterable[pb.Rule], where: str) -> tuple[Rule, ...]:
    return tuple(rule(m, f"{where} rule {i}") for i, m in enumerate(messages))


def policy(update: pb.ActivePolicyUpdate) -> Policy:
    where = describe_policy(update.id)
    body = update.policy
    return Policy(
        id=policy_id(update.id),
        ingress_rules=rules(body.inbound_rules, f"{where} inbound"),
        egress_rules=rules(body.outbound_rules, f"{where} outbound"),
        pre_dnat=body.pre_dnat,
        untracked=body.untracked,
    )


def profile(update: pb.ActiveProfileUpdate) -> Profile:
    where = f"profile {update.id.name}"
    return Profile(
        id=update.id.name,
        ingress_rules=rules(update.profile.inbound_rules, f"{where} inbound"),
        egress_rules=rules(update.profile.outbound_rules, f"{where} outbound"),
    )
