"""Bad clients on a raw socket: the server closes only their connection and keeps serving."""

from __future__ import annotations

import contextlib
import socket
import struct
from typing import Any

import pytest

from agent.vppsim import Simulator
from tests.integration.test_vppsim_fixtures import add_route, connect, sim, v4path, vpp

__all__ = ["sim", "vpp"]

HEADER = struct.Struct(">QII")


def raw(sim: Simulator) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(str(sim.socket_path))
    return s


def frame(payload: bytes) -> bytes:
    return HEADER.pack(0, len(payload), 0) + payload


def request(sim: Simulator, name: str, **fields: Any) -> bytes:
    return sim.schema.messages[name].encode({"client_index": 0, "context": 77, **fields})


def read_frame(s: socket.socket) -> bytes:
    def exact(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    _, length, _ = HEADER.unpack(exact(HEADER.size))
    return exact(length)


def assert_closed(s: socket.socket) -> None:
    with contextlib.suppress(ConnectionResetError):
        assert s.recv(1) == b""


def test_byte_by_byte_frame_is_served(sim: Simulator) -> None:
    s = raw(sim)
    for b in frame(request(sim, "show_version")):
        s.send(bytes([b]))
    reply = sim.schema.messages["show_version_reply"].decode(read_frame(s))
    assert (reply["context"], reply["retval"], reply["program"]) == (77, 0, "vpe")
    s.close()


def test_unknown_and_non_request_ids_are_ignored(sim: Simulator) -> None:
    s = raw(sim)
    s.sendall(frame(b"\xff\xf0" + b"\0" * 20))
    reply_id = sim.schema.messages["show_version_reply"].msg_id
    s.sendall(frame(reply_id.to_bytes(2, "big") + b"\0" * 8))
    s.sendall(frame(request(sim, "control_ping")))
    ping = sim.schema.messages["control_ping_reply"].decode(read_frame(s))
    assert ping["context"] == 77
    s.close()


@pytest.mark.parametrize(
    "junk",
    [
        pytest.param(HEADER.pack(0, 100 * 1024 * 1024, 0), id="huge-length"),
        pytest.param(frame(b"\x00"), id="no-message-id"),
        pytest.param(b"truncated", id="short-header-then-eof"),
    ],
)
def test_bad_frames_close_only_that_connection(sim: Simulator, vpp: Any, junk: bytes) -> None:
    add_route(vpp, "10.1.0.0/16", [v4path("192.0.2.1")])
    before = sim.mutations
    s = raw(sim)
    s.sendall(junk)
    if junk == b"truncated":
        s.shutdown(socket.SHUT_WR)
    assert_closed(s)
    s.close()
    assert vpp.api.show_version().retval == 0
    assert sim.mutations == before
    assert "10.1.0.0/16" in {str(d.route.prefix) for d in vpp.api.ip_route_dump(table={})}


def test_truncated_payload_changes_nothing(sim: Simulator, vpp: Any) -> None:
    route = {"table_id": 0, "prefix": "10.7.0.0/16", "n_paths": 1, "paths": [v4path("192.0.2.1")]}
    payload = request(sim, "ip_route_add_del", is_add=True, route=route)
    s = raw(sim)
    s.sendall(HEADER.pack(0, len(payload), 0) + payload[:40])
    s.close()
    s = raw(sim)
    cut = payload[:60]  # header says 60 bytes: a whole frame, but the message is cut short
    s.sendall(frame(cut))
    assert_closed(s)
    s.close()
    assert sim.mutations == 0
    assert vpp.api.show_version().retval == 0


def test_inconsistent_array_count_closes(sim: Simulator, vpp: Any) -> None:
    s = raw(sim)
    lied = bytearray(request(sim, "npol_ipset_add_del_members", set_id=0, is_add=True, members=[]))
    lied[15:19] = (1000).to_bytes(4, "big")  # len says 1000 members, none follow
    s.sendall(frame(bytes(lied)))
    assert_closed(s)
    s.close()
    assert vpp.api.show_version().retval == 0


def test_invalid_address_family_is_refused_not_fatal(sim: Simulator) -> None:
    payload = bytearray(
        request(
            sim, "sw_interface_add_del_address", sw_if_index=0, is_add=True, prefix="10.0.0.1/24"
        )
    )
    af_offset = 2 + 4 + 4 + 4 + 1 + 1
    payload[af_offset] = 7
    s = raw(sim)
    s.sendall(frame(bytes(payload)))
    reply = sim.schema.messages["sw_interface_add_del_address_reply"].decode(read_frame(s))
    assert (reply["context"], reply["retval"]) == (77, -7)
    s.sendall(frame(request(sim, "control_ping")))
    assert sim.schema.messages["control_ping_reply"].decode(read_frame(s))["retval"] == 0
    s.close()


def test_disconnect_mid_dump(sim: Simulator, vpp: Any) -> None:
    for i in range(300):
        add_route(vpp, f"10.{i // 256}.{i % 256}.0/24", [v4path("192.0.2.1")])
    for _ in range(5):
        s = raw(sim)
        s.sendall(frame(request(sim, "ip_route_dump", table={"table_id": 0})))
        s.sendall(frame(request(sim, "control_ping")))
        s.close()
    other = connect(sim)
    assert len(other.api.ip_route_dump(table={"table_id": 0})) == 305
    other.disconnect()
    assert vpp.api.show_version().retval == 0


def test_dump_then_ping_order_on_the_wire(sim: Simulator) -> None:
    s = raw(sim)
    s.sendall(frame(request(sim, "sw_interface_dump", sw_if_index=0xFFFFFFFF)))
    s.sendall(frame(request(sim, "control_ping")))
    first = read_frame(s)
    second = read_frame(s)
    ids = {m.msg_id: n for n, m in sim.schema.messages.items()}
    assert ids[int.from_bytes(first[:2], "big")] == "sw_interface_details"
    assert ids[int.from_bytes(second[:2], "big")] == "control_ping_reply"
    s.close()
