"""The networks plugin: a VRF per network, VXLAN per (network, remote node), nothing leaks."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from datetime import UTC, datetime

import plugins
from agent.model import (
    ClusterModel,
    Network,
    Node,
    PodBlock,
    PodInterface,
    PodInterfaceKey,
    prefix_contains,
)
from agent.vppobjects import InterfaceSettings, Route, RoutePath, VrfTable, Vxlan
from plugins import networks

IF = ipaddress.ip_interface
NET = ipaddress.ip_network
IP = ipaddress.ip_address

BLUE = Network("blue", 56, (NET("172.19.0.0/16"), NET("fd19::/64")))
RED = Network("red", 88, (NET("172.21.0.0/16"),), table_id=1088)


def node(name: str, v4: str | None, v6: str | None = None, *blocks: tuple[str, str]) -> Node:
    addresses = tuple(IF(a) for a in (v4, v6) if a is not None)
    return Node(name, addresses, tuple(PodBlock(NET(c), n) for c, n in blocks))


def pod(name: str, address: str, network: str, interface: str = "net1") -> PodInterface:
    return PodInterface(
        key=PodInterfaceKey("default", name, interface),
        container_id=f"c-{name}",
        netns=f"/var/run/netns/{name}",
        host_interface_name=f"vpp{name}",
        addresses=(IF(address),),
        network=network,
    )


def model(*nodes: Node, nets: tuple[Network, ...] = (BLUE, RED), **kw: object) -> ClusterModel:
    return ClusterModel.build("a", nodes=nodes, networks=nets, **kw)  # type: ignore[arg-type]


A = node("a", "192.168.0.1/24", "fd00::1/64", ("172.19.1.0/26", "blue"))
B = node(
    "b",
    "192.168.0.2/24",
    "fd00::2/64",
    ("172.19.2.0/26", "blue"),
    ("fd19::200/122", "blue"),
    ("172.21.2.0/26", "red"),
    ("10.244.2.0/26", ""),
)
C = node("c", None, "fd00::3/64", ("172.19.3.0/26", "blue"))


def test_each_network_gets_a_vrf_pair_even_without_remote_nodes() -> None:
    desired = plugins.render(model(A))
    assert VrfTable(56, False).key in desired and VrfTable(56, True).key in desired
    assert VrfTable(1088, False).key in desired and VrfTable(1088, True).key in desired
    assert not [o for o in desired.values() if isinstance(o, Vxlan)]


def test_tunnel_per_network_and_remote_node_with_routes_through_it() -> None:
    desired = plugins.render(model(A, B, C))
    tunnels = {o.name: o for o in desired.values() if isinstance(o, Vxlan)}
    assert tunnels["vxlan/blue/b"] == Vxlan(
        "vxlan/blue/b",
        IP("192.168.0.1"),
        IP("192.168.0.2"),
        vni=56,
        encap_vrf=0,
        is_l3=True,
        # IP enabled by borrowing the address of the VRF's loopback (plugins.ipenable)
        settings=InterfaceSettings(
            admin_up=True, vrf4=56, vrf6=56, unnumbered_from="loopback/vrf-56"
        ),
    )
    assert tunnels["vxlan/red/b"].vni == 88 and tunnels["vxlan/red/b"].settings.vrf4 == 1088
    # node c has only IPv6: the tunnel to it is IPv6, and carries its IPv4 block too
    assert (tunnels["vxlan/blue/c"].src, tunnels["vxlan/blue/c"].dst) == (
        IP("fd00::1"),
        IP("fd00::3"),
    )
    assert "vxlan/red/c" not in tunnels  # c has no red prefixes
    routes = {(o.table_id, o.prefix): o for o in desired.values() if isinstance(o, Route)}
    assert routes[(56, NET("172.19.2.0/26"))].paths == (RoutePath(interface="vxlan/blue/b"),)
    assert routes[(56, NET("fd19::200/122"))].paths == (RoutePath(interface="vxlan/blue/b"),)
    assert routes[(56, NET("172.19.3.0/26"))].paths == (RoutePath(interface="vxlan/blue/c"),)
    assert routes[(1088, NET("172.21.2.0/26"))].paths == (RoutePath(interface="vxlan/red/b"),)


def test_no_route_leaks_between_tables() -> None:
    m = model(A, B, C)
    desired = plugins.render(m)
    tunnels = {o.name: o for o in desired.values() if isinstance(o, Vxlan)}
    for obj in desired.values():
        if isinstance(obj, Route):
            for path in obj.paths:
                assert path.lookup_table is None  # no cross-VRF lookups at all
                if path.interface in tunnels:
                    tunnel = tunnels[str(path.interface)]
                    network = str(path.interface).split("/")[1]
                    # a tunnel's routes, its VRF and its VNI all belong to one network
                    assert obj.table_id == tunnel.settings.vrf4 == m.vrf_table_id(network)
                    assert tunnel.vni == m.networks[network].vni
    table0 = {o.prefix for o in desired.values() if isinstance(o, Route) and o.table_id == 0}
    assert NET("10.244.2.0/26") in table0
    assert not any(prefix_contains(NET("172.16.0.0/12"), p) for p in table0)


def test_prefixes_outside_the_network_range_are_not_routed() -> None:
    rogue = node("d", "192.168.0.4/24", None, ("10.244.2.0/26", "blue"), ("172.21.9.0/26", "blue"))
    desired = plugins.render(model(A, rogue))
    assert "vxlan/blue/d" not in {o.name for o in desired.values() if isinstance(o, Vxlan)}
    assert Route(56, NET("10.244.2.0/26"), ()).key not in desired


def test_stale_and_local_prefixes_are_not_misrouted() -> None:
    b = node("b", "192.168.0.2/24", None, ("172.19.7.7/32", "blue"), ("172.19.2.0/26", "blue"))
    c = node("c", "192.168.0.3/24", None, ("172.19.7.7/32", "blue"), ("172.19.1.9/32", "blue"))
    m = model(A, b, c, pod_interfaces=[pod("p", "172.19.1.9/32", "blue")])
    routes = {o.prefix: o.paths for o in plugins.render(m).values() if isinstance(o, Route)}
    assert NET("172.19.7.7/32") not in routes  # claimed by b and c: ambiguous
    assert routes[NET("172.19.1.9/32")] == (RoutePath(interface="pod/default/p/net1"),)
    assert routes[NET("172.19.2.0/26")] == (RoutePath(interface="vxlan/blue/b"),)


def test_without_a_local_node_only_the_vrfs_are_rendered() -> None:
    desired = networks.render(ClusterModel.build("a", nodes=[B], networks=[BLUE]))
    assert list(desired) == [VrfTable(56, False), VrfTable(56, True)]


def test_vni_change_changes_the_tunnel_and_the_default_table() -> None:
    before = plugins.render(model(A, B))
    after = plugins.render(model(A, B, nets=(replace(BLUE, vni=57), RED)))
    tunnel = after["interface vxlan/blue/b"]
    assert isinstance(tunnel, Vxlan) and tunnel.vni == 57 and tunnel.settings.vrf4 == 57
    assert "route 57 172.19.2.0/26" in after and "route 56 172.19.2.0/26" not in after
    assert "route 56 172.19.2.0/26" in before


def test_range_change_changes_what_is_routed() -> None:
    narrowed = replace(BLUE, ranges=(NET("172.19.1.0/24"), NET("fd19::/64")))
    desired = plugins.render(model(A, B, nets=(narrowed, RED)))
    assert "route 56 172.19.2.0/26" not in desired
    assert "route 56 fd19::200/122" in desired


def test_invalid_network_programs_nothing_not_even_its_pods() -> None:
    dup = Network("green", 56, (NET("172.30.0.0/16"),), created=datetime(2030, 1, 1, tzinfo=UTC))
    older = replace(BLUE, created=datetime(2020, 1, 1, tzinfo=UTC))
    green = node("b", "192.168.0.2/24", None, ("172.30.2.0/26", "green"))
    m = model(
        A,
        green,
        nets=(older, dup),
        pod_interfaces=[pod("g", "172.30.1.5/32", "green"), pod("bl", "172.19.1.5/32", "blue")],
    )
    desired = plugins.render(m)
    assert not [k for k in desired if "green" in k or "172.30." in k]
    assert "interface pod/default/bl/net1" in desired
    assert networks.problems(m) == {
        "green": networks.NetworkProblem("DuplicateVNI", "vni 56 is already used by network 'blue'")
    }
