"""Services and EndpointSlices as JSON -> model; bad parts skipped with a reason."""

from __future__ import annotations

import ipaddress

import pytest

from agent.k8s.convert.meta import ConversionError
from agent.k8s.convert.services import service_from_k8s, slice_from_k8s
from agent.model import (
    EndpointPort,
    L4Protocol,
    LbType,
    ServiceKey,
    ServicePort,
    ServiceType,
    SessionAffinity,
    TrafficPolicy,
)
from tests.k8sservices import endpoint, endpoint_slice, port, service

IP = ipaddress.ip_address


def test_a_full_service() -> None:
    obj = service(
        "web",
        ["10.96.0.10", "fd96::a"],
        [port(80, "http", name="web", node_port=30080), port(53, 5353, "UDP", "dns")],
        type="LoadBalancer",
        externalIPs=["203.0.113.7"],
        externalTrafficPolicy="Local",
        internalTrafficPolicy="Local",
        sessionAffinity="ClientIP",
        sessionAffinityConfig={"clientIP": {"timeoutSeconds": 600}},
        annotations={
            "cni.projectcalico.org/vppLBType": "ecmp",
            "cni.projectcalico.org/vppHashConfig": "srcaddr, dstport",
            "extensions.projectcalico.org/network": "blue",
        },
        ingress=[
            {"ip": "198.51.100.9"},
            {"ip": "198.51.100.10", "ipMode": "Proxy"},
            {"hostname": "lb"},
        ],
    )
    info = service_from_k8s(obj)
    assert info is not None and info.problems == ()
    s = info.service
    assert s.key == ServiceKey("default", "web") and s.service_type is ServiceType.LOAD_BALANCER
    assert s.cluster_ips == (IP("10.96.0.10"), IP("fd96::a"))
    assert s.external_ips == (IP("203.0.113.7"),)
    assert s.load_balancer_ips == (IP("198.51.100.9"),)  # a Proxy-mode ingress is not local
    assert s.ports == (
        ServicePort(80, "http", L4Protocol.TCP, "web", 30080),
        ServicePort(53, 5353, L4Protocol.UDP, "dns"),
    )
    assert s.external_traffic_policy is TrafficPolicy.LOCAL
    assert s.internal_traffic_policy is TrafficPolicy.LOCAL
    assert (s.session_affinity, s.session_affinity_timeout) == (SessionAffinity.CLIENT_IP, 600)
    assert s.lb_type is LbType.ECMP and s.hash_fields == ("srcaddr", "dstport")
    assert s.network == "blue"


def test_defaults_headless_and_external_name() -> None:
    info = service_from_k8s(service("web", ports=[{"port": 80}]))
    assert info is not None
    s = info.service
    assert s.ports == (ServicePort(80, 80),) and s.lb_type is LbType.MAGLEV
    assert s.session_affinity is SessionAffinity.NONE and s.network == ""
    headless = service_from_k8s(service("db", []))
    assert headless is not None and headless.service.headless
    assert headless.service.cluster_ips == ()
    assert service_from_k8s(service("ext", type="ExternalName")) is None


def test_bad_ports_and_addresses_are_skipped_with_a_reason() -> None:
    obj = service(
        "web",
        ["10.96.0.10", "not-an-ip"],
        [port(0, 8080), port(80, 8080, "ICMP"), port(81, 70000), port(82, 8082)],
        externalIPs=["203.0.113.300"],
        annotations={
            "cni.projectcalico.org/vppLBType": "random",
            "cni.projectcalico.org/vppHashConfig": "colour",
        },
    )
    info = service_from_k8s(obj)
    assert info is not None
    assert info.service.ports == (ServicePort(82, 8082),)
    assert info.service.cluster_ips == (IP("10.96.0.10"),) and info.service.external_ips == ()
    reasons = [(p.reason, p.message) for p in info.problems]
    assert ("InvalidPort", "spec.ports[0].port: 0 is not a port (1-65535)") in reasons
    assert (
        "UnsupportedProtocol",
        "spec.ports[1].protocol: protocol 'ICMP' is not TCP, UDP or SCTP",
    ) in reasons
    assert ("InvalidPort", "spec.ports[2].targetPort: 70000 is not a port (1-65535)") in reasons
    assert ("InvalidAddress", "spec.clusterIPs[1]: 'not-an-ip' is not an IP address") in reasons
    assert any("vppLBType: 'random'" in m for _, m in reasons)
    assert any("vppHashConfig: unknown field(s) colour" in m for _, m in reasons)
    with pytest.raises(ConversionError):
        service_from_k8s({"metadata": {}})


def test_slice_endpoints_conditions_hints_and_ports() -> None:
    obj = endpoint_slice(
        "web-abc",
        "web",
        [
            endpoint("10.0.0.1", zones=["z1"]),
            endpoint("10.0.0.2", node="b", ready=False, serving=True, terminating=True),
            endpoint("10.0.0.3", node=None, ready=None),
            endpoint("fd00::1", "bogus"),
        ],
        [
            {"name": "web", "port": 8080, "protocol": "TCP"},
            {"name": "all", "port": None},
            {"name": "x", "port": 0},
        ],
    )
    info = slice_from_k8s(obj)
    assert info.service == ServiceKey("default", "web")
    first, second, third = info.endpoints
    assert first.addresses == (IP("10.0.0.1"),) and first.zone_hints == ("z1",)
    assert first.ports == (EndpointPort(8080, L4Protocol.TCP, "web"),) and first.node == "a"
    assert (second.ready, second.serving, second.terminating, second.node) == (
        False,
        True,
        True,
        "b",
    )
    assert (third.ready, third.serving, third.terminating, third.node) == (True, True, False, None)
    messages = [p.message for p in info.problems]
    assert "ports[2].port: 0 is not a port (1-65535)" in messages
    assert "endpoints[3].addresses[1]: 'bogus' is not an IP address" in messages
    assert "endpoints[3].addresses: fd00::1 is not IPv4" in messages


def test_fqdn_and_unlabelled_slices() -> None:
    fqdn = slice_from_k8s(
        endpoint_slice("x", "web", [endpoint("example.com")], address_type="FQDN")
    )
    assert fqdn.endpoints == () and fqdn.problems == ()
    unlabelled = endpoint_slice("y", "web", [endpoint("10.0.0.1")])
    unlabelled["metadata"]["labels"] = {}
    assert slice_from_k8s(unlabelled).service is None
