"""What VPP does with a packet to a service (read back from its dumps) is what the model says.

Random clusters (tests/servicegen.py) are rendered and programmed into the simulator
through the real reconciler; then, for random packets, ``explain_service``'s answer
from VPP's dumps must equal the reference answer computed from the model alone.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import plugins
from agent.explain_service import ServicePacket, ServiceView, explain_service
from agent.model import ClusterModel, EndpointPort, Service, ServiceEndpoint, ServicePort
from agent.model.service_reach import Outcome, Packet, reach
from agent.reconcile import REQUIRED_MESSAGES, Reconciler
from agent.vpp import VppConnection, cnat, interfaces, tap
from agent.vppsim import Simulator
from tests.servicegen import BLUE, LOCAL_PODS, NODES, POOLS, clusters, packets

IF = ipaddress.ip_interface


class Node:
    """One simulated node, reused across examples: each example converges it anew."""

    def __init__(self, tmp: Path) -> None:
        self.sim = Simulator(tmp / "api.sock", devices="record")
        self.sim.start()
        self.conn = VppConnection(tmp / "api.sock", timeout=3.0)
        self.conn.connect(check=REQUIRED_MESSAGES)
        self.reconciler = Reconciler(self.conn, tmp / "index.json")
        # the uplink with the node's addresses, as the manager leaves it (not vppnet's)
        uplink = self.conn.call(tap.create(tap.TapCreate(host_if_name="uplink")))
        for address in ("192.168.0.1/24", "fd00::1/64"):
            self.conn.call(interfaces.add_address(uplink, IF(address)))
        self.conn.call(interfaces.set_admin(uplink, True))

    def program(self, model: ClusterModel) -> None:
        plan, report = self.reconciler.converge(plugins.render(model))
        assert report.ok and not plan.conflicts, report.render()

    def close(self) -> None:
        self.conn.close()
        self.sim.stop()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    n = Node(tmp_path_factory.mktemp("explain"))
    try:
        yield n
    finally:
        n.close()


def _table(network: str) -> int:
    return BLUE.vrf_table_id if network == "blue" else 0


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_vpp_forwards_service_packets_as_the_model_says(node: Node, data: st.DataObject) -> None:
    model = data.draw(clusters())
    node.program(model)
    view = ServiceView.read(node.conn)
    for packet in data.draw(st.lists(packets(model), min_size=1, max_size=12)):
        want = reach(model, packet)
        got = view.explain(
            ServicePacket(packet.vip, packet.port, packet.protocol.value, _table(packet.network))
        )
        context = f"{packet}: model says {want}, VPP says\n{got.render()}"
        assert got.outcome == want.outcome, context
        assert got.backends == want.backends, context


def test_explain_prints_the_path_of_a_packet(node: Node) -> None:
    ip = ipaddress.ip_address
    web = Service(
        "default",
        "web",
        cluster_ips=(ip("10.96.0.1"),),
        ports=(ServicePort(80, 8000),),
        endpoints=(
            ServiceEndpoint((ip("10.0.0.10"),), (EndpointPort(8000),), "a"),
            ServiceEndpoint((ip("10.0.1.20"),), (EndpointPort(8000),), "b"),
        ),
    )
    empty = Service(
        "default", "empty", cluster_ips=(ip("10.96.0.2"),), ports=(ServicePort(80, 80),)
    )
    model = ClusterModel.build(
        "a",
        nodes=NODES,
        pools=POOLS,
        networks=[BLUE],
        pod_interfaces=LOCAL_PODS,
        services=[web, empty],
    )
    node.program(model)
    text = explain_service(
        node.conn, ServicePacket(ip("10.96.0.1"), 80, source=ip("10.0.0.10"))
    ).render()
    assert "packet to 10.96.0.1:80 TCP from 10.0.0.10 in table 0" in text
    assert "-> 10.0.0.10:8000  dev vppnet:pod/default/p10/eth0" in text
    assert "-> 10.0.1.20:8000  via 192.168.0.2" in text
    assert "outcome: backends: load-balanced over 2 backend(s); to itself" in text
    rejected = explain_service(node.conn, ServicePacket(ip("10.96.0.2"), 80))
    assert rejected.outcome is Outcome.REJECT and "ICMP unreachable" in rejected.why
    assert reach(model, Packet(ip("10.96.0.2"), 80)).outcome is Outcome.REJECT
    blue = explain_service(node.conn, ServicePacket(ip("10.96.0.1"), 80, table=BLUE.vrf_table_id))
    assert blue.outcome is Outcome.DROP and blue.backends == frozenset()  # another network's


def test_a_pod_reaching_its_own_service_is_hairpinned_in_vpp(node: Node) -> None:
    """The pieces of VPP that make hairpin work are there: the translation back to
    the pod, the node's address as cnat's SNAT address, cnat's Kubernetes SNAT
    policy, the pod interface in the policy's ``pod`` table and cnat on it."""
    ip = ipaddress.ip_address
    own = Service(
        "default",
        "own",
        cluster_ips=(ip("10.96.0.3"),),
        ports=(ServicePort(80, 8000),),
        endpoints=(ServiceEndpoint((ip("10.0.0.10"),), (EndpointPort(8000),), "a"),),
    )
    model = ClusterModel.build(
        "a", nodes=NODES, pools=POOLS, pod_interfaces=LOCAL_PODS, services=[own]
    )
    node.program(model)
    seen = explain_service(node.conn, ServicePacket(ip("10.96.0.3"), 80, source=ip("10.0.0.10")))
    assert seen.outcome is Outcome.BACKENDS
    assert "to itself: source-NATed to the node (hairpin)" in seen.why
    snat = node.conn.call(cnat.get_snat_addresses())
    assert (snat.ip4, snat.ip6) == (ip("192.168.0.1"), ip("fd00::1"))
    [pod] = [
        i.sw_if_index
        for i in node.conn.dump(interfaces.dump())
        if i.tag == "vppnet:pod/default/p10/eth0"
    ]
    state = node.sim.state.cnat
    assert state.snat_policy == cnat.SnatPolicy.K8S
    assert pod in state.policy_interfaces[cnat.SnatTable.POD]
    assert pod in state.enabled_interfaces


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"protocol": "ICMP"}, "protocol: 'ICMP' is not TCP, UDP or SCTP"),
        ({"port": 0}, "port: 0 is not a port"),
        ({"source": ipaddress.ip_address("fd00::1")}, "source: fd00::1 is not of the family"),
    ],
)
def test_a_bad_packet_is_refused_clearly(args: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServicePacket(**{"vip": ipaddress.ip_address("10.96.0.1"), "port": 80, **args})  # type: ignore[arg-type]
