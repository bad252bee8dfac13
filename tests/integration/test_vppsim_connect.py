"""Handshake, message table, memclnt/vpe calls and the simulator's own controls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.apidefs import api_files
from agent.vppsim import Simulator
from agent.vppsim.handlers import REGISTRY
from tests.integration.test_vppsim_fixtures import add_route, connect, sim, v4path, vpp

__all__ = ["sim", "vpp"]


def _shipped_name_crcs() -> list[str]:
    out = []
    for path in api_files():
        for m in json.loads(path.read_text())["messages"]:
            out.append(f"{m[0]}_{m[-1]['crc'][2:]}")
    return out


def test_connect_show_version_disconnect(sim: Simulator) -> None:
    client = connect(sim)
    r = client.api.show_version()
    assert (r.retval, r.program, r.version) == (0, "vpe", "26.06-release")
    assert r.build_date
    client.disconnect()
    assert sim.calls["sockclnt_create"] == 1
    assert sim.calls["sockclnt_delete"] == 1


def test_version_is_configurable(tmp_path: Any) -> None:
    with Simulator(tmp_path / "s.sock", devices="record", version="26.02-rc1") as s:
        client = connect(s)
        assert client.api.show_version().version == "26.02-rc1"
        client.disconnect()


def test_message_table_announces_every_shipped_message(vpp: Any) -> None:
    names = _shipped_name_crcs()
    assert vpp.validate_message_table(names) == []
    table = vpp.dump_message_table()
    assert table["sockclnt_create_455fb9c4"] == 15
    assert table["sockclnt_create_reply_35166268"] == 16
    assert table["control_ping_51077d14"] == 23
    assert table["control_ping_reply_f6b0b8ca"] == 24
    assert (
        min(
            v
            for k, v in table.items()
            if not k.startswith(("sock", "control", "memclnt", "get_first", "api_versions"))
        )
        == 29
    )
    assert len(set(table.values())) == len(table)


def test_every_request_has_a_handler(sim: Simulator) -> None:
    assert sorted(n for n in sim.schema.services if n not in REGISTRY) == []


def test_client_index_and_control_ping(vpp: Any, sim: Simulator) -> None:
    index = vpp.transport.socket_index
    assert index & 0x80000000
    r = vpp.api.control_ping()
    assert (r.retval, r.client_index, r.vpe_pid) == (0, index, __import__("os").getpid())
    assert vpp.api.memclnt_keepalive().retval == 0


def test_get_first_msg_id_and_api_versions(vpp: Any, sim: Simulator) -> None:
    ip = sim.schema.modules["ip"]
    r = vpp.api.get_first_msg_id(name=f"ip_{ip.crc[2:]}")
    assert (r.retval, r.first_msg_id) == (0, ip.first_id)
    assert (
        r.first_msg_id
        == vpp.dump_message_table()[
            f"ip_table_add_del_{sim.schema.messages['ip_table_add_del'].crc[2:]}"
        ]
    )
    bad = vpp.api.get_first_msg_id(name="nosuchplugin_12345678")
    assert (bad.retval, bad.first_msg_id) == (-1, 0xFFFF)
    versions = {v.name: (v.major, v.minor, v.patch) for v in vpp.api.api_versions().api_versions}
    assert versions["interface"] == (3, 2, 4)
    assert versions["npol"] == (0, 1, 0)


def test_sockclnt_delete_answers_one_then_closes(sim: Simulator) -> None:
    client = connect(sim)
    r = client.api.sockclnt_delete(index=client.transport.socket_index)
    assert r.response == 1
    with pytest.raises(OSError):
        client.api.show_version(_timeout=1)
    client.transport.connected = False
    bad = connect(sim)
    assert bad.api.sockclnt_delete(index=0x80001234).response == -1
    bad.disconnect()


def test_mutations_and_calls_counters(vpp: Any, sim: Simulator) -> None:
    vpp.api.show_version()
    vpp.api.sw_interface_dump()
    vpp.api.control_ping()
    assert sim.mutations == 0
    add_route(vpp, "10.9.0.0/16", [v4path("192.0.2.1")])
    assert sim.mutations == 1
    assert add_route(vpp, "10.9.0.0/16", [v4path()], table_id=77).retval == -3
    assert sim.mutations == 1, "a failed request is not a mutation"
    assert sim.calls["ip_route_add_del"] == 2
    assert sim.calls["sw_interface_dump"] == 1
    assert sim.calls["control_ping"] >= 2  # the dump's ping and ours


def test_inject_error_fails_the_next_calls_and_changes_nothing(vpp: Any, sim: Simulator) -> None:
    sim.inject_error("ip_table_add_del", -1, count=2)
    for _ in range(2):
        r = vpp.api.ip_table_add_del(is_add=True, table={"table_id": 5})
        assert r.retval == -1
    assert sim.state.fib.table(False, 5) is None
    assert sim.mutations == 0
    assert vpp.api.ip_table_add_del(is_add=True, table={"table_id": 5}).retval == 0
    assert sim.state.fib.table(False, 5) is not None
    sim.inject_error("sw_interface_dump", -1)
    assert vpp.api.sw_interface_dump() == []
    assert len(vpp.api.sw_interface_dump()) == 1
    with pytest.raises(ValueError):
        sim.inject_error("no_such_message", -1)


def test_drop_clients_gives_read_failure_and_server_keeps_serving(vpp: Any, sim: Simulator) -> None:
    assert vpp.api.show_version().retval == 0
    sim.drop_clients()
    with pytest.raises(OSError):
        vpp.api.show_version(_timeout=2)
    vpp.transport.connected = False
    again = connect(sim)
    assert again.api.show_version().retval == 0
    again.disconnect()


def test_reset_returns_to_a_fresh_vpp(vpp: Any, sim: Simulator) -> None:
    vpp.api.ip_table_add_del(is_add=True, table={"table_id": 3})
    r = vpp.api.tap_create_v3(id=3)
    assert r.retval == 0
    sim.reset()
    assert sim.mutations == 0 and not sim.calls
    assert [i.name for i in sim.state.interfaces] == ["local0"]
    assert sorted(sim.state.fib.tables) == [(False, 0), (True, 0)]
    assert [d.interface_name for d in vpp.api.sw_interface_dump()] == ["local0"]
    assert vpp.api.tap_create_v3(id=3).retval == 0  # the id is free again


def test_two_clients_share_one_state(sim: Simulator) -> None:
    a, b = connect(sim, "a"), connect(sim, "b")
    assert a.transport.socket_index != b.transport.socket_index
    add_route(a, "10.1.0.0/16", [v4path("192.0.2.1")])
    dumped = b.api.ip_route_dump(table={"table_id": 0, "is_ip6": False})
    assert "10.1.0.0/16" in {str(d.route.prefix) for d in dumped}
    a.disconnect()
    b.disconnect()


def test_stop_removes_the_socket(tmp_path: Any) -> None:
    path = tmp_path / "x.sock"
    s = Simulator(path, devices="record")
    s.start()
    assert path.exists()
    client = connect(s)
    s.stop()
    assert not path.exists()
    with pytest.raises(OSError):
        client.api.show_version(_timeout=1)
    client.transport.connected = False


def test_socket_mode(tmp_path: Any) -> None:
    path = tmp_path / "m.sock"
    with Simulator(path, devices="record", socket_mode=0o660):
        assert path.stat().st_mode & 0o777 == 0o660
