"""The services plugin: what each kind of Service becomes, without any VPP."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from datetime import UTC, datetime

import plugins
from agent.model import (
    ClusterModel,
    EndpointPort,
    L4Protocol,
    LbType,
    Network,
    Node,
    Service,
    ServiceEndpoint,
    ServiceKey,
    ServicePort,
    ServiceType,
    SessionAffinity,
    TrafficPolicy,
)
from agent.vppobjects import Backend, CnatTranslation, Route, RoutePath, VppObject
from plugins import service_table
from plugins.services import ServiceContext, ServiceSettings, render_service

IP = ipaddress.ip_address
IF = ipaddress.ip_interface
NET = ipaddress.ip_network

NODE = Node("a", (IF("192.168.0.1/24"), IF("fd00::1/64")))
BLUE = Network("blue", 56, (NET("172.19.0.0/16"),))


def ep(
    address: str, node: str = "a", port: int = 8080, name: str = "", **kw: object
) -> ServiceEndpoint:
    return ServiceEndpoint(
        (IP(address),),
        (EndpointPort(port, L4Protocol.TCP, name),),
        node=node,
        **kw,  # type: ignore[arg-type]
    )


def svc(name: str = "web", **kw: object) -> Service:
    base = Service(
        "default",
        name,
        cluster_ips=(IP("10.96.0.10"),),
        ports=(ServicePort(80, 8080),),
        endpoints=(ep("10.0.0.1"), ep("10.0.1.1", node="b")),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def model(*services: Service, **kw: object) -> ClusterModel:
    return ClusterModel.build("a", nodes=[NODE], services=services, networks=[BLUE], **kw)  # type: ignore[arg-type]


def objects(m: ClusterModel, settings: ServiceSettings | None = None) -> dict[str, VppObject]:
    return {o.key: o for o in service_table.render(m, settings)}


def tr(m: ClusterModel, key: str) -> CnatTranslation:
    obj = objects(m)[key]
    assert isinstance(obj, CnatTranslation)
    return obj


def test_cluster_ip_load_balances_over_ready_endpoints_with_maglev() -> None:
    t = tr(model(svc()), "cnat TCP 10.96.0.10 80")
    assert t.backends == (Backend(IP("10.0.0.1"), 8080), Backend(IP("10.0.1.1"), 8080))
    assert t.maglev and not t.is_real_ip and not t.no_client
    assert t.flow_hash == ("src", "dst", "sport", "dport", "proto")


def test_ecmp_annotation_and_hash_config_are_honoured() -> None:
    t = tr(
        model(svc(lb_type=LbType.ECMP, hash_fields=("srcaddr", "dstport"))),
        "cnat TCP 10.96.0.10 80",
    )
    assert not t.maglev and t.flow_hash == ("src", "dport")


def test_client_ip_affinity_hashes_on_the_client_address_only() -> None:
    t = tr(model(svc(session_affinity=SessionAffinity.CLIENT_IP)), "cnat TCP 10.96.0.10 80")
    assert t.flow_hash == ("src",) and t.maglev


def test_every_protocol_and_port() -> None:
    ports = tuple(ServicePort(53, 53, p, p.value.lower()) for p in L4Protocol)
    endpoints = (
        ServiceEndpoint(
            (IP("10.0.0.1"),),
            tuple(EndpointPort(5353, p, p.value.lower()) for p in L4Protocol),
            "a",
        ),
    )
    got = objects(model(svc(ports=ports, endpoints=endpoints)))
    for p in ("TCP", "UDP", "SCTP"):
        assert got[f"cnat {p} 10.96.0.10 53"].backends == (Backend(IP("10.0.0.1"), 5353),)  # type: ignore[union-attr]


def test_named_target_ports_are_resolved_per_endpoint() -> None:
    s = svc(
        ports=(ServicePort(80, "http", name="web"),),
        endpoints=(
            ep("10.0.0.1", port=8080, name="web"),
            ep("10.0.0.2", port=9090, name="web"),
            ep("10.0.0.3", name="other"),
        ),
    )
    t = tr(model(s), "cnat TCP 10.96.0.10 80")
    assert t.backends == (Backend(IP("10.0.0.1"), 8080), Backend(IP("10.0.0.2"), 9090))


def test_terminating_endpoints_serve_only_when_none_is_ready() -> None:
    draining = ep("10.0.0.9", ready=False, serving=True, terminating=True)
    gone = ep("10.0.0.8", ready=False, serving=False, terminating=True)
    with_ready = tr(
        model(svc(endpoints=(ep("10.0.0.1"), draining, gone))), "cnat TCP 10.96.0.10 80"
    )
    assert with_ready.backends == (Backend(IP("10.0.0.1"), 8080),)
    only_draining = tr(model(svc(endpoints=(draining, gone))), "cnat TCP 10.96.0.10 80")
    assert only_draining.backends == (Backend(IP("10.0.0.9"), 8080),)


def test_no_endpoints_rejects_and_no_local_endpoint_drops() -> None:
    empty = objects(model(svc(endpoints=())))
    assert empty == {
        "route 0 10.96.0.10/32": Route(0, NET("10.96.0.10/32"), (RoutePath(kind="unreach"),))
    }
    remote_only = svc(
        internal_traffic_policy=TrafficPolicy.LOCAL, endpoints=(ep("10.0.1.1", node="b"),)
    )
    assert objects(model(remote_only)) == {
        "route 0 10.96.0.10/32": Route(0, NET("10.96.0.10/32"), (RoutePath(kind="drop"),))
    }


def test_internal_local_policy_keeps_local_endpoints() -> None:
    t = tr(model(svc(internal_traffic_policy=TrafficPolicy.LOCAL)), "cnat TCP 10.96.0.10 80")
    assert t.backends == (Backend(IP("10.0.0.1"), 8080),)


def test_node_port_on_every_node_address_snats_remote_backends_unless_local() -> None:
    s = svc(
        service_type=ServiceType.NODE_PORT,
        ports=(ServicePort(80, 8080, node_port=30080),),
        endpoints=(ep("10.0.0.1"), ep("10.0.1.1", node="b"), ep("fd10::1")),
    )
    extra = ServiceSettings(node_port_addresses=(IP("169.254.0.1"),))
    got = objects(model(s), extra)
    v4 = got["cnat TCP 192.168.0.1 30080"]
    assert isinstance(v4, CnatTranslation) and v4.is_real_ip
    assert v4.backends == (
        Backend(IP("10.0.0.1"), 8080),
        Backend(IP("10.0.1.1"), 8080, src=IP("192.168.0.1")),
    )
    assert "cnat TCP 169.254.0.1 30080" in got  # the host tun's address too
    v6 = got["cnat TCP fd00::1 30080"]
    assert isinstance(v6, CnatTranslation) and v6.backends == (Backend(IP("fd10::1"), 8080),)
    local = objects(model(replace(s, external_traffic_policy=TrafficPolicy.LOCAL)))
    assert local["cnat TCP 192.168.0.1 30080"].backends == (Backend(IP("10.0.0.1"), 8080),)  # type: ignore[union-attr]
    # the ClusterIP keeps every endpoint: internalTrafficPolicy is Cluster
    assert len(local["cnat TCP 10.96.0.10 80"].backends) == 2  # type: ignore[union-attr]


def test_load_balancer_and_external_ips_follow_the_external_policy() -> None:
    s = svc(
        service_type=ServiceType.LOAD_BALANCER,
        external_ips=(IP("203.0.113.7"), IP("192.168.0.1")),
        load_balancer_ips=(IP("198.51.100.9"),),
        external_traffic_policy=TrafficPolicy.LOCAL,
    )
    got = objects(model(s))
    for vip in ("203.0.113.7", "198.51.100.9", "192.168.0.1"):
        t = got[f"cnat TCP {vip} 80"]
        assert isinstance(t, CnatTranslation) and t.backends == (Backend(IP("10.0.0.1"), 8080),)
    assert got["cnat TCP 192.168.0.1 80"].is_real_ip  # type: ignore[union-attr]
    assert not got["cnat TCP 203.0.113.7 80"].is_real_ip  # type: ignore[union-attr]


def test_dual_stack_translations_keep_families_apart() -> None:
    s = svc(
        cluster_ips=(IP("10.96.0.10"), IP("fd96::a")),
        endpoints=(ep("10.0.0.1"), ep("fd10::1")),
    )
    got = objects(model(s))
    assert got["cnat TCP 10.96.0.10 80"].backends == (Backend(IP("10.0.0.1"), 8080),)  # type: ignore[union-attr]
    assert got["cnat TCP fd96::a 80"].backends == (Backend(IP("fd10::1"), 8080),)  # type: ignore[union-attr]


def test_headless_services_program_nothing() -> None:
    assert objects(model(svc(headless=True, cluster_ips=()))) == {}


def test_topology_hints_narrow_to_this_zone() -> None:
    node = replace(NODE, zone="z1")
    s = svc(
        endpoints=(ep("10.0.0.1", zone_hints=("z1",)), ep("10.0.1.1", node="b", zone_hints=("z2",)))
    )
    m = ClusterModel.build("a", nodes=[node], services=[s])
    assert tr(m, "cnat TCP 10.96.0.10 80").backends == (Backend(IP("10.0.0.1"), 8080),)
    partial = replace(s, endpoints=(ep("10.0.0.1", zone_hints=("z1",)), ep("10.0.1.1", node="b")))
    m2 = ClusterModel.build("a", nodes=[node], services=[partial])
    assert len(tr(m2, "cnat TCP 10.96.0.10 80").backends) == 2  # not every endpoint has hints


def test_maglev_dsr_skips_nat_towards_remote_backends() -> None:
    t = tr(model(svc(lb_type=LbType.MAGLEV_DSR)), "cnat TCP 10.96.0.10 80")
    assert t.backends == (Backend(IP("10.0.0.1"), 8080), Backend(IP("10.0.1.1"), 8080, no_nat=True))


def test_per_network_service_is_scoped_to_its_network() -> None:
    s = svc(
        network="blue",
        service_type=ServiceType.NODE_PORT,
        ports=(ServicePort(53, 53, L4Protocol.UDP, node_port=30053),),
        endpoints=(
            ServiceEndpoint((IP("172.19.1.5"),), (EndpointPort(53, L4Protocol.UDP),), "a"),
            ServiceEndpoint((IP("10.0.0.1"),), (EndpointPort(53, L4Protocol.UDP),), "a"),
        ),
    )
    m = model(s)
    got = objects(m)
    t = got["cnat UDP 10.96.0.10 53"]
    assert isinstance(t, CnatTranslation) and t.no_client
    assert t.backends == (Backend(IP("172.19.1.5"), 53),)  # 10.0.0.1 is not blue's
    assert got["route 0 10.96.0.10/32"] == Route(
        0, NET("10.96.0.10/32"), (RoutePath(kind="unreach"),)
    )
    assert not any(k.startswith("cnat UDP 192.168.0.1") for k in got)  # no node port
    problems = service_table.problems(m)[ServiceKey("default", "web")]
    assert any("10.0.0.1 is outside network 'blue'" in p for p in problems)
    assert any("nodePort 30053" in p for p in problems)
    unknown = render_service(replace(s, network="green"), ServiceContext.of(m, ServiceSettings()))
    assert unknown.objects == () and "network 'green' is unknown" in unknown.problems[0]


def test_the_older_service_keeps_a_shared_address() -> None:
    old = svc("old", external_ips=(IP("203.0.113.7"),), created=datetime(2026, 1, 1, tzinfo=UTC))
    new = svc(
        "new",
        cluster_ips=(IP("10.96.0.11"),),
        external_ips=(IP("203.0.113.7"),),
        endpoints=(ep("10.0.0.5"),),
        created=datetime(2026, 2, 1, tzinfo=UTC),
    )
    m = model(old, new)
    assert tr(m, "cnat TCP 203.0.113.7 80").backends[0].addr == IP("10.0.0.1")
    assert "older" in service_table.problems(m)[ServiceKey("default", "new")][0]


def test_services_never_displace_another_plugins_object() -> None:
    node = Node("a", (IF("192.168.0.1/24"),))
    s = svc(external_ips=(IP("10.0.0.1"),), endpoints=())  # wants a reject route at a "pod" address
    pod_route = Route(0, NET("10.0.0.1/32"), (RoutePath(nh=IP("10.0.0.1")),))
    desired: dict[str, VppObject] = {pod_route.key: pod_route}
    shadowed = service_table.overlay(
        desired, service_table.render(ClusterModel.build("a", nodes=[node], services=[s]))
    )
    assert shadowed == ["route 0 10.0.0.1/32"]
    assert desired[pod_route.key] is pod_route


def test_full_render_includes_services() -> None:
    desired = plugins.render(model(svc()))
    assert "cnat TCP 10.96.0.10 80" in desired
