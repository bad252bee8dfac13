"""Nodes without /dev/vhost-net: the veth pair + af_packet fallback, and veth by choice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cni import add_request
from agent.cni import annotations as ann
from agent.cni.podside import GATEWAY4
from agent.model import InterfaceType
from agent.vpp import af_packet, interfaces, tap
from agent.vppsim import Simulator
from tests.integration.cni_fixtures import (
    CniEnv,
    NetnsFactory,
    addresses,
    cni,
    cni_no_vhost,
    links,
    make_env,
    neighbours,
    pod_netns,
    root_link,
    routes,
)

__all__ = ["cni", "cni_no_vhost", "pod_netns"]

pytestmark = pytest.mark.root


def test_no_vhost_net_falls_back_to_a_veth_pair(
    cni_no_vhost: CniEnv, pod_netns: NetnsFactory
) -> None:
    env, ns = cni_no_vhost, pod_netns()
    reply = env.client.add(
        add_request(netns=ns, namespace="demo", pod="web-1", addresses=["10.244.1.10/32"], mtu=1500)
    )
    assert reply.successful
    assert reply.error_message.startswith("warning: eth0: no /dev/vhost-net on this node")
    host = root_link(reply.host_interface_name)
    assert host is not None and (host.kind, host.mtu, host.up) == ("veth", 1450, True)
    eth0 = links(ns)["eth0"]
    assert (eth0.kind, eth0.mtu, eth0.mac) == ("veth", 1450, reply.container_mac)
    assert addresses(ns) == {"10.244.1.10/32"}
    (afp,) = env.conn.dump(af_packet.dump())
    assert afp.host_if_name == reply.host_interface_name
    (vpp_side,) = env.conn.dump(interfaces.dump(afp.sw_if_index))
    assert vpp_side.tag == "vppnet:pod/demo/web-1/eth0" and vpp_side.admin_up
    assert neighbours(ns) == {str(GATEWAY4): vpp_side.mac}
    assert ("0.0.0.0/0", str(GATEWAY4), "eth0") in routes(ns)
    assert env.conn.dump(tap.dump()) == []
    (pod,) = env.state.model.pod_interfaces.values()
    assert pod.interface_type is InterfaceType.VETH
    assert env.server.backend.warnings(pod.key) == (reply.error_message.removeprefix("warning: "),)
    saved = json.loads(Path(env.settings.state_file).read_text())
    assert saved["pods"][0]["warnings"] == [reply.error_message.removeprefix("warning: ")]

    assert env.client.delete(ns).successful
    assert root_link(reply.host_interface_name) is None and set(links(ns)) == {"lo"}
    assert env.conn.dump(af_packet.dump()) == [] and env.owned_tags() == set()


def test_veth_by_annotation_on_a_node_with_vhost_net(cni: CniEnv, pod_netns: NetnsFactory) -> None:
    ns = pod_netns()
    reply = cni.client.add(
        add_request(
            netns=ns,
            namespace="demo",
            pod="web-2",
            addresses=["10.244.1.40/32"],
            annotations={ann.INTERFACE_TYPE: "eth0=veth"},
        )
    )
    assert reply.successful and reply.error_message == ""
    assert root_link(reply.host_interface_name) is not None
    assert len(cni.conn.dump(af_packet.dump())) == 1 and cni.conn.dump(tap.dump()) == []
    again = cni.client.add(
        add_request(
            netns=ns,
            namespace="demo",
            pod="web-2",
            addresses=["10.244.1.40/32"],
            annotations={ann.INTERFACE_TYPE: "eth0=veth"},
        )
    )
    assert again == reply  # the existing pair is reused
    assert cni.client.delete(ns).successful and root_link(reply.host_interface_name) is None


def test_veth_by_config(tmp_path: Path, pod_netns: NetnsFactory) -> None:
    ns = pod_netns()
    with Simulator(tmp_path / "api.sock", devices="real") as sim:
        env = make_env(tmp_path, sim, vhost_net=True, default_interface_type="veth")
        try:
            reply = env.client.add(
                add_request(netns=ns, namespace="demo", pod="w", addresses=["10.244.1.41/32"])
            )
            assert reply.successful and reply.error_message == ""
            assert links(ns)["eth0"].kind == "veth"
            assert env.client.delete(ns).successful
        finally:
            env.stop()
