"""The reference answer: which backends a packet to a service may reach, from the model."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from agent.model import (
    ClusterModel,
    EndpointPort,
    L4Protocol,
    Network,
    Node,
    Service,
    ServiceEndpoint,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from agent.model.service_reach import Outcome, Packet, reach

IP = ipaddress.ip_address
IF = ipaddress.ip_interface
NET = ipaddress.ip_network

NODE = Node("a", (IF("192.168.0.1/24"),), zone="z1")
BLUE = Network("blue", 56, (NET("172.19.0.0/16"),))


def ep(address: str, node: str = "a", port: int = 8080, **kw: object) -> ServiceEndpoint:
    return ServiceEndpoint((IP(address),), (EndpointPort(port, name="http"),), node, **kw)  # type: ignore[arg-type]


WEB = Service(
    "default",
    "web",
    ServiceType.NODE_PORT,
    cluster_ips=(IP("10.96.0.10"),),
    external_ips=(IP("203.0.113.7"),),
    ports=(ServicePort(80, "http", name="http", node_port=30080),),
    endpoints=(ep("10.0.0.1"), ep("10.0.1.1", node="b")),
)


def model(*services: Service) -> ClusterModel:
    return ClusterModel.build("a", nodes=[NODE], networks=[BLUE], services=services)


def test_cluster_ip_external_ip_and_node_port() -> None:
    both = frozenset({(IP("10.0.0.1"), 8080), (IP("10.0.1.1"), 8080)})
    for vip, port in (("10.96.0.10", 80), ("203.0.113.7", 80), ("192.168.0.1", 30080)):
        r = reach(model(WEB), Packet(IP(vip), port))
        assert (r.outcome, r.backends) == (Outcome.BACKENDS, both), vip
    assert reach(model(WEB), Packet(IP("10.96.0.10"), 80, L4Protocol.UDP)).outcome is Outcome.DROP
    assert reach(model(WEB), Packet(IP("10.9.9.9"), 80)).outcome is Outcome.NONE
    assert reach(model(WEB), Packet(IP("192.168.0.1"), 22)).outcome is Outcome.NONE


def test_local_policies_and_their_drops() -> None:
    local = replace(
        WEB,
        external_traffic_policy=TrafficPolicy.LOCAL,
        endpoints=(ep("10.0.1.1", node="b"),),
    )
    assert reach(model(local), Packet(IP("10.96.0.10"), 80)).outcome is Outcome.BACKENDS
    assert reach(model(local), Packet(IP("203.0.113.7"), 80)).outcome is Outcome.DROP
    assert reach(model(local), Packet(IP("192.168.0.1"), 30080)).outcome is Outcome.NONE


def test_no_endpoints_is_rejected_and_terminating_ones_serve_last() -> None:
    assert reach(model(replace(WEB, endpoints=())), Packet(IP("10.96.0.10"), 80)).outcome is (
        Outcome.REJECT
    )
    draining = ep("10.0.0.9", ready=False, serving=True, terminating=True)
    r = reach(model(replace(WEB, endpoints=(draining,))), Packet(IP("10.96.0.10"), 80))
    assert r.backends == {(IP("10.0.0.9"), 8080)}
    r = reach(
        model(replace(WEB, endpoints=(draining, ep("10.0.0.1")))), Packet(IP("10.96.0.10"), 80)
    )
    assert r.backends == {(IP("10.0.0.1"), 8080)}


def test_topology_hints_prefer_this_zone() -> None:
    hinted = replace(
        WEB, endpoints=(ep("10.0.0.1", zone_hints=("z1",)), ep("10.0.1.1", "b", zone_hints=("z2",)))
    )
    assert reach(model(hinted), Packet(IP("10.96.0.10"), 80)).backends == {(IP("10.0.0.1"), 8080)}


def test_network_services_are_isolated() -> None:
    blue = replace(WEB, network="blue", endpoints=(ep("172.19.0.5"), ep("10.0.0.1")))
    from_blue = reach(model(blue), Packet(IP("10.96.0.10"), 80, network="blue"))
    assert from_blue.backends == {(IP("172.19.0.5"), 8080)}  # 10.0.0.1 is not blue's
    assert reach(model(blue), Packet(IP("10.96.0.10"), 80)).outcome is Outcome.DROP
    assert reach(model(blue), Packet(IP("192.168.0.1"), 30080)).outcome is Outcome.NONE
    empty = replace(blue, endpoints=())
    assert reach(model(empty), Packet(IP("10.96.0.10"), 80)).outcome is Outcome.REJECT
    assert reach(model(WEB), Packet(IP("10.96.0.10"), 80, network="blue")).outcome is Outcome.DROP


def test_hairpin_is_named() -> None:
    r = reach(model(WEB), Packet(IP("10.96.0.10"), 80, source=IP("10.0.0.1")))
    assert "source-NATed" in r.why
