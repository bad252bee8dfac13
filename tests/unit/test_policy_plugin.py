"""The policy plugin's objects: shapes, sharing, tiers on npol, problems, and the index records."""

from __future__ import annotations

import dataclasses
from ipaddress import ip_address, ip_interface, ip_network

import plugins
from agent.dataplane import ConvergeResult
from agent.felix.status import EndpointStatusTracker
from agent.model import (
    ClusterModel,
    HostEndpoint,
    PodInterface,
    PodInterfaceKey,
    Policy,
    PolicyAssignment,
    PolicyId,
    PortRange,
    Rule,
    RuleAction,
    TierAssignment,
)
from agent.reconcile.apply import ApplyReport
from agent.reconcile.npol import ipport_deleted
from agent.reconcile.npol_records import decode, encode
from agent.reconcile.plan import Plan
from agent.vppobjects import NpolInterface, NpolIpset, NpolPolicy, NpolRule, VppObject
from plugins import policy
from tests.policy_cases import KEYS, Applied, Cluster, everyone, in_ns, k8s_policy, selector_set

ALLOW, DENY, PASS = RuleAction.ALLOW, RuleAction.DENY, RuleAction.PASS
WEB = Rule(ALLOW, protocol="tcp", dst_ports=(PortRange(80, 80),), src_ip_set_ids=("s:ns-x",))


def objects(model: ClusterModel) -> dict[str, VppObject]:
    return {o.key: o for o in policy.render(model)}


def binding(model: ClusterModel, key: PodInterfaceKey) -> NpolInterface:
    obj = objects(model)[f"npol-interface pod/{key}"]
    assert isinstance(obj, NpolInterface)
    return obj


def web_cluster() -> Cluster:
    return Cluster(
        [("default", DENY, [Applied(k8s_policy("web", "x", ingress=[WEB]), ingress=in_ns("x"))])],
        [selector_set("s:ns-x", in_ns("x"))],
    )


def test_every_pod_interface_is_bound_with_anti_spoofing_first() -> None:
    model = web_cluster().model()
    x_a, y_a = binding(model, KEYS[0]), binding(model, KEYS[3])
    name = "default/x/knp.default.web (KubernetesNetworkPolicy)"
    assert (x_a.inbound, x_a.inbound_default) == ((name,), "deny")
    assert (y_a.inbound, y_a.inbound_default) == ((), "pass")  # no policy: its profiles decide
    assert x_a.outbound == ("antispoof pod/x/a/eth0",) and x_a.outbound_default == "pass"
    assert (
        x_a.profiles == ("profile kns.x", "profile ksa.x.default") and x_a.profile_default == "deny"
    )
    guard = objects(model)["npol-rule antispoof pod/x/a/eth0 out 0"]
    assert isinstance(guard, NpolRule) and guard.action == "deny"
    assert [(e.kind, e.negated, e.cidr) for e in guard.entries] == [
        ("cidr", True, ip_network("10.1.0.1/32"))
    ]


def test_policies_rules_and_sets_are_shared_by_the_endpoints_using_them() -> None:
    found = objects(web_cluster().model())
    policies = [
        o
        for o in found.values()
        if isinstance(o, NpolPolicy) and not o.name.startswith("antispoof")
    ]
    assert len(policies) == 1 + 6  # the web policy, and kns/ksa of three namespaces
    assert found["npol-ipset net:s:ns-x"] == NpolIpset(
        "net:s:ns-x",
        "net",
        frozenset(ip_network(f"10.1.0.{i}/32") for i in (1, 2, 3)),  # type: ignore[arg-type]
    )
    assert "npol-ipset vppnet-epoch" in found


def test_an_unchanged_model_renders_the_very_same_objects() -> None:
    model = web_cluster().model()
    first = objects(model)
    ns_x = model.ip_sets["s:ns-x"]
    moved = dataclasses.replace(
        model,
        ip_sets={
            "s:ns-x": dataclasses.replace(ns_x, members=ns_x.members | {ip_network("10.1.9.9/32")})
        },
    )
    second = objects(moved)
    changed = {k for k in first if first[k] is not second.get(k)}
    assert changed == {"npol-ipset net:s:ns-x"}


def test_a_pod_unknown_to_felix_is_denied_everything() -> None:
    pod = PodInterface(KEYS[0], "c", "/var/run/netns/c", "calic", (ip_interface("10.1.0.1/32"),))
    b = binding(ClusterModel.build("n", pod_interfaces=[pod]), KEYS[0])
    assert (b.inbound, b.inbound_default, b.profiles, b.profile_default) == ((), "pass", (), "deny")


def test_a_tier_that_passes_by_default_is_followed_by_the_next() -> None:
    p1 = Policy(PolicyId("t1", "t1.a"), ingress_rules=(Rule(DENY, protocol="udp"),))
    p2 = Policy(PolicyId("t2", "t2.b"), ingress_rules=(Rule(ALLOW, protocol="tcp"),))
    model = Cluster(
        [
            ("t1", PASS, [Applied(p1, ingress=everyone)]),
            ("t2", DENY, [Applied(p2, ingress=everyone)]),
        ]
    ).model()
    b = binding(model, KEYS[0])
    assert (b.inbound, b.inbound_default) == (("t1/t1.a", "t2/t2.b"), "deny")


def test_a_pass_before_the_last_tier_is_inlined_in_a_variant() -> None:
    guard = Policy(PolicyId("sec", "sec.guard"), ingress_rules=(Rule(PASS, protocol="tcp"),))
    web = k8s_policy(
        "web", "x", ingress=[Rule(ALLOW, dst_ports=(PortRange(80, 80),), protocol="tcp")]
    )
    model = Cluster(
        [
            ("sec", DENY, [Applied(guard, ingress=everyone)]),
            ("default", DENY, [Applied(web, ingress=in_ns("x"))]),
        ]
    ).model()
    x_a, y_a = binding(model, KEYS[0]), binding(model, KEYS[3])
    (variant,) = x_a.inbound
    assert variant.startswith("sec/sec.guard ~")  # what follows its pass differs: a variant
    assert y_a.inbound == ("sec/sec.guard",)  # last tier: npol's own pass to the profiles
    found = objects(model)
    inlined = [found[f"npol-rule {variant} in 0.{k}"] for k in range(2)]
    assert [r.action for r in inlined if isinstance(r, NpolRule)] == ["allow", "deny"]


def test_multinet_rules_apply_to_their_networks_interfaces() -> None:
    p = Policy(
        PolicyId("default", "default.split"),
        ingress_rules=(Rule(ALLOW, protocol="tcp"), Rule(ALLOW, protocol="udp", network="blue")),
    )
    model = Cluster([("default", DENY, [Applied(p, ingress=everyone)])]).model()
    blue_key = PodInterfaceKey("x", "a", "net1")
    blue = PodInterface(
        blue_key, "a", "/var/run/netns/a", "calib", (ip_interface("10.7.0.1/32"),), network="blue"
    )
    model = dataclasses.replace(model, pod_interfaces={**model.pod_interfaces, blue_key: blue})
    model = dataclasses.replace(
        model,
        workload_endpoints={
            **model.workload_endpoints,
            blue_key: dataclasses.replace(model.workload_endpoints[KEYS[0]], key=blue_key),
        },
    )
    found = objects(model)
    assert binding(model, blue_key).inbound == ("default/default.split @blue",)
    default_rules = found["npol-policy default/default.split"]
    blue_rules = found["npol-policy default/default.split @blue"]
    assert isinstance(default_rules, NpolPolicy) and isinstance(blue_rules, NpolPolicy)
    assert default_rules.inbound == ("default/default.split in 0",)
    assert blue_rules.inbound == ("default/default.split @blue in 1",)  # Calico's index kept


def test_bad_rules_fail_closed_and_are_reported_per_policy() -> None:
    bad = Rule(ALLOW, src_ip_set_ids=("s:missing",))
    p = Policy(
        PolicyId("default", "default.bad"),
        ingress_rules=(Rule(ALLOW, protocol="tcp"), bad, Rule(RuleAction.LOG)),
    )
    model = Cluster([("default", DENY, [Applied(p, ingress=in_ns("x"))])]).model()
    problems = {str(pr): pr.severity for pr in policy.problems(model)}
    unknown = "src_ip_set_ids: unknown IP set 's:missing'; denying instead"
    assert problems == {
        f"policy default/default.bad inbound rule 1: {unknown}": "error",
        "policy default/default.bad inbound rule 2: log is not supported": "warning",
    }
    denied = objects(model)["npol-rule default/default.bad in 1"]
    assert isinstance(denied, NpolRule) and (denied.action, denied.entries, denied.filters) == (
        "deny",
        (),
        (),
    )
    assert [str(pr) for pr in policy.endpoint_problems(model, KEYS[0])] == [
        f"policy default/default.bad inbound rule 1: {unknown}"
    ]
    assert policy.endpoint_problems(model, KEYS[3]) == ()  # y/a does not use it


def test_a_bad_policy_puts_its_endpoints_in_error_for_felix() -> None:
    bad = Policy(
        PolicyId("default", "default.bad"),
        ingress_rules=(Rule(ALLOW, protocol="tcp", dst_ports=(PortRange(9, 1),)),),
    )
    model = Cluster([("default", DENY, [Applied(bad, ingress=in_ns("x"))])]).model()
    tracker = EndpointStatusTracker()
    tracker.mark([KEYS[0], KEYS[3]])
    result = ConvergeResult(Plan(), ApplyReport())
    changes = {c.key: c for c in tracker.evaluate(model, plugins.render(model), result)}
    assert changes[KEYS[0]].status == "error"
    assert "dst_ports: port range 9:1 is inverted" in changes[KEYS[0]].reason
    assert changes[KEYS[3]].status == "up"


def test_host_endpoint_policy_is_reported_not_dropped() -> None:
    hep = HostEndpoint(
        "node-a-eth0",
        "eth0",
        policy=PolicyAssignment((TierAssignment("default", (PolicyId("default", "x"),)),)),
    )
    model = ClusterModel.build("node-a", host_endpoints=[hep])
    (problem,) = policy.problems(model)
    assert (
        str(problem)
        == "host endpoint node-a-eth0 policy: host endpoint policy is not enforced by vppnet"
    )


def test_index_records_give_back_the_objects() -> None:
    model = web_cluster().model()
    found = list(policy.render(model))
    assert all(decode(o.key, encode(o)) == o for o in found)


def test_vpps_ip_and_port_delete_takes_more_than_asked() -> None:
    a, b = ip_address("10.0.0.1"), ip_address("10.0.0.2")
    held = [(a, 6, 80), (b, 6, 80), (a, 6, 8080), (b, 17, 80)]
    assert ipport_deleted(held, [(a, 6, 80)]) == {(a, 6, 80), (a, 6, 8080), (b, 17, 80)}
