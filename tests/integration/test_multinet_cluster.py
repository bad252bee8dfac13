"""Three agents, two isolated networks: A-to-A works across nodes, nothing else crosses.

Each node is a whole agent (simulated VPP, dataplane, Kubernetes sources) on a
shared fake API server. Networks, NADs and Nodes come from the API; pods are
put into each agent's model as the CNI would. Each agent announces its pods'
prefixes on its Node, the others route them through the network's VXLAN
tunnel, and reachability is then judged from what the three VPPs hold.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.model import PodInterface, PodInterfaceKey
from agent.vpp import interfaces, vxlan
from plugins.ipenable import loopback_name
from tests.integration.k8s_agents import Agent, LoopThread, start_agent, stop_agent
from tests.integration.multinet_reach import NodeDump, Trace, trace
from tests.k8sfake import NADS, NODES, FakeKubeApi, ResourceType, wait_until
from tests.k8sfake import objects as o

IF = ipaddress.ip_interface
IP = ipaddress.ip_address

NODE_IPS = {"a": "192.168.0.1", "b": "192.168.0.2", "c": "192.168.0.3", "d": "192.168.0.4"}


def pod(name: str, address: str, network: str = "") -> PodInterface:
    interface = "eth0" if network == "" else "net1"
    return PodInterface(
        key=PodInterfaceKey("default", name, interface),
        container_id=f"c-{name}",
        netns=f"/var/run/netns/{name}",
        host_interface_name=f"vpp-{name}",
        addresses=(IF(address),),
        network=network,
    )


PODS = {
    "a": [pod("a-def", "10.244.1.10/32"), pod("a-A", "172.16.1.10/32", "A"),
          pod("a-B", "172.17.1.10/32", "B")],
    "b": [pod("b-def", "10.244.2.10/32"), pod("b-A", "172.16.2.10/32", "A"),
          pod("b-B", "172.17.2.10/32", "B")],
    "c": [pod("c-A", "172.16.9.10/32", "A"), pod("c-def", "10.244.3.10/32")],
    "d": [pod("d-A", "172.16.4.10/32", "A")],
}  # fmt: skip


class Cluster:
    def __init__(self, api: FakeKubeApi, networks: ResourceType, tmp: Path) -> None:
        self.api, self.networks, self.tmp = api, networks, tmp
        self.runner = LoopThread()
        self.agents: dict[str, Agent] = {}
        self.pods: dict[str, PodInterface] = {}

    def add_node(self, name: str) -> Agent:
        n = list(NODE_IPS).index(name) + 1
        self.api.create(
            NODES, o.node(name, ipv4=f"{NODE_IPS[name]}/24", pod_cidrs=(f"10.244.{n}.0/24",))
        )
        agent = start_agent(
            self.api,
            self.runner,
            self.tmp,
            name,
            frozenset({IP(NODE_IPS[name])}),
            node_pod_cidrs=True,
        )
        self.agents[name] = agent
        for p in PODS[name]:
            agent.put_pod(p)
            self.pods[p.key.pod] = p
        return agent

    def remove_node(self, name: str) -> None:
        agent = self.agents.pop(name)
        stop_agent(self.runner, agent)
        self.api.delete(NODES, name)
        for p in PODS[name]:
            self.pods.pop(p.key.pod)

    def settle(self) -> None:
        for agent in self.agents.values():
            agent.settle()

    def reach(self, src: str, dst: str) -> Trace:
        self.settle()
        dumps: dict[str, NodeDump] = {n: a.dump() for n, a in self.agents.items()}
        s, d = self.pods[src], self.pods[dst]
        source = self.agents[src.split("-", maxsplit=1)[0]].endpoint(s)
        target = self.agents[dst.split("-", maxsplit=1)[0]].endpoint(d)
        return trace(dumps, source, target)

    def eventually_reaches(self, src: str, dst: str) -> None:
        wait_until(lambda: self.reach(src, dst), timeout=15)

    def tunnels(self, name: str) -> set[tuple[str, int]]:
        return {
            (str(t.tunnel.dst), t.tunnel.vni) for t in self.agents[name].conn.dump(vxlan.dump())
        }

    def close(self) -> None:
        for agent in list(self.agents.values()):
            stop_agent(self.runner, agent)
        self.runner.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with FakeKubeApi(NADS) as api:
        networks = o.install_vppnet(api)
        api.create(networks, o.network("A", 100, ipv4="172.16.0.0/16"))
        api.create(networks, o.network("B", 200, ipv4="172.17.0.0/16"))
        api.create(NADS, o.nad("net-a", "A"))
        api.create(NADS, o.nad("net-b", "B"))
        c = Cluster(api, networks, tmp_path)
        try:
            for name in ("a", "b", "c"):
                c.add_node(name)
            yield c
        finally:
            c.close()


ISOLATED = [
    ("a-A", "b-B"),  # A to B, across nodes
    ("b-B", "a-A"),
    ("a-A", "a-B"),  # A to B on the same node
    ("a-B", "a-A"),
    ("a-A", "a-def"),  # A to the default network
    ("a-A", "b-def"),
    ("b-B", "a-def"),  # B to the default network
    ("c-A", "b-def"),
    ("a-def", "a-A"),  # and the default network into A or B
    ("a-def", "b-A"),
    ("b-def", "a-B"),
]


def test_networks_are_joined_per_vni_and_isolated(cluster: Cluster) -> None:
    cluster.eventually_reaches("a-A", "b-A")
    cluster.eventually_reaches("a-A", "c-A")
    cluster.eventually_reaches("c-A", "b-A")
    cluster.eventually_reaches("b-B", "a-B")
    cluster.eventually_reaches("a-def", "b-def")  # the fabric model works for table 0 too
    assert cluster.tunnels("a") == {
        ("192.168.0.2", 100),
        ("192.168.0.3", 100),
        ("192.168.0.2", 200),
    }
    for src, dst in ISOLATED:
        result = cluster.reach(src, dst)
        assert not result, f"{src} -> {dst} must be impossible:\n{result}"


def test_a_vni_change_is_applied_everywhere(cluster: Cluster) -> None:
    cluster.eventually_reaches("a-A", "b-A")
    cluster.api.patch(cluster.networks, "A", {"spec": {"vni": 101}})
    for name in ("a", "b", "c"):
        wait_until(lambda n=name: all(v != 100 for _, v in cluster.tunnels(n)))  # type: ignore[misc]
    assert ("192.168.0.2", 101) in cluster.tunnels("a")
    cluster.eventually_reaches("a-A", "b-A")
    cluster.eventually_reaches("c-A", "a-A")
    for src, dst in ISOLATED:
        assert not cluster.reach(src, dst), f"{src} -> {dst}"


def test_a_range_change_is_applied(cluster: Cluster) -> None:
    cluster.eventually_reaches("a-A", "c-A")
    # 172.16.0.0/22 still holds a's and b's pods, not c's (172.16.9.10)
    cluster.api.patch(cluster.networks, "A", {"spec": {"ipv4Range": "172.16.0.0/22"}})
    wait_until(lambda: not cluster.reach("a-A", "c-A"))
    cluster.eventually_reaches("a-A", "b-A")
    cluster.api.patch(cluster.networks, "A", {"spec": {"ipv4Range": "172.16.0.0/16"}})
    cluster.eventually_reaches("a-A", "c-A")


def test_nodes_join_and_leave(cluster: Cluster) -> None:
    cluster.eventually_reaches("a-A", "c-A")
    cluster.add_node("d")
    cluster.eventually_reaches("a-A", "d-A")
    cluster.eventually_reaches("d-A", "c-A")
    assert not cluster.reach("d-A", "b-B")
    cluster.remove_node("c")
    wait_until(lambda: all(dst != "192.168.0.3" for dst, _ in cluster.tunnels("a")))
    wait_until(lambda: all(dst != "192.168.0.3" for dst, _ in cluster.tunnels("b")))
    cluster.eventually_reaches("d-A", "b-A")


def test_without_ip_on_its_interfaces_a_vrf_carries_nothing(cluster: Cluster) -> None:
    """The loopback of A's VRF on b goes behind the agent's back: b's tunnel and pod in A
    no longer have IP, and the tracer says so; a resync makes it and lends it again."""
    cluster.eventually_reaches("a-A", "b-A")
    b = cluster.agents["b"]
    tag = f"vppnet:{loopback_name(100)}"
    (loop,) = [i.sw_if_index for i in b.conn.dump(interfaces.dump()) if i.tag == tag]
    b.conn.call(interfaces.delete_loopback(loop))
    result = cluster.reach("a-A", "b-A")
    assert not result and "IPv4 is not enabled on vppnet:vxlan/A/a on b" in result.why, result
    assert not cluster.reach("b-A", "c-A")
    b.dataplane.resync()
    cluster.eventually_reaches("a-A", "b-A")
    cluster.eventually_reaches("b-A", "c-A")
