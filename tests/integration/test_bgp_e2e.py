"""End to end: three nodes with pods in the default network and two isolated networks, a
LoadBalancer service, and BGP as the only way a node learns where the others' pods are.

Every node runs a VPP simulator, the dataplane and a real gobgpd (node-to-node
mesh). A node's model knows the cluster's nodes, pools, networks and
services, but only its own pods: default-network blocks travel as IPv4
unicast, each network's pod prefixes as L3VPN routes whose route
distinguisher carries the network's VNI. Reachability is then judged from
the three VPPs (tests/integration/multinet_reach.py); the service from the
cnat translations each node programs and the host route to its LoadBalancer
IP that only the node with a local endpoint announces.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from agent.model import (
    BgpConfiguration,
    ClusterModel,
    EncapMode,
    EndpointPort,
    IpPool,
    Network,
    PodInterface,
    PodInterfaceKey,
    Service,
    ServiceEndpoint,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from agent.vpp import cnat, interfaces, vxlan
from tests.integration.bgp_fixtures import (
    BgpNode,
    fabric,
    needs_gobgpd_netns,
    node,
    start_node,
    stop_node,
    wait_established,
)
from tests.integration.multinet_reach import Endpoint, Trace, trace
from tests.k8sfake import wait_until

__all__ = ["fabric"]

pytestmark = needs_gobgpd_netns

IF = ipaddress.ip_interface
NET = ipaddress.ip_network
IP = ipaddress.ip_address

SPEC = {"a": (1, 77), "b": (2, 77), "c": (3, 78)}
ADDRESS = {name: f"192.168.{subnet}.{n}" for name, (n, subnet) in SPEC.items()}
NETWORKS = [
    Network("A", 100, (NET("172.16.0.0/16"),), advertise=True),
    Network("B", 200, (NET("172.17.0.0/16"),), advertise=True),
]
POOL = IpPool("default", NET("10.244.0.0/16"), 26, ipip_mode=EncapMode.CROSS_SUBNET)
LB_IP = IP("203.0.113.5")
SERVICE = Service(
    "default",
    "web",
    ServiceType.LOAD_BALANCER,
    cluster_ips=(IP("10.96.0.10"),),
    load_balancer_ips=(LB_IP,),
    ports=(ServicePort(80, 8080),),
    external_traffic_policy=TrafficPolicy.LOCAL,
    endpoints=(ServiceEndpoint((IP("10.244.1.10"),), (EndpointPort(8080),), node="a"),),
)
BGP = BgpConfiguration(
    "default",
    service_cluster_ips=(NET("10.96.0.0/12"),),
    service_load_balancer_ips=(NET("203.0.113.0/24"),),
)
# (pod, node, network or "" for the default network, address)
PODS = [
    ("a-def", "a", "", "10.244.1.10"),
    ("a-A", "a", "A", "172.16.1.10"),
    ("a-B", "a", "B", "172.17.1.10"),
    ("b-def", "b", "", "10.244.2.10"),
    ("b-A", "b", "A", "172.16.2.10"),
    ("b-B", "b", "B", "172.17.2.10"),
    ("c-def", "c", "", "10.244.3.10"),
    ("c-A", "c", "A", "172.16.3.10"),
]


def pod_interface(name: str, network: str, address: str) -> PodInterface:
    return PodInterface(
        PodInterfaceKey("default", name, "eth0" if not network else "net1"),
        f"c-{name}",
        f"/var/run/netns/{name}",
        f"vpp-{name}",
        (IF(f"{address}/32"),),
        network=network,
    )


def model_of(name: str) -> ClusterModel:
    nodes = []
    for other, (n, subnet) in SPEC.items():
        blocks = (f"10.244.{n}.0/26",) if other == name else ()
        nodes.append(node(other, n, *blocks, subnet=subnet))
    pods = [pod_interface(p, net, addr) for p, where, net, addr in PODS if where == name]
    return ClusterModel.build(
        name,
        nodes=nodes,
        pools=[POOL],
        networks=NETWORKS,
        pod_interfaces=pods,
        services=[SERVICE],
        bgp_configurations=[BGP],
    )


class Cluster:
    def __init__(self, tmp: Path, fabric_ns: str) -> None:
        self.nodes = {name: start_node(tmp, fabric_ns, model_of(name)) for name in SPEC}

    def endpoint(self, pod: str) -> Endpoint:
        _, where, net, address = next(p for p in PODS if p[0] == pod)
        key = pod_interface(pod, net, address).key
        conn = self.nodes[where].conn
        index = next(
            i.sw_if_index for i in conn.dump(interfaces.dump()) if i.tag == f"vppnet:pod/{key}"
        )
        return Endpoint(where, index, IP(address))

    def reach(self, src: str, dst: str) -> Trace:
        dumps = {name: n.dump() for name, n in self.nodes.items()}
        return trace(dumps, self.endpoint(src), self.endpoint(dst))

    def close(self) -> None:
        for n in self.nodes.values():
            stop_node(n)


def learned(n: BgpNode) -> set[tuple[str, str]]:
    return {(r.network, str(r.prefix)) for r in n.state.model.learned_routes.values()}


@pytest.fixture
def cluster(tmp_path: Path, fabric: str) -> Iterator[Cluster]:
    c = Cluster(tmp_path, fabric)
    try:
        for name, n in c.nodes.items():
            wait_established(n, *(ADDRESS[o] for o in SPEC if o != name))
        yield c
    finally:
        c.close()


REACHABLE = [
    ("a-def", "b-def"),
    ("b-def", "c-def"),
    ("c-def", "a-def"),
    ("a-A", "b-A"),
    ("b-A", "c-A"),
    ("c-A", "a-A"),
    ("a-B", "b-B"),
    ("b-B", "a-B"),
]
ISOLATED = [
    ("a-A", "b-B"),
    ("b-B", "c-A"),
    ("a-A", "b-def"),
    ("c-def", "a-A"),
    ("b-def", "a-B"),
]


def test_pods_networks_services_and_bgp_together(cluster: Cluster) -> None:
    b = cluster.nodes["b"]
    expected_b = {
        ("", "10.244.1.0/26"),
        ("", "10.244.3.0/26"),
        ("", "10.96.0.10/32"),  # externalTrafficPolicy Local: announced by a only,
        ("", "203.0.113.5/32"),  # where the endpoint is
        ("A", "172.16.1.10/32"),
        ("A", "172.16.3.10/32"),
        ("B", "172.17.1.10/32"),
    }
    wait_until(lambda: learned(b) == expected_b, timeout=20)
    for n in cluster.nodes.values():
        wait_until(partial(n.speaker.wait_idle))
    for src, dst in REACHABLE:
        result = cluster.reach(src, dst)
        assert result, f"{src} -> {dst}:\n{result}"
    for src, dst in ISOLATED:
        result = cluster.reach(src, dst)
        assert not result, f"{src} -> {dst} must be impossible:\n{result}"
    tunnels = {(str(d.tunnel.dst), d.tunnel.vni) for d in b.conn.dump(vxlan.dump())}
    assert tunnels == {
        (ADDRESS["a"], 100),
        (ADDRESS["c"], 100),
        (ADDRESS["a"], 200),
    }, "VXLAN per network with its VNI, only towards nodes with pods in it"
    # the service: its cluster IP translated on every node; with externalTrafficPolicy
    # Local its LoadBalancer IP only where an endpoint is, which alone announces it
    for name, n in cluster.nodes.items():
        vips = {(str(t.vip.addr), t.vip.port) for t in n.conn.dump(cnat.dump())}
        assert ("10.96.0.10", 80) in vips, name
        assert ((str(LB_IP), 80) in vips) is (name == "a"), name
    for name in ("b", "c"):
        route = cluster.nodes[name].routes()[f"{LB_IP}/32"]
        assert [str(p.nh) for p in route.paths] == [ADDRESS["a"]]
    assert ("", "10.96.0.0/12") not in learned(b), "every node announces the service range"
