"""The reachability judge itself: it must see a path where one exists, and a leak as a leak.

Hand-made dumps (no VPP), so that a bug in :func:`trace` cannot hide behind the
dataplane: the isolation claims of the cluster tests are only as good as this.
"""

from __future__ import annotations

import ipaddress

from agent.model import IPAddress
from agent.vpp import ip, vxlan
from tests.integration.multinet_reach import ANY, Endpoint, NodeDump, trace

NET = ipaddress.ip_network
IP = ipaddress.ip_address
DROP = ip.Path(type=ip.PathType.DROP)


def route(table: int, prefix: str, *paths: ip.Path) -> ip.Route:
    return ip.Route(table, NET(prefix), paths or (DROP,))


def node(
    name: str,
    address: str,
    routes: list[ip.Route],
    tunnels: dict[int, vxlan.VxlanTunnel] | None = None,
    tables: dict[int, tuple[int, int]] | None = None,
    ip_off: frozenset[int] = frozenset(),
    ethernet: frozenset[int] = frozenset(),
    neighbors: frozenset[tuple[int, IPAddress]] = frozenset(),
) -> NodeDump:
    """A node whose interfaces (those in ``tables``) have IP enabled, but ``ip_off``."""
    by_table: dict[tuple[int, bool], list[ip.Route]] = {}
    for r in [route(0, "0.0.0.0/0"), route(100, "0.0.0.0/0"), *routes]:
        by_table.setdefault((r.table_id, False), []).append(r)
    return NodeDump(
        name,
        frozenset({IP(address)}),
        {k: tuple(v) for k, v in by_table.items()},
        tunnels or {},
        tables or {},
        ip_enabled={i: (True, True) for i in tables or {} if i not in ip_off},
        ethernet=ethernet,
        neighbors=neighbors,
    )


def tunnel(src: str, dst: str, vni: int) -> vxlan.VxlanTunnel:
    return vxlan.VxlanTunnel(IP(src), IP(dst), vni)


POD_A = Endpoint("a", 1, IP("172.16.1.10"))  # in table 100 on node a
POD_B = Endpoint("b", 1, IP("172.16.2.10"))  # in table 100 on node b


def cluster(
    b_vni: int = 100,
    b_table: int = 100,
    extra_a: list[ip.Route] | None = None,
    a_off: frozenset[int] = frozenset(),
    b_off: frozenset[int] = frozenset(),
    b_ethernet: frozenset[int] = frozenset(),
    b_neighbors: frozenset[tuple[int, IPAddress]] = frozenset(),
) -> dict[str, NodeDump]:
    a = node(
        "a",
        "192.168.0.1",
        [
            route(100, "172.16.2.0/24", ip.Path(sw_if_index=9)),
            route(100, "172.16.1.10/32", ip.Path(sw_if_index=1)),
            route(0, "10.244.1.10/32", ip.Path(sw_if_index=2)),
            *(extra_a or []),
        ],
        {9: tunnel("192.168.0.1", "192.168.0.2", 100)},
        {1: (100, 100), 2: (0, 0), 9: (100, 100)},
        ip_off=a_off,
    )
    b = node(
        "b",
        "192.168.0.2",
        [
            route(100, "172.16.2.10/32", ip.Path(sw_if_index=1)),
            route(0, "10.244.2.0/24", ip.Path(sw_if_index=3)),
            route(100, "172.16.1.0/24", ip.Path(sw_if_index=9)),
        ],
        {9: tunnel("192.168.0.2", "192.168.0.1", b_vni)},
        {1: (100, 100), 3: (0, 0), 9: (b_table, b_table)},
        ip_off=b_off,
        ethernet=b_ethernet,
        neighbors=b_neighbors,
    )
    return {"a": a, "b": b}


def test_a_path_through_matching_tunnels_is_found() -> None:
    result = trace(cluster(), POD_A, POD_B)
    assert result, str(result)
    assert "decapsulated VNI 100 into table 100" in str(result)
    assert trace(cluster(), POD_B, POD_A)


def test_a_vni_mismatch_is_not_decapsulated() -> None:
    result = trace(cluster(b_vni=101), POD_A, POD_B)
    assert not result and "no tunnel decapsulating VNI 100" in result.why


def test_a_tunnel_bound_to_another_table_delivers_into_that_table() -> None:
    result = trace(cluster(b_table=0), POD_A, POD_B)  # decapsulated into the default table
    assert not result and result.why == "drop in table 0 on b"


def test_a_leaking_lookup_route_is_seen_as_a_path() -> None:
    """If a plugin ever leaked (a route in table 100 looking up table 0), trace sees it."""
    default_pod = Endpoint("a", 2, IP("10.244.1.10"))
    assert not trace(cluster(), POD_A, default_pod)
    leak = route(100, "10.244.0.0/16", ip.Path(sw_if_index=ANY, table_id=0))
    assert trace(cluster(extra_a=[leak]), POD_A, default_pod)


def test_next_hops_cross_the_fabric_into_the_default_table() -> None:
    to_b = route(0, "10.244.2.0/24", ip.Path(nh=IP("192.168.0.2")))
    target = Endpoint("b", 3, IP("10.244.2.10"))
    src = Endpoint("a", 2, IP("10.244.1.10"))
    assert trace(cluster(extra_a=[to_b]), src, target)
    assert not trace(cluster(), src, target)  # without the route: dropped by 0.0.0.0/0


def test_delivery_to_the_wrong_interface_is_not_reaching() -> None:
    wrong = Endpoint("b", 7, IP("172.16.2.10"))
    result = trace(cluster(), POD_A, wrong)
    assert not result and "out of 1 on b" in result.why


def test_loops_end() -> None:
    loop = route(100, "172.16.5.0/24", ip.Path(sw_if_index=ANY, table_id=100))
    result = trace(cluster(extra_a=[loop]), POD_A, Endpoint("b", 1, IP("172.16.5.1")))
    assert not result and result.why == "forwarding loop"


def test_a_pod_interface_without_ip_drops_what_the_pod_sends() -> None:
    result = trace(cluster(a_off=frozenset({1})), POD_A, POD_B)
    assert not result and result.why == (
        "IPv4 is not enabled on 1 on a: what the pod sends is dropped"
    )


def test_a_tunnel_without_ip_drops_what_it_decapsulates() -> None:
    result = trace(cluster(b_off=frozenset({9})), POD_A, POD_B)
    assert not result and "IPv4 is not enabled on 9 on b: decapsulated" in result.why


def test_a_destination_without_ip_cannot_answer() -> None:
    result = trace(cluster(b_off=frozenset({1})), POD_A, POD_B)
    assert not result and "the pod's replies drop" in result.why


def test_an_ethernet_destination_needs_its_neighbour() -> None:
    l2 = frozenset({1})
    result = trace(cluster(b_ethernet=l2), POD_A, POD_B)
    assert not result and result.why == "no neighbour for 172.16.2.10 on 1 on b: no MAC"
    assert trace(cluster(b_ethernet=l2, b_neighbors=frozenset({(1, POD_B.address)})), POD_A, POD_B)
