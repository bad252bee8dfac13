"""Felix messages -> model entities: what is accepted, how it is spelled, what is refused."""

from __future__ import annotations

from ipaddress import ip_address, ip_interface, ip_network

import pytest

from agent.felix import convert, convert_policy
from agent.felix.convert_policy import ConversionError
from agent.model import (
    EncapMode,
    FloatingIp,
    IcmpMatch,
    IpPortMember,
    IpSetType,
    IpVersion,
    L4Protocol,
    PodInterfaceKey,
    PolicyId,
    PoolEncap,
    PortRange,
    RouteType,
    RuleAction,
)
from agent.proto_gen import felixbackend_pb2 as pb

WID = pb.WorkloadEndpointID(orchestrator_id="k8s", workload_id="ns/web-0", endpoint_id="eth0")


def test_a_full_rule_converts_field_by_field() -> None:
    message = pb.Rule(
        action="Allow",
        ip_version=pb.IPV6,
        protocol=pb.Protocol(name="TCP"),
        not_protocol=pb.Protocol(number=17),
        src_net=["fd00::/64"],
        not_dst_net=["fd00::5"],
        src_ports=[pb.PortRange(first=1000, last=2000)],
        dst_ports=[pb.PortRange(first=443, last=443)],
        icmp_type_code=pb.IcmpTypeAndCode(type=128, code=0),
        not_icmp_type=3,
        src_ip_set_ids=["s:a"],
        dst_named_port_ip_set_ids=["n:b"],
        dst_ip_port_set_ids=["svc:c"],
        metadata=pb.RuleMetadata(annotations={"extensions.projectcalico.org/network": "blue"}),
    )
    rule = convert_policy.rule(message, "test")
    assert rule.action is RuleAction.ALLOW and rule.ip_version is IpVersion.V6
    assert rule.protocol == "tcp" and rule.not_protocol == 17
    assert rule.src_nets == (ip_network("fd00::/64"),)
    assert rule.not_dst_nets == (ip_network("fd00::5/128"),)
    assert rule.src_ports == (PortRange(1000, 2000),) and rule.dst_ports == (PortRange(443, 443),)
    assert rule.icmp == IcmpMatch(128, 0) and rule.not_icmp == IcmpMatch(3)
    assert rule.ip_set_ids == {"s:a", "n:b", "svc:c"}
    assert rule.network == "blue"


def test_an_empty_rule_matches_everything() -> None:
    rule = convert_policy.rule(pb.Rule(action="deny"), "test")
    assert rule.protocol is None and rule.icmp is None and rule.ip_version is None
    assert rule.network == ""


def test_icmp_type_zero_is_a_match_not_an_absence() -> None:
    assert convert_policy.rule(pb.Rule(action="allow", icmp_type=0), "t").icmp == IcmpMatch(0)


@pytest.mark.parametrize(
    ("word", "action"), [("next-tier", "pass"), ("PASS", "pass"), ("log", "log")]
)
def test_action_spellings(word: str, action: str) -> None:
    assert convert_policy.action(word, "x") == RuleAction(action)


@pytest.mark.parametrize(
    ("rule", "complaint"),
    [
        (pb.Rule(action="jump"), "unknown action 'jump'"),
        (pb.Rule(action="allow", src_net=["10.0.0.0/33"]), "src_net: invalid CIDR '10.0.0.0/33'"),
        (
            pb.Rule(action="allow", dst_ports=[pb.PortRange(first=9, last=1)]),
            "invalid port range 9:1",
        ),
        (pb.Rule(action="allow", protocol=pb.Protocol(name="quic")), "unknown protocol 'quic'"),
        (pb.Rule(action="allow", protocol=pb.Protocol(number=300)), "300 is not 0-255"),
        (pb.Rule(action="allow", ip_version=5), "ip_version 5"),  # type: ignore[arg-type]
    ],
)
def test_bad_rules_are_refused_with_the_field_named(rule: pb.Rule, complaint: str) -> None:
    with pytest.raises(ConversionError, match="where") as info:
        convert_policy.rule(rule, "where")
    assert complaint in str(info.value)


def test_policies_are_keyed_by_the_whole_policy_id() -> None:
    old = pb.PolicyID(tier="default", name="allow")  # Felix < 3.32
    new = pb.PolicyID(name="allow", namespace="ns", kind="NetworkPolicy")
    assert convert_policy.policy_id(old) == PolicyId("default", "allow")
    assert convert_policy.policy_id(new) == PolicyId("", "allow", "ns", "NetworkPolicy")
    body = pb.Policy(inbound_rules=[pb.Rule(action="allow")], untracked=True, pre_dnat=True)
    policy = convert_policy.policy(pb.ActivePolicyUpdate(id=new, policy=body))
    assert policy.id == PolicyId("", "allow", "ns", "NetworkPolicy")
    assert len(policy.ingress_rules) == 1 and policy.egress_rules == ()
    assert policy.untracked and policy.pre_dnat


def test_a_bad_rule_names_its_policy_direction_and_position() -> None:
    body = pb.Policy(outbound_rules=[pb.Rule(action="allow"), pb.Rule(action="nope")])
    update = pb.ActivePolicyUpdate(id=pb.PolicyID(name="p", namespace="ns"), policy=body)
    with pytest.raises(ConversionError, match=r"policy /ns/p outbound rule 1 action"):
        convert_policy.policy(update)


def test_tier_default_action_is_deny_unless_said_otherwise() -> None:
    tiers = convert_policy.tiers(
        [pb.TierInfo(name="a"), pb.TierInfo(name="b", default_action="Pass")], "ep"
    )
    assert [t.default_action for t in tiers] == [RuleAction.DENY, RuleAction.PASS]


def test_only_kubernetes_endpoints_join_pod_interfaces() -> None:
    assert convert.pod_key(WID) == PodInterfaceKey("ns", "web-0", "eth0")
    assert convert.pod_key(pb.WorkloadEndpointID(orchestrator_id="cni", workload_id="ns/x")) is None
    assert convert.pod_key(pb.WorkloadEndpointID(orchestrator_id="k8s", workload_id="x")) is None


def test_a_workload_endpoint_converts() -> None:
    body = pb.WorkloadEndpoint(
        name="vpp-tun-3",
        mac="02:00:00:00:00:00",
        profile_ids=["kns.ns"],
        ipv4_nets=["10.0.0.5/32"],
        ipv6_nets=["fd00::5/128"],
        tiers=[pb.TierInfo(name="default", ingress_policies=[pb.PolicyID(name="p")])],
        ipv4_nat=[pb.NatInfo(ext_ip="172.16.0.5", int_ip="10.0.0.5")],
        allow_spoofed_source_prefixes=["192.168.7.0/24"],
    )
    key = PodInterfaceKey("ns", "web-0", "eth0")
    wep = convert.workload_endpoint(key, pb.WorkloadEndpointUpdate(id=WID, endpoint=body))
    assert wep.key == key and wep.host_interface_name == "vpp-tun-3"
    assert wep.addresses == (ip_interface("10.0.0.5/32"), ip_interface("fd00::5/128"))
    assert wep.floating_ips == (FloatingIp(ip_address("172.16.0.5"), ip_address("10.0.0.5")),)
    assert wep.allowed_source_prefixes == (ip_network("192.168.7.0/24"),)
    assert wep.policy.profile_ids == ("kns.ns",)
    assert wep.policy.tiers[0].ingress_policies == (PolicyId("", "p"),)


def test_a_host_endpoint_keeps_its_four_tier_lists() -> None:
    body = pb.HostEndpoint(
        name="*",
        expected_ipv4_addrs=["192.168.0.1"],
        tiers=[pb.TierInfo(name="a")],
        untracked_tiers=[pb.TierInfo(name="u")],
        pre_dnat_tiers=[pb.TierInfo(name="p")],
        forward_tiers=[pb.TierInfo(name="f")],
    )
    hep = convert.host_endpoint(
        pb.HostEndpointUpdate(id=pb.HostEndpointID(endpoint_id="h1"), endpoint=body)
    )
    assert hep.interface_name == "" and hep.expected_addresses == (ip_address("192.168.0.1"),)
    names = [
        p.tiers[0].name
        for p in (hep.policy, hep.untracked_policy, hep.pre_dnat_policy, hep.forward_policy)
    ]
    assert names == ["a", "u", "p", "f"]


def test_ip_set_members_in_each_of_felix_s_spellings() -> None:
    assert convert.ip_set_member(IpSetType.NET, "10.0.0.1/32") == ip_network("10.0.0.1/32")
    assert convert.ip_set_member(IpSetType.IP, "10.0.0.1") == ip_address("10.0.0.1")
    assert convert.ip_set_member(IpSetType.IP_AND_PORT, "fd00::1,sctp:9") == IpPortMember(
        ip_address("fd00::1"), L4Protocol.SCTP, 9
    )


def test_a_bad_ip_set_member_is_left_out_and_named() -> None:
    problems: list[str] = []
    members = convert.ip_set_members(
        "s:x", IpSetType.IP_AND_PORT, ["10.0.0.1,tcp:80", "10.0.0.2,icmp:1", "x"], problems
    )
    assert members == {IpPortMember(ip_address("10.0.0.1"), L4Protocol.TCP, 80)}
    assert len(problems) == 2 and all(p.startswith("IP set s:x: member") for p in problems)


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("", EncapMode.NEVER),
        ("Never", EncapMode.NEVER),
        ("always", EncapMode.ALWAYS),
        ("CrossSubnet", EncapMode.CROSS_SUBNET),
        ("cross-subnet", EncapMode.CROSS_SUBNET),
    ],
)
def test_pool_modes_in_api_and_datamodel_spelling(text: str, mode: EncapMode) -> None:
    update = pb.IPAMPoolUpdate(
        id="10.0.0.0-16", pool=pb.IPAMPool(cidr="10.0.0.0/16", ipip_mode=text, masquerade=True)
    )
    pool = convert.pool(update)
    assert pool.ipip_mode is mode and pool.nat_outgoing and pool.block_size == 26


def test_a_pool_with_an_unknown_mode_is_refused() -> None:
    update = pb.IPAMPoolUpdate(id="p", pool=pb.IPAMPool(cidr="fd00::/48", vxlan_mode="Sometimes"))
    with pytest.raises(ConversionError, match="IP pool p vxlan_mode: unknown"):
        convert.pool(update)


def test_route_types_are_a_bit_mask() -> None:
    update = pb.RouteUpdate(
        types=pb.REMOTE_WORKLOAD | pb.REMOTE_TUNNEL,  # type: ignore[arg-type]
        ip_pool_type=pb.VXLAN,
        dst="10.1.2.0/26",
        dst_node_name="b",
        dst_node_ip="192.168.0.2",
        tunnel_type=pb.TunnelType(vxlan=True),
    )
    route = convert.route(update)
    assert route.types == RouteType.REMOTE_WORKLOAD | RouteType.REMOTE_TUNNEL
    assert route.pool_encap is PoolEncap.VXLAN and route.vxlan_tunnel
    assert route.is_workload_block and route.node_address == ip_address("192.168.0.2")
    borrowed = convert.route(
        pb.RouteUpdate(
            types=pb.REMOTE_WORKLOAD, dst="10.1.9.9/32", dst_node_name="b", borrowed=True
        )
    )
    assert not borrowed.is_workload_block
    assert not convert.route(pb.RouteUpdate(dst="10.1.0.0/16")).is_workload_block


def test_host_addresses_with_and_without_prefix() -> None:
    assert convert.host_address("192.168.0.2/24", 4, "h") == ip_interface("192.168.0.2/24")
    assert convert.host_address("192.168.0.2", 4, "h") == ip_interface("192.168.0.2/32")
    assert convert.host_address("", 6, "h") is None
    with pytest.raises(ConversionError, match="not an IPv6 address"):
        convert.host_address("192.168.0.2", 6, "h")


@pytest.mark.parametrize(("text", "value"), [("", None), ("64512", 64512), ("1.10", 65546)])
def test_as_numbers_plain_and_asdot(text: str, value: int | None) -> None:
    assert convert.asn(text, "h") == value


def test_a_bad_as_number_is_refused() -> None:
    with pytest.raises(ConversionError, match="invalid AS number"):
        convert.asn("65536.1", "h")


def test_a_vtep_converts() -> None:
    vtep = convert.vtep(
        pb.VXLANTunnelEndpointUpdate(
            node="b", mac="66:00:00:00:00:01", ipv4_addr="10.1.2.0", parent_device_ip="192.168.0.2"
        )
    )
    assert vtep.address == ip_address("10.1.2.0") and vtep.address_v6 is None
    assert vtep.parent_address == ip_address("192.168.0.2")
