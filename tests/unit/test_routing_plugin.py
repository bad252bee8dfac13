"""plugins.routing: what a node announces over BGP (pod blocks, service IPs, network prefixes)."""

from __future__ import annotations

import ipaddress

from agent.model import (
    BgpConfiguration,
    CalicoRoute,
    ClusterModel,
    Network,
    Node,
    PodBlock,
    PodInterface,
    PodInterfaceKey,
    RouteType,
    Service,
    ServiceEndpoint,
    ServiceType,
    TrafficPolicy,
)
from plugins import routing

IF = ipaddress.ip_interface
NET = ipaddress.ip_network
IP = ipaddress.ip_address

A = Node(
    "a", (IF("192.168.0.1/24"),), (PodBlock(NET("10.244.1.0/26")), PodBlock(NET("fd10::/122")))
)
B = Node("b", (IF("192.168.0.2/24"),), (PodBlock(NET("10.244.2.0/26")),))
CONFIG = BgpConfiguration(
    "default",
    service_cluster_ips=(NET("10.96.0.0/12"),),
    service_external_ips=(NET("198.51.100.0/24"),),
    service_load_balancer_ips=(NET("203.0.113.0/24"),),
)


def lb(name: str, policy: TrafficPolicy, *endpoint_nodes: str) -> Service:
    return Service(
        "default",
        name,
        ServiceType.LOAD_BALANCER,
        cluster_ips=(IP("10.96.0.10"),),
        external_ips=(IP("198.51.100.7"), IP("192.0.2.1")),  # the second is in no range
        load_balancer_ips=(IP("203.0.113.5"),),
        external_traffic_policy=policy,
        endpoints=tuple(ServiceEndpoint((IP("10.244.9.9"),), node=n) for n in endpoint_nodes),
    )


def announced(model: ClusterModel) -> dict[str, str]:
    return {str(a.prefix): str(a.next_hop) for a in routing.render(model).values()}


def test_pod_blocks_of_the_families_the_node_has() -> None:
    model = ClusterModel.build("a", nodes=[A, B])
    assert announced(model) == {"10.244.1.0/26": "192.168.0.1"}  # no IPv6 node address


def test_unknown_local_node_announces_nothing() -> None:
    assert routing.render(ClusterModel.build("x", nodes=[A])) == {}


def test_borrowed_addresses_living_here_are_announced() -> None:
    borrowed = CalicoRoute(
        NET("10.244.2.7/32"), RouteType.LOCAL_WORKLOAD, node="a", local_workload=True, borrowed=True
    )
    model = ClusterModel.build("a", nodes=[A, B], routes=[borrowed])
    assert "10.244.2.7/32" in announced(model)


def test_service_ranges_from_every_node_cluster_policy_adds_nothing() -> None:
    model = ClusterModel.build(
        "a",
        nodes=[A, B],
        bgp_configurations=[CONFIG],
        services=[lb("web", TrafficPolicy.CLUSTER, "a")],
    )
    assert set(announced(model)) == {
        "10.244.1.0/26",
        "10.96.0.0/12",
        "198.51.100.0/24",
        "203.0.113.0/24",
    }


def test_local_policy_host_routes_only_where_a_ready_endpoint_is() -> None:
    here = ClusterModel.build(
        "a",
        nodes=[A, B],
        bgp_configurations=[CONFIG],
        services=[lb("web", TrafficPolicy.LOCAL, "a")],
    )
    assert {"10.96.0.10/32", "198.51.100.7/32", "203.0.113.5/32"} <= set(announced(here))
    assert "192.0.2.1/32" not in announced(here), "outside every configured range"
    elsewhere = ClusterModel.build(
        "a",
        nodes=[A, B],
        bgp_configurations=[CONFIG],
        services=[lb("web", TrafficPolicy.LOCAL, "b")],
    )
    assert "203.0.113.5/32" not in announced(elsewhere)
    unready = ClusterModel.build(
        "a",
        nodes=[A, B],
        bgp_configurations=[CONFIG],
        services=[
            Service(
                "default",
                "web",
                ServiceType.LOAD_BALANCER,
                load_balancer_ips=(IP("203.0.113.5"),),
                external_traffic_policy=TrafficPolicy.LOCAL,
                endpoints=(ServiceEndpoint((IP("10.244.1.3"),), node="a", ready=False),),
            )
        ],
    )
    assert "203.0.113.5/32" not in announced(unready)


def test_no_bgp_configuration_no_service_announcements() -> None:
    model = ClusterModel.build("a", nodes=[A], services=[lb("web", TrafficPolicy.LOCAL, "a")])
    assert set(announced(model)) == {"10.244.1.0/26"}


def pod(name: str, address: str, network: str) -> PodInterface:
    return PodInterface(
        PodInterfaceKey("default", name, "net1"), f"c-{name}", f"/var/run/netns/{name}",
        f"vpp-{name}", (IF(address),), network=network,
    )  # fmt: skip


def test_networks_that_ask_announce_covering_prefixes_as_vpn() -> None:
    red = Network("red", 100, (NET("172.16.0.0/16"),), advertise=True)
    blue = Network("blue", 200, (NET("172.17.0.0/16"),))
    pods = [
        pod("r1", "172.16.1.2/32", "red"),
        pod("r2", "172.16.1.3/32", "red"),
        pod("r3", "172.16.1.9/32", "red"),
        pod("b1", "172.17.1.2/32", "blue"),
    ]
    model = ClusterModel.build("a", nodes=[A], networks=[red, blue], pod_interfaces=pods)
    vpn = [a for a in routing.render(model).values() if a.network]
    assert {(str(a.prefix), a.network, a.vni) for a in vpn} == {
        ("172.16.1.2/31", "red", 100),
        ("172.16.1.9/32", "red", 100),
    }
    assert all(a.next_hop == IP("192.168.0.1") for a in vpn)
    assert routing.render(model)[vpn[0].key].key.startswith("bgp red ")
