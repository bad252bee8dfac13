"""Truth tables, cyclonus style: every pod to every pod on tcp/80, tcp/81 and udp/53.

Each case is a cluster as Felix describes it (Kubernetes NetworkPolicies rendered
by Calico, or Calico's own tiers and policies) and the expected reachability,
written out by hand. Both Calico's verdict (the oracle) and the verdict of the
npol objects vppnet renders (evaluated as VPP's npol evaluates them) must give
exactly that table.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import ip_network

import pytest

from agent.model import (
    PodInterfaceKey,
    Policy,
    PolicyId,
    PortRange,
    Rule,
    RuleAction,
)
from tests.policy_cases import (
    Applied,
    Cluster,
    differences,
    everyone,
    expect,
    in_ns,
    is_pod,
    k8s_policy,
    named_port_set,
    oracle,
    programmed,
    selector_set,
    table,
)

ALLOW, DENY, PASS = RuleAction.ALLOW, RuleAction.DENY, RuleAction.PASS
K = PodInterfaceKey
Expected = Callable[[K, K, str, int], bool]


def no_policies() -> tuple[Cluster, Expected]:
    return Cluster(), lambda s, d, proto, port: True


def deny_all_ingress_in_x() -> tuple[Cluster, Expected]:
    deny = Applied(k8s_policy("deny-all", "x"), ingress=in_ns("x"))
    return Cluster([("default", DENY, [deny])]), lambda s, d, proto, port: d.namespace != "x"


def allow_same_namespace_to_one_pod_on_80() -> tuple[Cluster, Expected]:
    rule = Rule(ALLOW, protocol="tcp", dst_ports=(PortRange(80, 80),), src_ip_set_ids=("s:ns-x",))
    web = Applied(k8s_policy("web", "x", ingress=[rule]), ingress=is_pod("x", "a"))

    def want(s: K, d: K, proto: str, port: int) -> bool:
        if (d.namespace, d.pod) != ("x", "a"):
            return True
        return s.namespace == "x" and (proto, port) == ("tcp", 80)

    return Cluster([("default", DENY, [web])], [selector_set("s:ns-x", in_ns("x"))]), want


def egress_only_dns_to_z() -> tuple[Cluster, Expected]:
    rule = Rule(ALLOW, protocol="udp", dst_ports=(PortRange(53, 53),), dst_ip_set_ids=("s:ns-z",))
    dns = Applied(k8s_policy("dns", "y", egress=[rule]), egress=in_ns("y"))

    def want(s: K, d: K, proto: str, port: int) -> bool:
        return s.namespace != "y" or (d.namespace == "z" and proto == "udp")

    return Cluster([("default", DENY, [dns])], [selector_set("s:ns-z", in_ns("z"))]), want


def named_port_http() -> tuple[Cluster, Expected]:
    http = named_port_set("n:http", [(K("x", "a", "eth0"), 80), (K("x", "b", "eth0"), 80)])
    rule = Rule(ALLOW, protocol="tcp", dst_named_port_ip_set_ids=("n:http",))
    np = Applied(k8s_policy("http", "x", ingress=[rule]), ingress=in_ns("x"))

    def want(s: K, d: K, proto: str, port: int) -> bool:
        return d.namespace != "x" or (d.pod in ("a", "b") and (proto, port) == ("tcp", 80))

    return Cluster([("default", DENY, [np])], [http]), want


def namespace_and_pod_selectors() -> tuple[Cluster, Expected]:
    """Two source sets in one rule: Calico AND-s them (vppnet: one derived set)."""
    rule = Rule(ALLOW, src_ip_set_ids=("s:ns-xy", "s:pod-a"))
    p = Applied(k8s_policy("from-a", "z", ingress=[rule]), ingress=in_ns("z"))
    sets = [
        selector_set("s:ns-xy", in_ns("x", "y")),
        selector_set("s:pod-a", lambda k: k.pod == "a"),
    ]

    def want(s: K, d: K, proto: str, port: int) -> bool:
        return d.namespace != "z" or (s.pod == "a" and s.namespace in ("x", "y"))

    return Cluster([("default", DENY, [p])], sets), want


def tiers_with_pass() -> tuple[Cluster, Expected]:
    """A security tier denies z and passes the rest to the default tier (or profiles)."""
    guard = Policy(
        PolicyId("security", "security.guard"),
        ingress_rules=(Rule(DENY, src_ip_set_ids=("s:ns-z",)), Rule(PASS)),
    )
    web = k8s_policy(
        "web", "x", ingress=[Rule(ALLOW, protocol="tcp", dst_ports=(PortRange(80, 80),))]
    )
    cluster = Cluster(
        [
            ("security", DENY, [Applied(guard, ingress=everyone)]),
            ("default", DENY, [Applied(web, ingress=in_ns("x"))]),
        ],
        [selector_set("s:ns-z", in_ns("z"))],
    )

    def want(s: K, d: K, proto: str, port: int) -> bool:
        if s.namespace == "z":
            return False
        return d.namespace != "x" or (proto, port) == ("tcp", 80)

    return cluster, want


def global_not_selectors_and_tier_pass_default() -> tuple[Cluster, Expected]:
    """A platform tier that passes by default: a not-selector and a not-net."""
    udp = Policy(
        PolicyId("platform", "platform.udp-from-x-only"),
        ingress_rules=(Rule(DENY, protocol="udp", not_src_ip_set_ids=("s:ns-x",)),),
    )
    ns_z = PolicyId("platform", "platform.y-tcp-to-z")
    z_only = Policy(
        ns_z, egress_rules=(Rule(DENY, protocol="tcp", not_dst_nets=(ip_network("10.1.2.0/24"),)),)
    )
    cluster = Cluster(
        [("platform", PASS, [Applied(udp, ingress=everyone), Applied(z_only, egress=in_ns("y"))])],
        [selector_set("s:ns-x", in_ns("x"))],
    )

    def want(s: K, d: K, proto: str, port: int) -> bool:
        if proto == "udp":
            return s.namespace == "x"
        return s.namespace != "y" or d.namespace == "z"

    return cluster, want


def order_deny_before_allow() -> tuple[Cluster, Expected]:
    """Policies of one tier in Felix's order: an earlier deny wins over a later allow."""
    deny81 = Policy(
        PolicyId("default", "default.no-81"),
        ingress_rules=(Rule(DENY, protocol="tcp", dst_ports=(PortRange(81, 81),)),),
    )
    allow = Policy(
        PolicyId("default", "default.allow-tcp"), ingress_rules=(Rule(ALLOW, protocol="tcp"),)
    )
    cluster = Cluster(
        [
            (
                "default",
                DENY,
                [Applied(deny81, ingress=in_ns("y")), Applied(allow, ingress=in_ns("y"))],
            )
        ]
    )

    def want(s: K, d: K, proto: str, port: int) -> bool:
        return d.namespace != "y" or (proto, port) == ("tcp", 80)

    return cluster, want


CASES = [
    no_policies,
    deny_all_ingress_in_x,
    allow_same_namespace_to_one_pod_on_80,
    egress_only_dns_to_z,
    named_port_http,
    namespace_and_pod_selectors,
    tiers_with_pass,
    global_not_selectors_and_tier_pass_default,
    order_deny_before_allow,
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_truth_table(case: Callable[[], tuple[Cluster, Expected]]) -> None:
    cluster, allowed = case()
    model = cluster.model()
    want = expect(allowed)
    assert differences(table(oracle(model)), want) == [], "Calico's verdicts"
    assert differences(table(programmed(model)), want) == [], "the npol objects' verdicts"
