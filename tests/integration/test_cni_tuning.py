"""Per-interface tuning by calico-vpp's annotations, as VPP (the simulator) receives it;
memif pod interfaces and the extra, port-steered memif."""

from __future__ import annotations

import json

import pytest

from agent.cni import add_request
from agent.cni import annotations as ann
from agent.cni.podside import TUN_MAC
from agent.vpp import interfaces, memif, tap
from agent.vppsim.state.interfaces import RX_MODE_POLLING
from tests.integration.cni_fixtures import CniEnv, NetnsFactory, cni, links, pod_netns

__all__ = ["cni", "pod_netns"]

pytestmark = pytest.mark.root


def by_tag(env: CniEnv) -> dict[str, int]:
    return {i.tag: i.sw_if_index for i in env.conn.dump(interfaces.dump()) if i.tag}


def test_queues_ring_size_and_rx_mode_reach_vpp(cni: CniEnv, pod_netns: NetnsFactory) -> None:
    ns = pod_netns()
    spec = {"eth0": {"rx": 4, "tx": 2, "rxqsz": 2048, "txqsz": 2048, "rxMode": "polling"}}
    reply = cni.client.add(
        add_request(
            netns=ns,
            namespace="demo",
            pod="fast-1",
            addresses=["10.244.1.20/32"],
            annotations={ann.INTERFACES_SPEC: json.dumps(spec)},
        )
    )
    assert reply.successful and reply.error_message == ""
    (t,) = cni.conn.dump(tap.dump())
    assert (t.rx_ring_size, t.tx_ring_size) == (2048, 2048)
    sim_tap = cni.sim.state.taps[t.sw_if_index]
    assert (sim_tap.num_rx_queues, sim_tap.num_tx_queues) == (4, 2)
    sim_if = cni.sim.state.interfaces.get(t.sw_if_index)
    assert sim_if is not None and sim_if.rx_modes == [RX_MODE_POLLING] * 4
    assert links(ns)["eth0"].kind == "tun"


def test_memif_pod_interface_with_its_queues(cni: CniEnv, pod_netns: NetnsFactory) -> None:
    ns = pod_netns()
    assert cni.client.add(
        add_request(netns=ns, namespace="demo", pod="nf-1", addresses=["10.244.1.14/32"])
    ).successful
    spec = {"memif1": {"rx": 2, "tx": 2, "rxqsz": 4096}}
    reply = cni.client.add(
        add_request(
            netns=ns,
            namespace="demo",
            pod="nf-1",
            interface="memif1",
            network="blue",
            addresses=["172.19.1.14/16"],
            annotations={ann.INTERFACES_SPEC: json.dumps(spec)},
        )
    )
    assert reply.successful, reply.error_message
    assert reply.container_mac == TUN_MAC
    (m,) = cni.conn.dump(memif.dump())
    assert m.sw_if_index == by_tag(cni)["vppnet:pod/demo/nf-1/memif1"]
    assert (m.role, m.mode, m.ring_size) == (memif.MemifRole.MASTER, memif.MemifMode.IP, 4096)
    sim_memif = cni.sim.state.memifs[m.sw_if_index]
    assert (sim_memif.rx_queues, sim_memif.tx_queues) == (2, 2)
    sockets = {s.socket_id: s.path for s in cni.conn.dump(memif.dump_sockets())}
    assert sockets[m.socket_id] == f"abstract:vpp/memif-memif1,netns_name={ns}"
    assert set(links(ns)) == {"lo", "eth0"}  # a memif has no kernel interface
    assert cni.client.delete(ns, "memif1").successful
    assert cni.conn.dump(memif.dump()) == []
    assert all(s.socket_id == 0 for s in cni.conn.dump(memif.dump_sockets()))


def test_extra_memif_beside_the_tun(cni: CniEnv, pod_netns: NetnsFactory) -> None:
    ns = pod_netns()
    reply = cni.client.add(
        add_request(
            netns=ns,
            namespace="demo",
            pod="pktgen-1",
            addresses=["10.244.1.13/32"],
            annotations={
                ann.EXTRA_MEMIF_PORTS: "udp:4444-20000",
                ann.EXTRA_MEMIF_SPEC: json.dumps({"rx": 2, "tx": 2, "rxqsz": 2048}),
            },
        )
    )
    assert reply.successful, reply.error_message
    tags = by_tag(cni)
    assert set(tags) == {
        "vppnet:pod/demo/pktgen-1/eth0",
        "vppnet:pod/demo/pktgen-1/eth0/extra-eth0",
        "vppnet:loopback/vrf-0",  # both borrow its address (plugins.ipenable)
    }
    (m,) = cni.conn.dump(memif.dump())
    assert m.sw_if_index == tags["vppnet:pod/demo/pktgen-1/eth0/extra-eth0"]
    assert (m.mode, m.ring_size) == (memif.MemifMode.IP, 2048)
    sim_memif = cni.sim.state.memifs[m.sw_if_index]
    assert (sim_memif.rx_queues, sim_memif.tx_queues) == (2, 2)
    pod = cni.state.model.pod_interfaces[next(iter(cni.state.model.pod_interfaces))]
    assert [
        (s.protocol, s.ports.first, s.ports.last) for s in pod.extra_memifs[0].steered_ports
    ] == [("UDP", 4444, 20000)]
    assert cni.client.delete(ns).successful
    assert cni.conn.dump(memif.dump()) == [] and cni.owned_tags() == set()


def test_allowed_source_prefixes_are_kept_in_the_model(
    cni: CniEnv, pod_netns: NetnsFactory
) -> None:
    ns = pod_netns()
    reply = cni.client.add(
        add_request(
            netns=ns,
            namespace="demo",
            pod="router-1",
            addresses=["10.244.1.30/32"],
            annotations={ann.ALLOWED_SOURCE_PREFIXES: '["10.0.0.0/8", "192.168.1.5"]'},
        )
    )
    assert reply.successful
    (pod,) = cni.state.model.pod_interfaces.values()
    assert [str(p) for p in pod.allowed_source_prefixes] == ["10.0.0.0/8", "192.168.1.5/32"]
