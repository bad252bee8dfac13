"""Three nodes, each a VPP simulator with its own real gobgpd: routes learned become VPP routes.

Each node's model knows the other nodes' addresses but only its own pod
blocks, so every remote block a node routes was learned over BGP. Pools:
10.244.0.0/16 is IPIP CrossSubnet (a and b share 192.168.77.0/24, c is in
192.168.78.0/24), 10.245.0.0/16 is VXLAN Always. Reachability between pods is
judged from the three VPPs' dumps (tests/integration/multinet_reach.py).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from agent.model import (
    ClusterModel,
    EncapMode,
    IpPool,
    Node,
    PodInterface,
    PodInterfaceKey,
)
from agent.vpp import interfaces, ipip, vxlan
from tests.integration.bgp_fixtures import (
    BgpNode,
    fabric,
    needs_gobgpd_netns,
    node,
    start_node,
    stop_node,
    wait_established,
    without_node,
)
from tests.integration.multinet_reach import Endpoint, Trace, trace
from tests.k8sfake import wait_until

__all__ = ["fabric"]

pytestmark = needs_gobgpd_netns

IF = ipaddress.ip_interface
NET = ipaddress.ip_network
IP = ipaddress.ip_address

POOLS = [
    IpPool("ipip", NET("10.244.0.0/16"), 26, ipip_mode=EncapMode.CROSS_SUBNET),
    IpPool("vxlan", NET("10.245.0.0/16"), 26, vxlan_mode=EncapMode.ALWAYS),
]
SPEC = {"a": (1, 77), "b": (2, 77), "c": (3, 78)}
ADDRESS = {name: f"192.168.{subnet}.{n}" for name, (n, subnet) in SPEC.items()}


def pod(node_name: str, pool: int) -> PodInterface:
    n = SPEC[node_name][0]
    name = f"{node_name}{pool}"
    return PodInterface(
        PodInterfaceKey("default", name, "eth0"), f"c-{name}", f"/var/run/netns/{name}",
        f"cali{name}", (IF(f"10.{pool}.{n}.10/32"),),
    )  # fmt: skip


def bare(name: str) -> Node:
    n, subnet = SPEC[name]
    return node(name, n, subnet=subnet)


def model_of(name: str) -> ClusterModel:
    n, subnet = SPEC[name]
    local = node(name, n, f"10.244.{n}.0/26", f"10.245.{n}.0/26", subnet=subnet)
    others = [bare(other) for other in SPEC if other != name]
    return ClusterModel.build(
        name,
        nodes=[local, *others],
        pools=POOLS,
        pod_interfaces=[pod(name, 244), pod(name, 245)],
    )


class Cluster:
    def __init__(self, tmp: Path, fabric_ns: str) -> None:
        self.nodes: dict[str, BgpNode] = {}
        for name in SPEC:
            self.nodes[name] = start_node(tmp, fabric_ns, model_of(name))

    def converged(self) -> None:
        for name, n in self.nodes.items():
            wait_established(n, *(ADDRESS[o] for o in self.nodes if o != name))
        expected = 2 * (len(self.nodes) - 1)  # two blocks per other node
        for n in self.nodes.values():
            wait_until(partial(learned_count_is, n, expected))
            assert n.speaker.wait_idle()

    def endpoint(self, name: str, pool: int) -> Endpoint:
        p = pod(name, pool)
        tag = f"vppnet:pod/{p.key}"
        conn = self.nodes[name].conn
        index = next(i.sw_if_index for i in conn.dump(interfaces.dump()) if i.tag == tag)
        return Endpoint(name, index, p.addresses[0].ip)

    def reach(self, src: str, dst: str, pool: int) -> Trace:
        dumps = {name: n.dump() for name, n in self.nodes.items()}
        return trace(dumps, self.endpoint(src, pool), self.endpoint(dst, pool))

    def close(self) -> None:
        for n in self.nodes.values():
            stop_node(n)


@pytest.fixture
def cluster(tmp_path: Path, fabric: str) -> Iterator[Cluster]:
    c = Cluster(tmp_path, fabric)
    try:
        c.converged()
        yield c
    finally:
        c.close()


def learned_count_is(n: BgpNode, count: int) -> bool:
    return len(n.state.model.learned_routes) == count


def gone_from(n: BgpNode, *prefixes: str) -> bool:
    routes = n.routes()
    return not any(p in routes for p in prefixes)


def peer_gone(n: BgpNode, address: str) -> bool:
    return address not in n.speaker.status.peers


def no_ipip_tunnel(n: BgpNode) -> bool:
    return not n.conn.dump(ipip.dump())


def paths_of(n: BgpNode, prefix: str) -> list[tuple[str, str]]:
    """(next hop, interface tag or name) of each path of a route in table 0."""
    names = {i.sw_if_index: i.tag or i.name for i in n.conn.dump(interfaces.dump())}
    route = n.routes()[prefix]
    return [(str(p.nh) if p.nh else "", names.get(p.sw_if_index, "")) for p in route.paths]


def test_learned_routes_are_programmed_with_the_pools_encapsulation(cluster: Cluster) -> None:
    b = cluster.nodes["b"]
    assert paths_of(b, "10.244.1.0/26") == [("192.168.77.1", "")]  # same subnet: direct
    assert paths_of(b, "10.244.3.0/26") == [("", "vppnet:tunnel/ipip/c")]  # across subnets
    assert paths_of(b, "10.245.1.0/26") == [("", "vppnet:tunnel/vxlan/a")]
    assert paths_of(b, "10.245.3.0/26") == [("", "vppnet:tunnel/vxlan/c")]
    [t] = [d.tunnel for d in b.conn.dump(ipip.dump())]
    assert (str(t.src), str(t.dst), t.table_id) == ("192.168.77.2", "192.168.78.3", 0)
    vx = {str(d.tunnel.dst): d.tunnel for d in b.conn.dump(vxlan.dump())}
    assert set(vx) == {"192.168.77.1", "192.168.78.3"}
    assert all((v.vni, v.src_port, v.dst_port) == (4096, 4789, 4789) for v in vx.values())
    mtus = {i.tag: i.mtu[0] for i in b.conn.dump(interfaces.dump()) if "tunnel/" in i.tag}
    assert mtus == {
        "vppnet:tunnel/ipip/c": 1480,
        "vppnet:tunnel/vxlan/a": 1450,
        "vppnet:tunnel/vxlan/c": 1450,
    }
    for src, dst in [("a", "b"), ("b", "c"), ("c", "a")]:
        for pool in (244, 245):
            result = cluster.reach(src, dst, pool)
            assert result, f"{src} -> {dst} in 10.{pool}/16:\n{result}"
    assert "decapsulated IPIP" in "\n".join(cluster.reach("a", "c", 244).hops)


def test_a_node_leaving_withdraws_its_routes_everywhere(cluster: Cluster) -> None:
    c = cluster.nodes.pop("c")
    stop_node(c)  # gobgpd stops with a Cease: its peers drop its routes at once
    for name in ("a", "b"):
        n = cluster.nodes[name]
        n.update(lambda m: without_node(m, "c"), "node c deleted")
    for n in cluster.nodes.values():
        wait_until(partial(gone_from, n, "10.244.3.0/26", "10.245.3.0/26"))
        wait_until(partial(no_ipip_tunnel, n))
        assert {str(d.tunnel.dst) for d in n.conn.dump(vxlan.dump())} <= {
            "192.168.77.1",
            "192.168.77.2",
        }
        wait_until(partial(peer_gone, n, ADDRESS["c"]))
    assert cluster.reach("a", "b", 245)


def test_a_crashed_gobgpd_restarts_and_forwarding_never_stops(cluster: Cluster) -> None:
    a, b = cluster.nodes["a"], cluster.nodes["b"]
    a.speaker.kill_gobgpd()
    # b is a graceful-restart helper: a's routes stay (stale) in b's VPP meanwhile
    wait_until(lambda: a.speaker.status.restarts == 1, timeout=15)
    assert "10.245.1.0/26" in b.routes() and "10.244.1.0/26" in b.routes()
    # a keeps what it learned before the crash until its peers are back
    assert "10.245.2.0/26" in a.routes()
    wait_established(a, ADDRESS["b"], ADDRESS["c"])
    wait_until(lambda: a.speaker.status.stale == 0 and a.speaker.status.learned == 4, timeout=30)
    wait_until(lambda: "10.245.1.0/26" in b.routes())
    assert cluster.reach("b", "a", 245) and cluster.reach("a", "c", 244)


def test_mtu_of_the_tunnels_follows_felix_config(cluster: Cluster) -> None:
    b = cluster.nodes["b"]
    b.update(lambda m: replace(m, felix_config={"VXLANMTU": "8950", "IpInIpMtu": "8980"}))
    mtus = {i.tag: i.mtu[0] for i in b.conn.dump(interfaces.dump()) if "tunnel/" in i.tag}
    assert mtus["vppnet:tunnel/vxlan/a"] == 8950 and mtus["vppnet:tunnel/ipip/c"] == 8980
