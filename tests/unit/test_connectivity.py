"""plugins.connectivity: direct, VXLAN and IPIP towards other nodes, from every route source."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

import plugins
from agent.model import (
    CalicoRoute,
    ClusterModel,
    EncapMode,
    IpPool,
    LearnedRoute,
    Node,
    PodBlock,
    PodInterface,
    PodInterfaceKey,
    PoolEncap,
    RouteType,
    VxlanTunnelEndpoint,
)
from agent.vppobjects import InterfaceSettings, Ipip, Route, RoutePath, VppObject, Vxlan
from plugins import connectivity, encap
from plugins.encap import Encap

IF = ipaddress.ip_interface
NET = ipaddress.ip_network
IP = ipaddress.ip_address

A = Node("a", (IF("192.168.0.1/24"), IF("fd00::1/64")), (PodBlock(NET("10.244.1.0/26")),))
B = Node("b", (IF("192.168.0.2/24"), IF("fd00::2/64")), (PodBlock(NET("10.244.2.0/26")),))
C = Node("c", (IF("10.9.0.3/24"),), (PodBlock(NET("10.244.3.0/26")),))  # another subnet


def pool(ipip: EncapMode = EncapMode.NEVER, vxlan: EncapMode = EncapMode.NEVER) -> IpPool:
    return IpPool("default", NET("10.244.0.0/16"), 26, ipip_mode=ipip, vxlan_mode=vxlan)


def render(*nodes: Node, **kw: Any) -> dict[str, VppObject]:
    model = ClusterModel.build("a", nodes=nodes or (A, B, C), **kw)
    return {o.key: o for o in connectivity.render(model)}


def route_of(desired: dict[str, VppObject], prefix: str) -> Route:
    obj = desired[f"route 0 {prefix}"]
    assert isinstance(obj, Route)
    return obj


def test_without_encapsulation_blocks_go_via_the_node_address() -> None:
    desired = render(pools=[pool()])
    assert route_of(desired, "10.244.2.0/26").paths == (RoutePath(nh=IP("192.168.0.2")),)
    assert route_of(desired, "10.244.3.0/26").paths == (RoutePath(nh=IP("10.9.0.3")),)
    assert "route 0 10.244.1.0/26" not in desired, "our own block is the pods plugin's"
    assert not any(isinstance(o, Vxlan | Ipip) for o in desired.values())


def test_vxlan_always_builds_one_l3_tunnel_per_node_with_calicos_vni_and_mtu() -> None:
    desired = render(pools=[pool(vxlan=EncapMode.ALWAYS)])
    tunnel = desired["interface tunnel/vxlan/b"]
    assert tunnel == Vxlan(
        "tunnel/vxlan/b",
        IP("192.168.0.1"),
        IP("192.168.0.2"),
        4096,
        encap_vrf=0,
        is_l3=True,
        settings=InterfaceSettings(admin_up=True, mtu=1450),
    )
    assert route_of(desired, "10.244.2.0/26").paths == (RoutePath(interface="tunnel/vxlan/b"),)
    assert route_of(desired, "10.244.3.0/26").paths == (RoutePath(interface="tunnel/vxlan/c"),)


def test_ipip_cross_subnet_encapsulates_only_across_subnets() -> None:
    desired = render(pools=[pool(ipip=EncapMode.CROSS_SUBNET)])
    assert route_of(desired, "10.244.2.0/26").paths == (RoutePath(nh=IP("192.168.0.2")),)
    assert route_of(desired, "10.244.3.0/26").paths == (RoutePath(interface="tunnel/ipip/c"),)
    assert desired["interface tunnel/ipip/c"] == Ipip(
        "tunnel/ipip/c",
        IP("192.168.0.1"),
        IP("10.9.0.3"),
        settings=InterfaceSettings(admin_up=True, mtu=1480),
    )
    assert "interface tunnel/ipip/b" not in desired


def test_vxlan_wins_over_ipip_and_ipip_is_ipv4_only() -> None:
    both = pool(ipip=EncapMode.ALWAYS, vxlan=EncapMode.ALWAYS)
    assert encap.choose(4, both, same=True) is Encap.VXLAN
    v6 = IpPool("v6", NET("fd10::/48"), 122, ipip_mode=EncapMode.ALWAYS)
    assert encap.choose(6, v6, same=False) is Encap.DIRECT
    b6 = Node("b", B.addresses, (PodBlock(NET("fd10::200/122")),))
    desired = render(A, b6, pools=[v6])
    assert route_of(desired, "fd10::200/122").paths == (RoutePath(nh=IP("fd00::2")),)


def test_felix_config_sets_vni_and_mtus() -> None:
    config = {"VXLANVNI": "5000", "VXLANMTU": "8950", "IpInIpMtu": "bogus"}
    assert encap.vni(config) == 5000
    assert encap.tunnel_mtu(config, Encap.VXLAN, 4) == 8950
    assert encap.tunnel_mtu(config, Encap.IPIP, 4) == 1480, "an unusable value keeps the default"
    assert encap.tunnel_mtu({}, Encap.VXLAN, 6) == 1430
    desired = render(pools=[pool(vxlan=EncapMode.ALWAYS)], felix_config=config)
    tunnel = desired["interface tunnel/vxlan/b"]
    assert isinstance(tunnel, Vxlan) and tunnel.vni == 5000 and tunnel.settings.mtu == 8950


def test_felix_routes_come_first_and_use_the_vtep_parent_address() -> None:
    route = CalicoRoute(
        dst=NET("10.244.7.0/26"),
        types=RouteType.REMOTE_WORKLOAD,
        pool_encap=PoolEncap.VXLAN,
        node="b",
        node_address=IP("192.168.0.2"),
        same_subnet=True,
    )
    vtep = VxlanTunnelEndpoint("b", parent_address=IP("192.168.0.22"))
    desired = render(
        pools=[pool(vxlan=EncapMode.ALWAYS)], routes=[route], vxlan_tunnel_endpoints=[vtep]
    )
    assert route_of(desired, "10.244.7.0/26").paths == (RoutePath(interface="tunnel/vxlan/b"),)
    tunnel = desired["interface tunnel/vxlan/b"]
    assert isinstance(tunnel, Vxlan) and tunnel.dst == IP("192.168.0.22")


def test_felix_pool_type_decides_when_the_pool_is_unknown() -> None:
    route = CalicoRoute(
        dst=NET("10.99.0.0/26"),
        types=RouteType.REMOTE_WORKLOAD,
        pool_encap=PoolEncap.IPIP,
        node="c",
        node_address=IP("10.9.0.3"),
    )
    desired = render(routes=[route])
    assert route_of(desired, "10.99.0.0/26").paths == (RoutePath(interface="tunnel/ipip/c"),)


def test_learned_routes_to_nodes_are_encapsulated_to_routers_are_not() -> None:
    bare_b = Node("b", B.addresses)  # no blocks: only BGP says where 10.244.2.0/26 is
    learned = [
        LearnedRoute(NET("10.244.2.0/26"), IP("192.168.0.2")),
        LearnedRoute(NET("203.0.113.0/24"), IP("192.168.0.254")),  # a router of the fabric
        LearnedRoute(NET("10.244.1.0/26"), IP("192.168.0.1")),  # our own, reflected back
        LearnedRoute(NET("172.16.0.0/24"), IP("192.168.0.2"), network="blue"),  # not ours
    ]
    desired = render(A, bare_b, pools=[pool(ipip=EncapMode.ALWAYS)], learned_routes=learned)
    assert route_of(desired, "10.244.2.0/26").paths == (RoutePath(interface="tunnel/ipip/b"),)
    assert route_of(desired, "203.0.113.0/24").paths == (RoutePath(nh=IP("192.168.0.254")),)
    assert "route 0 10.244.1.0/26" not in desired
    assert "route 0 172.16.0.0/24" not in desired


def test_a_learned_route_never_clashes_with_a_local_pod() -> None:
    pod = PodInterface(
        PodInterfaceKey("default", "web", "eth0"), "c1", "/var/run/netns/web", "caliweb",
        (IF("10.50.0.9/32"),),
    )  # fmt: skip
    learned = [LearnedRoute(NET("10.50.0.9/32"), IP("192.168.0.2"))]
    model = ClusterModel.build("a", nodes=(A, B), pod_interfaces=[pod], learned_routes=learned)
    desired = plugins.render(model)  # would raise RenderError on two routes for one key
    assert route_of(desired, "10.50.0.9/32").paths == (RoutePath(interface="pod/default/web/eth0"),)


def test_return_tunnels_exist_even_when_we_send_nothing() -> None:
    bare_b = Node("b", B.addresses)  # b has no pods, but sends to ours encapsulated
    desired = render(A, bare_b, pools=[pool(vxlan=EncapMode.ALWAYS)])
    assert "interface tunnel/vxlan/b" in desired
    assert not any(isinstance(o, Route) for o in desired.values())


def test_a_node_that_leaves_takes_its_routes_and_tunnels() -> None:
    with_c = render(pools=[pool(ipip=EncapMode.ALWAYS)])
    without_c = render(A, B, pools=[pool(ipip=EncapMode.ALWAYS)])
    gone = set(with_c) - set(without_c)
    assert gone == {"route 0 10.244.3.0/26", "interface tunnel/ipip/c"}


@pytest.mark.parametrize(
    ("local", "remote", "same"),
    [
        ("192.168.0.1/24", "192.168.0.9", True),
        ("192.168.0.1/24", "192.168.1.9", False),
        ("192.168.0.1/32", "192.168.0.9", False),
        ("fd00::1/64", "192.168.0.9", False),
    ],
)
def test_same_subnet(local: str, remote: str, same: bool) -> None:
    assert encap.same_subnet(IF(local), IP(remote)) is same
