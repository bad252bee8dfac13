"""CNI ADD and DEL over the real gRPC protocol: real tun/tap devices in real pod
namespaces, VPP state read back through dumps."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import socket
import stat
from pathlib import Path

import pytest
from pyroute2 import netns

from agent.cni import CniServer, ServerThread, add_request
from agent.cni import annotations as ann
from agent.cni.podside import GATEWAY4, GATEWAY6, TUN_MAC
from agent.model import PodInterfaceKey
from agent.vpp import interfaces, ip, tap
from tests.integration.cni_fixtures import (
    CniEnv,
    NetnsFactory,
    addresses,
    cni,
    links,
    neighbours,
    pod_netns,
    routes,
)

__all__ = ["cni", "pod_netns"]

pytestmark = pytest.mark.root
NET = ipaddress.ip_network
KEY = PodInterfaceKey("demo", "web-1", "eth0")


def vpp_routes(env: CniEnv, table: int = 0) -> dict[str, list[str]]:
    out = {}
    for ip6 in (False, True):
        for r in env.conn.dump(ip.dump_routes(table, ip6)):
            out[str(r.prefix)] = [str(p.nh) if p.nh else "" for p in r.paths]
    return out


def test_add_tun_makes_the_device_routes_and_vpp_side(cni: CniEnv, pod_netns: NetnsFactory) -> None:
    ns = pod_netns()
    reply = cni.client.add(
        add_request(
            netns=ns,
            namespace="demo",
            pod="web-1",
            addresses=["10.244.1.10/32", "fd00:10:244:1::a/128"],
            mtu=1500,
            desired_host_interface_name="cali0123456789a",
        )
    )
    assert reply.successful and reply.error_message == ""
    assert (reply.host_interface_name, reply.container_mac) == ("cali0123456789a", TUN_MAC)
    eth0 = links(ns)["eth0"]
    assert (eth0.kind, eth0.mtu, eth0.up) == ("tun", 1450, True)
    assert addresses(ns) == {"10.244.1.10/32", "fd00:10:244:1::a/128"}
    assert routes(ns) == {("0.0.0.0/0", None, "eth0"), ("::/0", None, "eth0")}
    (t,) = cni.conn.dump(tap.dump())
    assert (t.host_if_name, t.host_namespace, t.tun, t.host_mtu) == ("eth0", ns, True, 1450)
    assert t.flags & tap.TapFlags.GSO and t.flags & tap.TapFlags.CSUM_OFFLOAD  # fast by default
    assert (t.rx_ring_size, t.tx_ring_size) == (1024, 1024)
    assert cni.sim.state.taps[t.sw_if_index].num_rx_queues == 1
    (details,) = cni.conn.dump(interfaces.dump(t.sw_if_index))
    assert details.tag == "vppnet:pod/demo/web-1/eth0" and details.admin_up
    assert details.mtu[0] == 1450
    fib = vpp_routes(cni)
    assert "10.244.1.10/32" in fib and "fd00:10:244:1::a/128" in fib
    assert cni.state.model.pod_interfaces[KEY].host_interface_name == "cali0123456789a"
    saved = json.loads(Path(cni.settings.state_file).read_text())
    assert [p["pod"]["key"] for p in saved["pods"]] == [
        {"namespace": "demo", "pod": "web-1", "interface": "eth0"}
    ]


def test_add_tap_routes_through_the_link_local_gateway(
    cni: CniEnv, pod_netns: NetnsFactory
) -> None:
    ns = pod_netns()
    spec = {"eth0": {"isl3": False}}
    reply = cni.client.add(
        add_request(
            netns=ns,
            namespace="demo",
            pod="dpdk-1",
            addresses=["10.244.1.12/32", "fd00:10:244:1::c/128"],
            annotations={ann.INTERFACES_SPEC: json.dumps(spec)},
        )
    )
    assert reply.successful, reply.error_message
    eth0 = links(ns)["eth0"]
    assert eth0.kind == "tun" and eth0.mac == reply.container_mac != TUN_MAC  # a tap device
    (t,) = cni.conn.dump(tap.dump())
    assert not t.tun
    (vpp_side,) = cni.conn.dump(interfaces.dump(t.sw_if_index))
    assert neighbours(ns) == {str(GATEWAY4): vpp_side.mac, str(GATEWAY6): vpp_side.mac}
    assert routes(ns) == {
        (f"{GATEWAY4}/32", None, "eth0"),
        ("0.0.0.0/0", str(GATEWAY4), "eth0"),
        ("::/0", str(GATEWAY6), "eth0"),
    }
    assert vpp_routes(cni)["10.244.1.12/32"] == ["10.244.1.12"]  # next hop: resolve the pod's MAC


def test_del_removes_everything_and_repeats_succeed(cni: CniEnv, pod_netns: NetnsFactory) -> None:
    ns = pod_netns()
    req = add_request(netns=ns, namespace="demo", pod="web-1", addresses=["10.244.1.10/32"])
    assert cni.client.add(req).successful
    assert cni.client.delete(ns, "eth0").successful
    assert set(links(ns)) == {"lo"} and routes(ns) == set()
    assert cni.owned_tags() == set() and cni.conn.dump(tap.dump()) == []
    assert "10.244.1.10/32" not in vpp_routes(cni)
    assert cni.state.model.pod_interfaces == {}
    assert json.loads(Path(cni.settings.state_file).read_text())["pods"] == []
    again = cni.client.delete(ns, "eth0")
    assert again.successful and again.error_message == ""
    assert cni.client.delete("/var/run/netns/never-existed", "eth0").successful
    assert cni.client.delete("", "eth0").successful  # calico-vpp: empty netns, nothing to do


def test_add_twice_is_idempotent(cni: CniEnv, pod_netns: NetnsFactory) -> None:
    ns = pod_netns()
    req = add_request(netns=ns, namespace="demo", pod="web-1", addresses=["10.244.1.10/32"])
    first = cni.client.add(req)
    mutations = cni.sim.mutations
    second = cni.client.add(req)
    assert first == second and first.successful
    assert cni.sim.mutations == mutations  # nothing to do in VPP
    assert len(cni.conn.dump(tap.dump())) == 1 and set(links(ns)) == {"lo", "eth0"}
    assert routes(ns) == {("0.0.0.0/0", None, "eth0")}


def test_pods_of_a_secondary_network_land_in_its_vrf(cni: CniEnv, pod_netns: NetnsFactory) -> None:
    ns = pod_netns()
    assert cni.client.add(
        add_request(netns=ns, namespace="demo", pod="r-1", addresses=["10.244.1.11/32"])
    ).successful
    reply = cni.client.add(
        add_request(
            netns=ns,
            namespace="demo",
            pod="r-1",
            interface="net1",
            network="blue",
            addresses=["172.19.1.11/16"],
        )
    )
    assert reply.successful, reply.error_message
    assert set(links(ns)) == {"lo", "eth0", "net1"}
    assert ("172.19.0.0/16", None, "net1") in routes(ns)
    assert ("0.0.0.0/0", None, "eth0") in routes(ns)
    assert "172.19.1.11/32" in vpp_routes(cni, 4001)
    assert cni.client.delete(ns, "net1").successful
    assert set(links(ns)) == {"lo", "eth0"}


def test_the_socket_is_private_and_a_stale_one_is_replaced(cni: CniEnv) -> None:
    path = cni.settings.socket
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and stat.S_ISSOCK(os.stat(path).st_mode)
    cni.restart()  # the previous server removed its socket; a new one binds again
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_recreated_pod_replaces_its_stale_interface(cni: CniEnv, pod_netns: NetnsFactory) -> None:
    old, new = pod_netns(), pod_netns()
    req = add_request(netns=old, namespace="demo", pod="web-1", addresses=["10.244.1.10/32"])
    assert cni.client.add(req).successful
    moved = add_request(netns=new, namespace="demo", pod="web-1", addresses=["10.244.1.10/32"])
    refused = cni.client.add(moved)  # the old sandbox is still there: a real duplicate
    assert not refused.successful and "already exists with different settings" in (
        refused.error_message
    )
    netns.remove(old.rsplit("/", 1)[1])  # the old sandbox is gone, its DEL never came
    assert cni.client.add(moved).successful
    (t,) = cni.conn.dump(tap.dump())
    assert t.host_namespace == new and cni.state.model.pod_interfaces[KEY].netns == new
    assert set(links(new)) == {"lo", "eth0"}


def test_a_socket_path_that_is_not_a_socket_is_refused(cni: CniEnv, tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a socket")
    settings = cni.settings.model_copy(update={"socket": str(taken)})
    server = CniServer(cni.state, cni.dataplane, settings, vhost_net=True)
    with pytest.raises(FileExistsError, match="exists and is not a socket"):
        ServerThread(server).start()
    assert taken.read_text() == "not a socket"


def test_a_server_cancelled_while_starting_lets_go_of_its_socket(
    cni: CniEnv, tmp_path: Path
) -> None:
    """An agent torn down during start-up (its task cancelled inside grpc's start, the
    loop closed right after) must not leave a server bound to the socket that nothing
    will ever stop: the next agent could not bind, and the orphan would try to stop
    itself, once garbage, on a loop that is gone."""
    path = tmp_path / "starting.sock"
    settings = cni.settings.model_copy(update={"socket": str(path)})
    server = CniServer(cni.state, cni.dataplane, settings, vhost_net=True)

    async def cancel_mid_start() -> None:
        task = asyncio.create_task(server.start())
        await asyncio.sleep(0)  # the task now waits inside grpc for its serving loop
        assert path.exists() and not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # closed by the time the cancelled start returns: the loop may end right here
        assert not path.exists()
        with socket.socket(socket.AF_UNIX) as probe, pytest.raises(OSError):
            probe.connect(str(path))

    asyncio.run(cancel_mid_start())
    thread = ServerThread(server)  # the same object serves again afterwards
    thread.start()
    try:
        assert stat.S_ISSOCK(os.stat(path).st_mode)
    finally:
        thread.stop()
