"""agent/vpp against the simulator through the real vpp-papi client: calls, dumps, errors."""

from __future__ import annotations

import ipaddress
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.apidefs import api_dir
from agent.vpp import (
    VppApiError,
    VppApiMismatchError,
    VppConnection,
    VppConnectionError,
    af_packet,
    cnat,
    interfaces,
    ip,
    memif,
    messages_of,
    nat44,
    npol,
    tap,
    vxlan,
)
from agent.vppsim import Simulator

IP = ipaddress.ip_address
NET = ipaddress.ip_network
IF = ipaddress.ip_interface

ALL_FEATURES = messages_of(interfaces, ip, tap, af_packet, memif, vxlan, cnat, nat44, npol)


def test_connect_reads_version_and_finds_every_message(sim: Simulator, sim_socket: Path) -> None:
    with VppConnection(sim_socket) as c:
        version = c.connect(check=ALL_FEATURES)
        assert version.version.startswith("26.06")
        assert c.connected and c.ping()


def _patched_api_dir(tmp_path: Path, module: str, edit: Any) -> Path:
    copy = tmp_path / "api"
    shutil.copytree(api_dir(), copy)
    path = copy / f"{module}.api.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    return copy


def test_a_changed_definition_is_named_with_both_crcs(
    sim: Simulator, sim_socket: Path, tmp_path: Path
) -> None:
    def change_crc(data: dict[str, Any]) -> None:
        for m in data["messages"]:
            if m[0] == "tap_create_v3":
                m[-1]["crc"] = "0x12345678"

    d = _patched_api_dir(tmp_path, "tapv2", change_crc)
    c = VppConnection(sim_socket, api_dir=d)
    with pytest.raises(VppApiMismatchError) as e:
        c.connect(check=["tap_create_v3", "sw_interface_dump"])
    assert e.value.problems == [
        "tap_create_v3: VPP has a different definition (CRC running=3f3fd1df, expected=12345678)"
    ]
    assert "VPP 26.06" in str(e.value) and not c.connected


def test_a_missing_message_names_the_plugin(
    sim: Simulator, sim_socket: Path, tmp_path: Path
) -> None:
    def add_message(data: dict[str, Any]) -> None:
        data["messages"].append(
            [
                "memif_fancy",
                ["u16", "_vl_msg_id"],
                ["u32", "client_index"],
                ["u32", "context"],
                {"crc": "0xdeadbeef"},
            ]
        )
        data["messages"].append(
            [
                "memif_fancy_reply",
                ["u16", "_vl_msg_id"],
                ["u32", "context"],
                ["i32", "retval"],
                {"crc": "0xfeedf00d"},
            ]
        )
        data["services"]["memif_fancy"] = {"reply": "memif_fancy_reply"}

    d = _patched_api_dir(tmp_path, "memif", add_message)
    with pytest.raises(VppApiMismatchError) as e:
        VppConnection(sim_socket, api_dir=d).connect(check=["memif_fancy"])
    assert e.value.problems == [
        "memif_fancy: not offered by VPP — is the memif plugin loaded?",
        "memif_fancy_reply: not offered by VPP — is the memif plugin loaded?",
    ]


def test_errors_carry_message_retval_and_vpp_name(conn: VppConnection) -> None:
    with pytest.raises(VppApiError) as e:
        conn.call(interfaces.set_admin(999, True, what="interface x"))
    assert (e.value.message, e.value.retval, e.value.error_name) == (
        "sw_interface_set_flags",
        -2,
        "INVALID_SW_IF_INDEX",
    )
    assert "interface x" in str(e.value)
    with pytest.raises(VppApiError, match="NO_SUCH_FIB"):
        conn.call(ip.add_route(42, NET("10.0.0.0/8"), (ip.Path(type=ip.PathType.DROP),)))


def test_interface_settings_are_visible_in_dumps(conn: VppConnection) -> None:
    idx = conn.call(
        tap.create(
            tap.TapCreate(
                tun=True, host_if_name="eth0", host_namespace="/var/run/netns/x", tag="t1"
            )
        )
    )
    conn.call(ip.add_table(10, False, "ten"))
    conn.call(interfaces.set_table(idx, 10, False))
    conn.call(interfaces.set_mtu(idx, l3=1400))
    conn.call(interfaces.set_admin(idx, True))
    conn.call(interfaces.add_address(idx, IF("10.9.0.1/24")))
    conn.call(interfaces.set_rx_mode(idx, interfaces.RxMode.POLLING))
    [d] = conn.dump(interfaces.dump(idx))
    assert (d.name, d.tag, d.admin_up, d.mtu[0], d.dev_type) == ("tun0", "t1", True, 1400, "virtio")
    assert [a.prefix for a in conn.dump(interfaces.dump_addresses(idx, False))] == [
        IF("10.9.0.1/24")
    ]
    routes = {r.prefix: r for r in conn.dump(ip.dump_routes(10, False))}
    assert routes[NET("10.9.0.0/24")].paths[0].sw_if_index == idx  # connected
    assert routes[NET("10.9.0.1/32")].paths[0].type == ip.PathType.LOCAL
    with pytest.raises(VppApiError, match="ADDRESS_FOUND_FOR_INTERFACE"):
        conn.call(interfaces.set_table(idx, 0, False))
    [t] = conn.dump(tap.dump(idx))
    assert (t.host_if_name, t.host_namespace, t.tun) == ("eth0", "/var/run/netns/x", True)


def test_routes_with_several_paths(conn: VppConnection) -> None:
    paths = (ip.Path(nh=IP("192.168.0.2"), weight=2), ip.Path(nh=IP("192.168.0.3")))
    conn.call(ip.add_route(0, NET("10.1.0.0/24"), paths))
    [r] = [r for r in conn.dump(ip.dump_routes(0, False)) if r.prefix == NET("10.1.0.0/24")]
    assert sorted((str(p.nh), p.weight) for p in r.paths) == [
        ("192.168.0.2", 2),
        ("192.168.0.3", 1),
    ]
    conn.call(ip.del_route(0, NET("10.1.0.0/24")))
    assert NET("10.1.0.0/24") not in {r.prefix for r in conn.dump(ip.dump_routes(0, False))}


def test_every_feature_creates_what_its_dump_shows(conn: VppConnection) -> None:
    afp = conn.call(af_packet.create(af_packet.AfPacketCreate("lo")))
    assert [(a.sw_if_index, a.host_if_name) for a in conn.dump(af_packet.dump())] == [(afp, "lo")]
    sock = conn.call(memif.add_socket("/run/vpp/memif-test.sock"))
    mif = conn.call(memif.create(memif.MemifCreate(socket_id=sock, memif_id=3, ring_size=2048)))
    [m] = conn.dump(memif.dump())
    assert (m.sw_if_index, m.socket_id, m.memif_id, m.ring_size) == (mif, sock, 3, 2048)
    assert (sock, "/run/vpp/memif-test.sock") in {
        (s.socket_id, s.path) for s in conn.dump(memif.dump_sockets())
    }
    tunnel = vxlan.VxlanTunnel(IP("192.168.0.1"), IP("192.168.0.2"), 4001)
    vx = conn.call(vxlan.add_tunnel(tunnel))
    [v] = conn.dump(vxlan.dump())
    assert (v.sw_if_index, v.tunnel.vni, v.tunnel.dst) == (vx, 4001, IP("192.168.0.2"))
    with pytest.raises(VppApiError, match="TUNNEL_EXIST"):
        conn.call(vxlan.add_tunnel(tunnel))
    conn.call(vxlan.del_tunnel(tunnel))
    t = cnat.Translation(
        cnat.Endpoint(IP("10.96.0.1"), 80),
        cnat.IpProto.TCP,
        (cnat.Backend(cnat.Endpoint(IP("10.1.0.5"), 8080)),),
        lb_type=cnat.LbType.MAGLEV,
    )
    tid = conn.call(cnat.update(t))
    assert conn.call(cnat.update(t)) == tid  # same vip+port+proto, same handle
    [d] = conn.dump(cnat.dump())
    assert (d.translation_id, d.vip, d.lb_type, d.backends[0].dst) == (
        tid,
        t.vip,
        cnat.LbType.MAGLEV,
        cnat.Endpoint(IP("10.1.0.5"), 8080),
    )
    conn.call(cnat.delete(tid))
    with pytest.raises(VppApiError, match="NO_SUCH_ENTRY"):
        conn.call(cnat.delete(tid))
    conn.call(nat44.enable(nat44.Nat44Config()))
    conn.call(nat44.interface_feature(afp, inside=False, is_add=True))
    [n] = conn.dump(nat44.dump_interfaces())
    assert n.sw_if_index == afp and n.outside
    conn.call(ip.add_neighbor(afp, IP("192.168.0.9"), "02:00:00:00:00:09"))
    assert [(x.ip, x.mac) for x in conn.dump(ip.dump_neighbors(False))] == [
        (IP("192.168.0.9"), "02:00:00:00:00:09")
    ]
    set_id = conn.call(npol.create_ipset(npol.IpsetType.IP))
    conn.call(npol.ipset_members(set_id, (npol.Member(address=IP("10.0.0.1")),), True))
    assert conn.call(npol.get_version())[0] >= 0


def test_pipelined_requests_keep_order_and_per_request_errors(conn: VppConnection) -> None:
    reqs = [
        ip.add_route(0, NET(f"10.{i // 256}.{i % 256}.0/24"), (ip.Path(nh=IP("192.168.0.2")),))
        for i in range(300)
    ]
    reqs[150] = ip.add_route(77, NET("10.200.0.0/24"), (ip.Path(type=ip.PathType.DROP),))
    results = conn.pipeline(reqs)
    assert isinstance(results[150], VppApiError) and results[150].retval == -3
    assert all(isinstance(r, int) for i, r in enumerate(results) if i != 150)
    prefixes = {r.prefix for r in conn.dump(ip.dump_routes(0, False))}
    assert NET("10.0.149.0/24") in prefixes and NET("10.1.43.0/24") in prefixes


def test_a_lost_connection_is_reported_then_recovered(sim: Simulator, conn: VppConnection) -> None:
    sim.drop_clients()
    start = time.monotonic()
    with pytest.raises(VppConnectionError, match="VPP connection lost"):
        conn.call(interfaces.set_admin(0, True))
    with pytest.raises(VppConnectionError):
        conn.dump(interfaces.dump())  # fails fast once broken
    assert time.monotonic() - start < 2.5
    conn.reconnect()
    assert conn.dump(interfaces.dump())[0].name == "local0"


@pytest.fixture
def silent_server(tmp_path: Path) -> Iterator[Path]:
    """A socket that accepts and never answers: a hung VPP."""
    path = tmp_path / "hung.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    conns: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                c, _ = server.accept()
            except OSError:
                return
            conns.append(c)

    threading.Thread(target=accept, daemon=True).start()
    yield path
    server.close()
    for c in conns:
        c.close()


def test_a_hung_vpp_is_detected_not_waited_on(silent_server: Path) -> None:
    start = time.monotonic()
    with pytest.raises(VppConnectionError, match="cannot connect to VPP"):
        VppConnection(silent_server, timeout=0.5).connect()
    assert time.monotonic() - start < 3


def test_a_missing_socket_is_waited_for_then_reported(tmp_path: Path) -> None:
    start = time.monotonic()
    with pytest.raises(VppConnectionError, match="does not exist"):
        VppConnection(tmp_path / "none.sock").connect(wait=0.3)
    assert 0.25 < time.monotonic() - start < 2


def test_interface_events_reach_the_subscriber(conn: VppConnection) -> None:
    got: list[interfaces.InterfaceEvent] = []
    admin_up = threading.Event()

    def on_event(_name: str, msg: Any) -> None:
        event = interfaces.interface_event(msg)
        got.append(event)
        if event.admin_up:
            admin_up.set()

    conn.subscribe_interface_events(on_event)
    idx = conn.call(tap.create(tap.TapCreate()))
    conn.call(interfaces.set_admin(idx, True))
    assert admin_up.wait(2), got
    assert [e.sw_if_index for e in got if e.admin_up] == [idx]
