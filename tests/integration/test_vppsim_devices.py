"""tapv2, af_packet, memif and vxlan interfaces (recording simulator: no Linux devices)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from agent.vppsim import Simulator, netdev
from tests.integration.test_vppsim_fixtures import NO_INDEX, admin_up, connect, create_tap, sim, vpp

__all__ = ["sim", "vpp"]


def test_tap_ids_names_and_dump(vpp: Any, sim: Simulator) -> None:
    a = create_tap(vpp)
    b = create_tap(
        vpp,
        id=5,
        tap_flags=16,
        host_if_name_set=True,
        host_if_name="eth0",
        host_namespace_set=True,
        host_namespace="/run/netns/pod",
        host_mtu_set=True,
        host_mtu_size=1450,
        host_ip4_prefix_set=True,
        host_ip4_prefix="10.0.0.2/32",
        tx_ring_sz=512,
        rx_ring_sz=1024,
    )
    c = create_tap(vpp)
    names = {d.sw_if_index: d.interface_name for d in vpp.api.sw_interface_dump()}
    assert (names[a], names[b], names[c]) == ("tap0", "tun5", "tap1")
    assert vpp.api.tap_create_v3(id=5).retval == -71
    details = {d.sw_if_index: d for d in vpp.api.sw_interface_tap_v2_dump(sw_if_index=NO_INDEX)}
    assert set(details) == {a, b, c}
    d = details[b]
    assert (d.id, d.dev_name, d.host_if_name, d.host_namespace) == (
        5,
        "tun5",
        "eth0",
        "/run/netns/pod",
    )
    assert (d.host_mtu_size, str(d.host_ip4_prefix), int(d.tap_flags)) == (1450, "10.0.0.2/32", 16)
    assert (d.tx_ring_sz, d.rx_ring_sz) == (512, 1024)
    assert details[a].host_if_name == "tap0"
    assert str(details[a].host_mac_addr).startswith("02:fe:")
    assert [x.sw_if_index for x in vpp.api.sw_interface_tap_v2_dump(sw_if_index=c)] == [c]
    assert vpp.api.tap_delete_v2(sw_if_index=b).retval == 0
    assert vpp.api.tap_delete_v2(sw_if_index=b).retval == -2
    assert vpp.api.tap_delete_v2(sw_if_index=0).retval == -2
    assert b not in sim.state.taps and sim.state.interfaces.get(b) is None
    assert vpp.api.sw_interface_dump(sw_if_index=b) == []
    assert sim.real_devices is False


def test_tap_create_v2_and_mac(vpp: Any) -> None:
    r = vpp.api.tap_create_v2(use_random_mac=False, mac_address="02:00:00:00:00:09")
    assert r.retval == 0
    assert str(vpp.api.sw_interface_dump(sw_if_index=r.sw_if_index)[0].l2_address) == (
        "02:00:00:00:00:09"
    )


def test_no_vhost_net_fails_like_vpp(tmp_path: Path) -> None:
    with Simulator(tmp_path / "v.sock", devices="record", vhost_net=False) as s:
        client = connect(s)
        assert client.api.tap_create_v3(id=1).retval == -11
        assert client.api.tap_create_v2().retval == -11
        assert s.state.taps == {} and len(list(s.state.interfaces)) == 1
        assert s.mutations == 0
        client.disconnect()


def test_af_packet(vpp: Any) -> None:
    r = vpp.api.af_packet_create_v3(host_if_name="veth-a", use_random_hw_addr=True, mode=1)
    assert r.retval == 0
    (d,) = vpp.api.sw_interface_dump(sw_if_index=r.sw_if_index)
    assert (d.interface_name, d.interface_dev_type, int(d.flags)) == ("host-veth-a", "af_packet", 2)
    assert vpp.api.af_packet_create_v3(host_if_name="veth-a").retval == -79
    assert [(x.sw_if_index, x.host_if_name) for x in vpp.api.af_packet_dump()] == [
        (r.sw_if_index, "veth-a")
    ]
    assert vpp.api.af_packet_delete(host_if_name="veth-a").retval == 0
    assert vpp.api.af_packet_delete(host_if_name="veth-a").retval == -11
    assert vpp.api.af_packet_dump() == []


def test_memif(vpp: Any, sim: Simulator) -> None:
    sock = vpp.api.memif_socket_filename_add_del_v2
    assert sock(is_add=True, socket_id=0, socket_filename="/run/vpp/x.sock").retval == -73
    r = sock(is_add=True, socket_filename="/run/vpp/pod-a.sock")
    assert (r.retval, r.socket_id) == (0, 1)
    assert sock(is_add=True, socket_id=7, socket_filename="pod-b.sock").socket_id == 7
    assert sock(is_add=True, socket_id=7, socket_filename="pod-b.sock").retval == 0
    assert sock(is_add=True, socket_id=7, socket_filename="other.sock").retval == -116
    abstract = "abstract:vpp/memif-net1,netns_name=/var/run/netns/pod-c"
    assert sock(is_add=True, socket_id=8, socket_filename=abstract).retval == 0
    files = {d.socket_id: d.socket_filename for d in vpp.api.memif_socket_filename_dump()}
    assert files == {
        0: "/run/vpp/memif.sock",
        1: "/run/vpp/pod-a.sock",
        7: "/run/vpp/pod-b.sock",
        8: abstract,  # a typed socket name is kept as given, not put in the runtime dir
    }
    m = vpp.api.memif_create_v2(role=0, mode=1, id=3, socket_id=7, rx_queues=2, tx_queues=2)
    assert m.retval == 0
    assert vpp.api.memif_create_v2(role=0, id=3, socket_id=7).retval == -68
    assert vpp.api.memif_create_v2(role=0, id=1, socket_id=9).retval == -73
    (d,) = vpp.api.sw_interface_dump(sw_if_index=m.sw_if_index)
    assert (d.interface_name, d.interface_dev_type) == ("memif7/3", "memif")
    admin_up(vpp, m.sw_if_index)
    (md,) = vpp.api.memif_dump()
    assert (md.id, md.socket_id, md.if_name, md.ring_size, md.buffer_size) == (
        3,
        7,
        "memif7/3",
        1024,
        2048,
    )
    assert int(md.flags) == 1, "admin up, but no peer ever connects: no link"
    assert sock(is_add=False, socket_id=7).retval == -74
    assert vpp.api.memif_delete(sw_if_index=m.sw_if_index).retval == 0
    assert vpp.api.memif_delete(sw_if_index=m.sw_if_index).retval == -2
    assert sock(is_add=False, socket_id=7).retval == 0
    assert sock(is_add=False, socket_id=7).retval == -6


def test_vxlan(vpp: Any, sim: Simulator) -> None:
    args = {
        "src_address": "192.0.2.1",
        "dst_address": "192.0.2.2",
        "vni": 100,
        "decap_next_index": NO_INDEX,
    }
    r = vpp.api.vxlan_add_del_tunnel_v3(is_add=True, **args)
    assert r.retval == 0
    assert vpp.api.vxlan_add_del_tunnel_v3(is_add=True, **args).retval == -75
    r2 = vpp.api.vxlan_add_del_tunnel_v3(is_add=True, **{**args, "vni": 200}, instance=9)
    assert r2.retval == 0
    assert (
        vpp.api.vxlan_add_del_tunnel_v3(is_add=True, **{**args, "vni": 300}, instance=9).retval
        == -147
    )
    assert vpp.api.vxlan_add_del_tunnel_v3(**{**args, "encap_vrf_id": 5}).retval == -3
    names = {d.sw_if_index: d.interface_name for d in vpp.api.sw_interface_dump()}
    assert (names[r.sw_if_index], names[r2.sw_if_index]) == ("vxlan_tunnel0", "vxlan_tunnel9")
    tunnels = vpp.api.vxlan_tunnel_v2_dump(sw_if_index=NO_INDEX)
    assert [(t.vni, t.instance, t.src_port, t.dst_port) for t in tunnels] == [
        (100, 0, 4789, 4789),
        (200, 9, 4789, 4789),
    ]
    assert str(tunnels[0].dst_address) == "192.0.2.2"
    assert [t.vni for t in vpp.api.vxlan_tunnel_v2_dump(sw_if_index=r2.sw_if_index)] == [200]
    assert vpp.api.vxlan_tunnel_v2_dump(sw_if_index=0) == []
    d = vpp.api.vxlan_add_del_tunnel_v3(is_add=False, **args)
    assert (d.retval, d.sw_if_index) == (0, r.sw_if_index)
    assert vpp.api.vxlan_add_del_tunnel_v3(is_add=False, **args).retval == -6
    assert vpp.api.sw_interface_dump(sw_if_index=r.sw_if_index) == []


def test_device_modes_without_net_admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(netdev, "_has_net_admin", lambda: False)
    with pytest.raises(RuntimeError, match="CAP_NET_ADMIN"):
        Simulator(tmp_path / "r.sock", devices="real").start()
    with caplog.at_level(logging.WARNING), Simulator(tmp_path / "a.sock") as s:
        client = connect(s)
        assert client.api.tap_create_v3().retval == 0
        assert client.api.tap_create_v3().retval == 0
        client.disconnect()
        assert not s.real_devices
    warnings = [r for r in caplog.records if "recorded only" in r.getMessage()]
    assert len(warnings) == 1
