"""Random clusters of services for property tests (hypothesis strategies).

A fixed topology: this node ``a`` (192.168.0.1, fd00::1) and two remote nodes, a
secondary network ``blue``, local pods in both networks; random services of every
type over endpoints that are those pods or addresses in the remote nodes' blocks (so
every backend is routable in the right VRF once rendered), with random readiness,
traffic policies, affinity, named ports, topology hints and, now and then, an
endpoint in the wrong network. VIPs never collide between services.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from agent.model import (
    DEFAULT_NETWORK,
    ClusterModel,
    EndpointPort,
    IPAddress,
    IpPool,
    L4Protocol,
    LbType,
    Network,
    Node,
    PodBlock,
    PodInterface,
    PodInterfaceKey,
    Service,
    ServiceEndpoint,
    ServicePort,
    ServiceType,
    SessionAffinity,
    TrafficPolicy,
)
from agent.model.service_reach import Packet

IP = ipaddress.ip_address
IF = ipaddress.ip_interface
NET = ipaddress.ip_network

BLUE = Network("blue", 56, (NET("172.19.0.0/16"),))
NODES = (
    Node(
        "a",
        (IF("192.168.0.1/24"), IF("fd00::1/64")),
        (PodBlock(NET("10.0.0.0/24")), PodBlock(NET("172.19.0.0/26"), "blue")),
        zone="z1",
    ),
    Node(
        "b",
        (IF("192.168.0.2/24"),),
        (PodBlock(NET("10.0.1.0/24")), PodBlock(NET("172.19.1.0/26"), "blue")),
    ),
    Node("c", (IF("192.168.0.3/24"),), (PodBlock(NET("10.0.2.0/24")),)),
)
POOLS = (IpPool("default", NET("10.0.0.0/16"), 24, nat_outgoing=True),)
NODE_ADDRESSES = (IP("192.168.0.1"), IP("fd00::1"))

# (address, node, network): local pods, then addresses in remote blocks
DEFAULT_ENDPOINTS = (
    ("10.0.0.10", "a"),
    ("10.0.0.11", "a"),
    ("10.0.1.20", "b"),
    ("10.0.2.30", "c"),
)
BLUE_ENDPOINTS = (("172.19.0.10", "a"), ("172.19.1.20", "b"))
LOCAL_PODS = (
    PodInterface(
        PodInterfaceKey("default", "p10", "eth0"),
        "c10",
        "/var/run/netns/p10",
        "calip10",
        (IF("10.0.0.10/32"),),
    ),
    PodInterface(
        PodInterfaceKey("default", "p11", "eth0"),
        "c11",
        "/var/run/netns/p11",
        "calip11",
        (IF("10.0.0.11/32"),),
    ),
    PodInterface(
        PodInterfaceKey("default", "p12", "net1"),
        "c12",
        "/var/run/netns/p12",
        "calip12",
        (IF("172.19.0.10/32"),),
        network="blue",
    ),
)
PROTOCOLS = (L4Protocol.TCP, L4Protocol.UDP, L4Protocol.SCTP)


@st.composite
def endpoints(
    draw: st.DrawFn, network: str, names: tuple[tuple[str, L4Protocol], ...]
) -> tuple[ServiceEndpoint, ...]:
    pool = list(BLUE_ENDPOINTS if network == "blue" else DEFAULT_ENDPOINTS)
    if draw(st.booleans()):  # sometimes one from the other network
        pool.append(DEFAULT_ENDPOINTS[0] if network == "blue" else BLUE_ENDPOINTS[0])
    chosen = draw(st.lists(st.sampled_from(pool), unique=True, max_size=len(pool)))
    out = []
    for address, node in chosen:
        ready = draw(st.booleans())
        terminating = not ready and draw(st.booleans())
        ports = tuple(
            EndpointPort(draw(st.integers(8000, 8003)), protocol, name)
            for name, protocol in names
            if draw(st.integers(0, 4))  # a port name now and then missing
        )
        out.append(
            ServiceEndpoint(
                (IP(address),),
                ports,
                node=node,
                ready=ready,
                serving=ready or terminating,
                terminating=terminating,
                zone_hints=draw(st.sampled_from(((), ("z1",), ("z2",)))),
            )
        )
    return tuple(out)


@st.composite
def service(draw: st.DrawFn, i: int) -> Service:
    network = draw(st.sampled_from((DEFAULT_NETWORK, DEFAULT_NETWORK, "blue")))
    kind = draw(st.sampled_from(list(ServiceType)))
    names = tuple(
        (f"p{j}", draw(st.sampled_from(PROTOCOLS))) for j in range(draw(st.integers(1, 2)))
    )
    ports = tuple(
        ServicePort(
            draw(st.sampled_from((53, 80, 443))) + j,
            name,
            protocol,
            name,
            30000 + 10 * i + j if kind is not ServiceType.CLUSTER_IP else None,
        )
        for j, (name, protocol) in enumerate(names)
    )
    block = 1 if network == "blue" else 0
    return Service(
        namespace="default",
        name=f"s{i}",
        service_type=kind,
        network=network,
        cluster_ips=(IP(f"10.96.{block}.{i + 1}"),),
        external_ips=(IP(f"203.0.113.{i + 1}"),) if draw(st.booleans()) else (),
        load_balancer_ips=(IP(f"198.51.100.{i + 1}"),) if kind is ServiceType.LOAD_BALANCER else (),
        ports=ports,
        session_affinity=draw(st.sampled_from(list(SessionAffinity))),
        external_traffic_policy=draw(st.sampled_from(list(TrafficPolicy))),
        internal_traffic_policy=draw(st.sampled_from(list(TrafficPolicy))),
        lb_type=draw(st.sampled_from(list(LbType))),
        endpoints=draw(endpoints(network, names)),
        created=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
    )


@st.composite
def clusters(draw: st.DrawFn, max_services: int = 5) -> ClusterModel:
    n = draw(st.integers(0, max_services))
    services = [draw(service(i)) for i in range(n)]
    return ClusterModel.build(
        "a",
        nodes=NODES,
        pools=POOLS,
        networks=[BLUE],
        pod_interfaces=LOCAL_PODS,
        services=services,
    )


def vips(model: ClusterModel) -> list[IPAddress]:
    out: list[IPAddress] = list(NODE_ADDRESSES)
    for s in model.services.values():
        out += [*s.cluster_ips, *s.external_ips, *s.load_balancer_ips]
    return [*out, IP("10.96.9.9")]


@st.composite
def packets(draw: st.DrawFn, model: ClusterModel) -> Packet:
    """Mostly packets to a service port (any of its addresses), else anything."""
    network = draw(st.sampled_from((DEFAULT_NETWORK, "blue")))
    services = sorted(model.services.values(), key=lambda s: s.key)
    aim = draw(st.integers(0, 2))  # two in three aim at a service port
    if services and aim:
        s = draw(st.sampled_from(services))
        sp = draw(st.sampled_from(s.ports))
        targets = [(v, sp.port) for v in (*s.cluster_ips, *s.external_ips, *s.load_balancer_ips)]
        if sp.node_port is not None:
            targets += [(v, sp.node_port) for v in NODE_ADDRESSES]
        vip, port = draw(st.sampled_from(targets))
        return Packet(vip, port, sp.protocol, network)
    ports = [53, 80, 443, 54, 81, 444, 30000]
    for s in services:
        ports += [p.node_port for p in s.ports if p.node_port is not None]
    return Packet(
        vip=draw(st.sampled_from(vips(model))),
        port=draw(st.sampled_from(ports)),
        protocol=draw(st.sampled_from(PROTOCOLS)),
        network=network,
    )
