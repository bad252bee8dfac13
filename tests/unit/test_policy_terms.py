"""The rule algebra: a Calico rule is the OR of its npol terms, and conj is an AND.

Both are checked packet by packet against the oracle's rule matching, through
the npol rules the terms become (evaluated as VPP's npol evaluates them).
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_address, ip_network

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.model import (
    ClusterModel,
    IcmpMatch,
    IpPortMember,
    IpSet,
    IpSetType,
    L4Protocol,
    PortRange,
    Rule,
    RuleAction,
)
from agent.reconcile.npol_eval import rule_matches, state_of
from agent.vppobjects import VppObject
from plugins.policy_oracle import Packet, matches
from plugins.policy_sets import SetTable, intersect_prefixes
from plugins.policy_terms import RuleError, Term, conj, terms_of, to_npol
from tests.policygen import FOCUS, models, packets, rules

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def term_matches(model: ClusterModel, term: Term, p: Packet) -> bool:
    table = SetTable(model.ip_sets, None)
    rule = to_npol("r", term, table.npol_set)
    objects: list[VppObject] = [*table.used.values(), rule]
    state = state_of(objects, {o.key: i for i, o in enumerate(objects)})
    return rule_matches(state, state.rules[len(objects) - 1], p)


def types(model: ClusterModel) -> dict[str, IpSetType]:
    return {k: s.type for k, s in model.ip_sets.items()}


def deciding(rule: Rule) -> Rule:
    """``log`` rules never become npol rules (they decide nothing): match-test them as allow."""
    return replace(rule, action=RuleAction.ALLOW) if rule.action is RuleAction.LOG else rule


@SETTINGS
@given(
    models(max_policies=1),
    rules() | rules(FOCUS, ("tcp", "icmp")),
    st.lists(packets(), min_size=5, max_size=20),
)
def test_a_rule_is_the_or_of_its_terms(
    model: ClusterModel, rule: Rule, probes: list[Packet]
) -> None:
    rule = deciding(rule)
    terms = terms_of(rule, types(model))
    for p in probes:
        want = matches(model, rule, p)
        assert any(term_matches(model, t, p) for t in terms) == want, (rule, p)


@SETTINGS
@given(
    models(max_policies=1),
    rules(FOCUS, ("tcp", "udp", "icmp", None)),
    rules(FOCUS, ("tcp", "udp", "icmp", None)),
    st.lists(packets(), min_size=5, max_size=20),
)
def test_conj_is_the_and_of_two_terms(
    model: ClusterModel, r1: Rule, r2: Rule, probes: list[Packet]
) -> None:
    for a in terms_of(deciding(r1), types(model)):
        for b in terms_of(deciding(r2), types(model)):
            both = conj(a, b)
            for p in probes:
                want = term_matches(model, a, p) and term_matches(model, b, p)
                got = both is not None and term_matches(model, both, p)
                assert got == want, (a, b, p)


def test_prefix_unions_intersect_as_prefixes() -> None:
    a = {ip_network("10.0.0.0/8"), ip_network("192.168.1.0/24")}
    b = {ip_network("10.1.0.0/16"), ip_network("192.168.0.0/16"), ip_network("fd00::/8")}
    assert intersect_prefixes(a, b) == {ip_network("10.1.0.0/16"), ip_network("192.168.1.0/24")}


def test_a_negated_icmp_type_and_code_is_two_npol_rules() -> None:
    rule = Rule(RuleAction.ALLOW, protocol="icmp", not_icmp=IcmpMatch(8, 0))
    terms = terms_of(rule, {})
    assert len(terms) == 2
    assert [
        sorted((f.kind, f.value, f.match) for f in to_npol("r", t, str).filters) for t in terms
    ] == [
        [("icmp-type", 8, False), ("proto", 1, True)],
        [("icmp-code", 0, False), ("icmp-type", 8, True), ("proto", 1, True)],
    ]


def test_two_address_sets_become_one_derived_set() -> None:
    sets = {
        "s:a": IpSet("s:a", IpSetType.NET, frozenset({ip_network("10.0.0.0/24")})),
        "s:b": IpSet(
            "s:b", IpSetType.IP, frozenset({ip_address("10.0.0.5"), ip_address("10.0.1.5")})
        ),
    }
    (term,) = terms_of(
        Rule(RuleAction.ALLOW, src_ip_set_ids=("s:a", "s:b")), {k: s.type for k, s in sets.items()}
    )
    table = SetTable(sets, None)
    rule = to_npol("r", term, table.npol_set)
    (entry,) = rule.entries
    assert entry.kind == "ipset" and entry.ipset == "(s:a&s:b)"
    assert set(table.used["(s:a&s:b)"].members) == {ip_network("10.0.0.5/32")}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            Rule(RuleAction.ALLOW, src_ip_set_ids=("s:nope",)),
            "src_ip_set_ids: unknown IP set 's:nope'",
        ),
        (
            Rule(RuleAction.ALLOW, protocol="tcp", dst_ports=(PortRange(90, 80),)),
            "dst_ports: port range 90:80 is inverted",
        ),
        (Rule(RuleAction.ALLOW, protocol="gre"), "protocol: unknown protocol 'gre'"),
        (Rule(RuleAction.ALLOW, protocol=300), "protocol: protocol 300 is not 0-255"),
        (
            Rule(RuleAction.ALLOW, protocol="icmp", dst_ports=(PortRange(80, 80),)),
            "dst_ports: ports need protocol tcp, udp, sctp or udplite",
        ),
        (
            Rule(RuleAction.ALLOW, dst_named_port_ip_set_ids=("s:addr",)),
            "dst_named_port_ip_set_ids: IP set 's:addr' is net, not an IP-and-port set",
        ),
    ],
)
def test_bad_rules_are_refused_naming_the_field(rule: Rule, message: str) -> None:
    with pytest.raises(RuleError) as e:
        terms_of(rule, {"s:addr": IpSetType.NET})
    assert str(e.value) == message


def _packet(
    proto: int, dport: int = 0, icmp: tuple[int, int] = (0, 0), dst: str = "10.0.0.2"
) -> Packet:
    return Packet(ip_address("10.0.0.1"), ip_address(dst), proto, 40000, dport, *icmp)


def test_negated_icmp_type_and_code_matches_what_calico_matches() -> None:
    model = ClusterModel.build("n")
    rule = Rule(RuleAction.ALLOW, protocol="icmp", not_icmp=IcmpMatch(8, 0))
    terms = terms_of(rule, {})
    for icmp, want in (((8, 0), False), ((8, 1), True), ((0, 0), True)):
        p = _packet(1, icmp=icmp)
        assert matches(model, rule, p) is want
        assert any(term_matches(model, t, p) for t in terms) is want


def test_conj_of_port_conditions_keeps_both() -> None:
    http = IpSet(
        "n:http",
        IpSetType.IP_AND_PORT,
        frozenset({IpPortMember(ip_address("10.0.0.2"), L4Protocol.TCP, 8080)}),
    )
    model = ClusterModel.build("n", ip_sets=[http])
    t = types(model)
    (a,) = terms_of(Rule(RuleAction.PASS, protocol="tcp", dst_ports=(PortRange(80, 90),)), t)
    (b,) = terms_of(
        Rule(
            RuleAction.ALLOW,
            protocol="tcp",
            dst_ports=(PortRange(85, 100),),
            dst_named_port_ip_set_ids=("n:http",),
        ),
        t,
    )
    both = conj(a, b)
    assert both is not None
    for port, want in ((80, False), (85, True), (90, True), (95, False), (8080, False)):
        assert term_matches(model, both, _packet(6, port)) is want, port
    wide = conj(b, a)  # the named port survives an AND only where a's ranges allow it
    assert wide is not None and not term_matches(model, wide, _packet(6, 8080))
