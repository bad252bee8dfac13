"""Policy rules: combinations Calico itself rejects, and IP sets that do not exist or
hold the wrong kind of member for the match that uses them."""

from __future__ import annotations

from agent.model import ICMP_PROTOCOLS, PORT_PROTOCOLS, IpSetType, protocol_number
from agent.scenario.checks.common import all_rules
from agent.scenario.errors import Loc, Problems
from agent.scenario.ports import parse_ip_set_member
from agent.scenario.schema import RuleSpec, ScenarioSpec

_ADDRESS_SET_FIELDS = {
    "srcIpSetIds": "src_ip_set_ids",
    "notSrcIpSetIds": "not_src_ip_set_ids",
    "dstIpSetIds": "dst_ip_set_ids",
    "notDstIpSetIds": "not_dst_ip_set_ids",
}
_PORT_SET_FIELDS = {
    "srcNamedPortIpSetIds": "src_named_port_ip_set_ids",
    "notSrcNamedPortIpSetIds": "not_src_named_port_ip_set_ids",
    "dstNamedPortIpSetIds": "dst_named_port_ip_set_ids",
    "notDstNamedPortIpSetIds": "not_dst_named_port_ip_set_ids",
    "dstIpPortSetIds": "dst_ip_port_set_ids",
}
_NET_FIELDS = {
    "srcNets": "src_nets",
    "notSrcNets": "not_src_nets",
    "dstNets": "dst_nets",
    "notDstNets": "not_dst_nets",
}
_PORT_FIELDS = {
    "srcPorts": "src_ports",
    "notSrcPorts": "not_src_ports",
    "dstPorts": "dst_ports",
    "notDstPorts": "not_dst_ports",
}


def check_rules(spec: ScenarioSpec, problems: Problems) -> None:
    set_types = {ip_set.id: IpSetType(ip_set.set_type) for ip_set in spec.ip_sets}
    for loc, rule in all_rules(spec):
        _check_rule(rule, loc, set_types, problems)
    for i, ip_set in enumerate(spec.ip_sets):
        for j, member in enumerate(ip_set.members):
            try:
                parse_ip_set_member(IpSetType(ip_set.set_type), member)
            except ValueError as error:
                problems.add(("ipSets", i, "members", j), str(error))


def _check_rule(
    rule: RuleSpec, loc: Loc, set_types: dict[str, IpSetType], problems: Problems
) -> None:
    protocol = 0 if rule.protocol is None else protocol_number(rule.protocol)
    if protocol not in PORT_PROTOCOLS:
        for alias, field in _PORT_FIELDS.items():
            if getattr(rule, field):
                problems.add((*loc, alias), "ports need protocol tcp, udp, sctp or udplite")
    for alias, icmp in (("icmp", rule.icmp), ("notIcmp", rule.not_icmp)):
        if icmp is None:
            continue
        if protocol not in ICMP_PROTOCOLS:
            problems.add((*loc, alias), "ICMP matches need protocol icmp or icmpv6")
        elif rule.ip_version is not None and ICMP_PROTOCOLS[protocol] != rule.ip_version:
            problems.add(
                (*loc, "ipVersion"),
                f"protocol {rule.protocol} contradicts ipVersion {rule.ip_version}",
            )
    if rule.ip_version is not None:
        for alias, field in _NET_FIELDS.items():
            for k, net in enumerate(getattr(rule, field)):
                if net.version != rule.ip_version:
                    problems.add(
                        (*loc, alias, k), f"{net} is not IPv{rule.ip_version} like the rule"
                    )
    for fields, wanted in (
        (_ADDRESS_SET_FIELDS, (IpSetType.IP, IpSetType.NET)),
        (_PORT_SET_FIELDS, (IpSetType.IP_AND_PORT,)),
    ):
        for alias, field in fields.items():
            for k, set_id in enumerate(getattr(rule, field)):
                if set_id not in set_types:
                    problems.add((*loc, alias, k), f"unknown IP set {set_id!r}")
                elif set_types[set_id] not in wanted:
                    kinds = " or ".join(str(t) for t in wanted)
                    problems.add(
                        (*loc, alias, k),
                        f"IP set {set_id!r} is {set_types[set_id]}, expected {kinds}",
                    )
