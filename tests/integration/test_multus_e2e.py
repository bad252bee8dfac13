"""Multiple isolated networks end to end: Multus attaches pods through the CNI, on three nodes.

The fake API server holds the Networks, NADs, Nodes and the Pods with their
Multus annotations. Each node runs the agent with its CNI server and a
simulated VPP that makes real tun/tap devices in real pod namespaces; Multus
(played by the harness) sends the ADDs for ``eth0``, ``net1``, ``net2`` as it
does. Then: each pod interface sits in its network's VRF with IP enabled, the
Ethernet ones have their neighbour, what Multus writes back carries the real
MACs, A reaches A across nodes, and nothing crosses between networks. ADDs
for a network that is unknown, invalid or being deleted fail naming the NAD.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.cni import annotations as ann
from agent.model import PodInterfaceKey, ethernet_mac
from plugins.ipenable import LOOPBACK_ADDRESS
from tests.integration.cni_fixtures import NetnsFactory, links, pod_netns
from tests.integration.k8s_agents import LoopThread
from tests.integration.multinet_reach import Endpoint, Trace, trace
from tests.integration.multus_cluster import (
    NETWORKS,
    Multus,
    NodeSide,
    Sandbox,
    nad,
    network_status,
    start_node,
    stop_node,
)
from tests.k8sfake import NADS, NODES, PODS, FakeKubeApi, ResourceType, wait_until
from tests.k8sfake import objects as o

__all__ = ["pod_netns"]

pytestmark = pytest.mark.root

BLUE, RED = 56, 88  # VNIs, and so the VRF tables
NODES_ = {"a": ("192.168.0.1", "10.244.1.0/24"), "b": ("192.168.0.2", "10.244.2.0/24"),
          "c": ("192.168.0.3", "10.244.3.0/24")}  # fmt: skip
PODS_ = {
    # pod: (node, annotations)
    "a1": ("a", {NETWORKS: "blue-conf, red-conf",
                 ann.INTERFACES_SPEC: json.dumps({"net1": {"isl3": False}}),  # a tap
                 ann.INTERFACE_TYPE: "net2=veth"}),
    "b1": ("b", {NETWORKS: json.dumps([{"name": "blue-conf"},
                                       {"name": "red-conf", "interface": "net2"}]),
                 ann.INTERFACE_TYPE: "net2=tap"}),
    "c1": ("c", {NETWORKS: "blue-conf@net1", ann.INTERFACE_TYPE: "net1=veth"}),
}  # fmt: skip


class Cluster:
    def __init__(self, api: FakeKubeApi, networks: ResourceType, tmp: Path) -> None:
        self.api, self.networks = api, networks
        self.runner = LoopThread()
        self.multus = Multus(api)
        self.nodes: dict[str, NodeSide] = {}
        self.sandboxes: dict[str, Sandbox] = {}
        self.netns: dict[str, str] = {}
        for name, (address, cidr) in NODES_.items():
            api.create(NODES, o.node(name, ipv4=f"{address}/24", pod_cidrs=(cidr,)))
        for name, (address, cidr) in NODES_.items():
            self.nodes[name] = start_node(api, self.runner, tmp, name, address, cidr)

    def add_pod(self, pod: str, node: str, annotations: dict[str, str], netns: str) -> Sandbox:
        self.api.create(PODS, o.pod(pod, node, annotations=annotations), "default")
        sandbox = self.multus.add(self.nodes[node], pod, netns)
        self.sandboxes[pod], self.netns[pod] = sandbox, netns
        return sandbox

    def endpoint(self, pod: str, interface: str) -> Endpoint:
        node = self.nodes[PODS_[pod][0]]
        return node.endpoint(pod, interface, self.sandboxes[pod].address(interface))

    def reach(self, src: tuple[str, str], dst: tuple[str, str]) -> Trace:
        for node in self.nodes.values():
            node.settle()
        dumps = {name: node.dump() for name, node in self.nodes.items()}
        return trace(dumps, self.endpoint(*src), self.endpoint(*dst))

    def close(self) -> None:
        for node in self.nodes.values():
            stop_node(self.runner, node)
        self.runner.close()


@pytest.fixture
def cluster(tmp_path: Path, pod_netns: NetnsFactory) -> Iterator[Cluster]:
    with FakeKubeApi(NADS) as api:
        networks = o.install_vppnet(api)
        api.create(networks, o.network("blue", BLUE, ipv4="172.19.0.0/16"))
        api.create(networks, o.network("red", RED, ipv4="172.21.0.0/16"))
        api.create(NADS, nad("blue-conf", "blue", "172.19.0.0/16"), "default")
        api.create(NADS, nad("red-conf", "red", "172.21.0.0/16"), "default")
        c = Cluster(api, networks, tmp_path)
        try:
            for name, (node, notes) in PODS_.items():
                sandbox = c.add_pod(name, node, notes, pod_netns())
                assert sandbox.ok, sandbox.error
            yield c
        finally:
            c.close()


INTERFACES = {  # pod/interface: (VRF table, kind in the pod, Ethernet)
    ("a1", "eth0"): (0, "tun", False),
    ("a1", "net1"): (BLUE, "tun", True),  # a tap: the kernel calls both "tun"
    ("a1", "net2"): (RED, "veth", True),
    ("b1", "eth0"): (0, "tun", False),
    ("b1", "net1"): (BLUE, "tun", False),
    ("b1", "net2"): (RED, "tun", True),
    ("c1", "eth0"): (0, "tun", False),
    ("c1", "net1"): (BLUE, "veth", True),
}


def test_each_interface_is_in_its_networks_vrf_with_ip_and_its_mac(cluster: Cluster) -> None:
    for (pod, ifname), (table, kind, ethernet) in INTERFACES.items():
        node = cluster.nodes[PODS_[pod][0]]
        iface = node.sim.state.interfaces.get(node.sw_if_index(pod, ifname))
        assert iface is not None
        assert (iface.table4, iface.table6) == (table, table), (pod, ifname)
        assert iface.ip_enabled(False) and iface.ip_enabled(True), (pod, ifname)
        lender = node.sim.state.interfaces.get(iface.unnumbered_from or -1)
        assert lender is not None and lender.kind == "loopback" and lender.table4 == table
        assert lender.addresses == [LOOPBACK_ADDRESS]
        link = links(cluster.netns[pod])[ifname]
        assert link.kind == kind, (pod, ifname)
        neighbours = {(i, ip) for i, ip in node.dump().neighbors if i == iface.sw_if_index}
        if ethernet:
            mac = ethernet_mac(PodInterfaceKey("default", pod, ifname))
            assert link.mac == cluster.sandboxes[pod].reply(ifname).container_mac == mac
            assert neighbours == {(iface.sw_if_index, cluster.sandboxes[pod].address(ifname))}
        else:
            assert not neighbours


def test_network_status_is_multus_own_and_carries_the_interfaces(cluster: Cluster) -> None:
    status = network_status(cluster.api, "a1")
    assert [(s["name"], s["interface"]) for s in status] == [
        ("k8s-pod-network", "eth0"),
        ("default/blue-conf", "net1"),
        ("default/red-conf", "net2"),
    ]
    assert status[0]["default"] is True and "default" not in status[1]
    assert status[1]["mac"] == links(cluster.netns["a1"])["net1"].mac
    assert status[1]["ips"] == [str(cluster.sandboxes["a1"].address("net1"))]
    for node in cluster.nodes.values():
        node.settle()
    assert network_status(cluster.api, "a1") == status  # the agents never rewrite it


def test_a_network_reaches_itself_across_nodes_and_nothing_else(cluster: Cluster) -> None:
    for src, dst in [
        (("a1", "net1"), ("b1", "net1")),  # blue: tap -> tun
        (("b1", "net1"), ("c1", "net1")),  # blue: tun -> veth
        (("c1", "net1"), ("a1", "net1")),  # blue: veth -> tap
        (("a1", "net2"), ("b1", "net2")),  # red: veth -> tap
        (("b1", "net2"), ("a1", "net2")),
        (("a1", "eth0"), ("b1", "eth0")),  # the default network too
    ]:
        wait_until(lambda s=src, d=dst: cluster.reach(s, d), timeout=15)  # type: ignore[misc]
    for src, dst in [
        (("a1", "net1"), ("b1", "net2")),  # blue to red, across nodes
        (("a1", "net1"), ("a1", "net2")),  # blue to red in the same pod
        (("b1", "net2"), ("c1", "net1")),  # red to blue
        (("a1", "net1"), ("b1", "eth0")),  # blue to the default network
        (("c1", "net1"), ("c1", "eth0")),
        (("a1", "eth0"), ("b1", "net1")),  # the default network into blue or red
        (("b1", "eth0"), ("a1", "net2")),
    ]:
        result = cluster.reach(src, dst)
        assert not result, f"{src} -> {dst} must be impossible:\n{result}"


def test_adds_for_unknown_invalid_or_terminating_networks_fail_naming_the_nad(
    cluster: Cluster, pod_netns: NetnsFactory
) -> None:
    api = cluster.api
    api.create(cluster.networks, o.network("copy", BLUE, ipv4="172.30.0.0/16"))  # a VNI taken
    api.create(NADS, nad("copy-conf", "copy", "172.30.0.0/16"), "default")
    api.create(NADS, nad("ghost-conf", "ghost", "172.31.0.0/16"), "default")
    node = cluster.nodes["a"]
    wait_until(lambda: "copy" in node.state.model.networks)
    bad = cluster.add_pod("bad", "a", {NETWORKS: "copy-conf"}, pod_netns())
    assert not bad.ok and bad.error == (
        "dataplane_options.network_name: NAD default/copy-conf (net1): network 'copy' is "
        "invalid (DuplicateVNI: vni 56 is already used by network 'blue'); it programs nothing"
    )
    lost = cluster.add_pod("lost", "a", {NETWORKS: "blue-conf, ghost-conf@eth1"}, pod_netns())
    assert not lost.ok and lost.error == (
        "dataplane_options.network_name: NAD default/ghost-conf (eth1): "
        "pod in an unknown network 'ghost'"
    )
    # red is deleted while a1 and b1 use it: kept (finalizer), but closed to newcomers
    api.delete(cluster.networks, "red")
    wait_until(lambda: node.state.model.networks["red"].terminating)
    late = cluster.add_pod("late", "a", {NETWORKS: "red-conf"}, pod_netns())
    assert not late.ok and late.error.endswith(
        "NAD default/red-conf (net1): network 'red' is being deleted: "
        "it takes no new pod interfaces"
    )
    # Multus undid the sandboxes: nothing of them is left on the node
    for pod in ("bad", "lost", "late"):
        assert not [k for k in node.state.model.pod_interfaces if k.pod == pod]
        assert set(links(cluster.netns[pod])) == {"lo"}
    wait_until(lambda: cluster.reach(("a1", "net2"), ("b1", "net2")), timeout=15)
