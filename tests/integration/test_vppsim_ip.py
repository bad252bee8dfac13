"""ip.api and ip_neighbor.api: tables, routes (with VPP's own FIB entries), neighbours, punt."""

from __future__ import annotations

from typing import Any

from agent.vppsim import Simulator
from tests.integration.test_vppsim_fixtures import (
    NO_INDEX,
    add_route,
    admin_up,
    create_tap,
    routes,
    sim,
    v4path,
    v6path,
    vpp,
)

__all__ = ["sim", "vpp"]

V4_SPECIALS = {"0.0.0.0/0", "0.0.0.0/32", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32"}


def _types(route: Any) -> list[int]:
    return [int(p.type) for p in route.paths]


def test_tables_add_is_idempotent_delete_is_silent(vpp: Any, sim: Simulator) -> None:
    add = vpp.api.ip_table_add_del
    assert add(is_add=True, table={"table_id": 5}).retval == 0
    assert add(is_add=True, table={"table_id": 5, "name": "other"}).retval == 0
    assert add(is_add=True, table={"table_id": 6, "is_ip6": True, "name": "net-b"}).retval == 0
    assert vpp.api.ip_table_add_del_v2(table={"table_id": 7}).retval == 0
    tables = {(t.table.is_ip6, t.table.table_id): t.table.name for t in vpp.api.ip_table_dump()}
    assert tables == {
        (False, 0): "ipv4-VRF:0",
        (True, 0): "ipv6-VRF:0",
        (False, 5): "ipv4-VRF:5",
        (True, 6): "net-b",
        (False, 7): "ipv4-VRF:7",
    }
    assert add(is_add=False, table={"table_id": 99}).retval == 0
    assert add(is_add=False, table={"table_id": 0}).retval == 0
    assert sim.state.fib.table(False, 0) is not None
    assert add(is_add=False, table={"table_id": 5}).retval == 0
    assert vpp.api.ip_table_add_del_v2(is_add=False, table={"table_id": 7}).retval == 0
    assert {t.table.table_id for t in vpp.api.ip_table_dump()} == {0, 6}


def test_new_table_has_vpps_special_entries(vpp: Any) -> None:
    vpp.api.ip_table_add_del(is_add=True, table={"table_id": 3})
    v4 = routes(vpp, 3)
    assert set(v4) == V4_SPECIALS
    assert all(_types(r) == [2] for r in v4.values())
    assert all(r.table_id == 3 for r in v4.values())
    v6 = routes(vpp, 0, is_ip6=True)
    assert {p: _types(r) for p, r in v6.items()} == {"::/0": [2], "fe80::/10": [1]}
    assert routes(vpp, 42) == {}, "an unknown table dumps nothing"


def test_route_replace_multipath_and_delete(vpp: Any) -> None:
    r = add_route(vpp, "10.1.0.0/16", [v4path("192.0.2.1")])
    assert r.retval == 0
    handle = r.stats_index
    assert add_route(vpp, "10.1.0.0/16", [v4path("192.0.2.2")]).stats_index == handle
    route = routes(vpp)["10.1.0.0/16"]
    assert [str(p.nh.address.ip4) for p in route.paths] == ["192.0.2.2"], "replaced"
    assert route.stats_index == handle
    add_route(vpp, "10.1.0.0/16", [v4path("192.0.2.3")], is_multipath=True)
    add_route(vpp, "10.1.0.0/16", [v4path("192.0.2.3", weight=5)], is_multipath=True)
    route = routes(vpp)["10.1.0.0/16"]
    assert [(str(p.nh.address.ip4), p.weight) for p in route.paths] == [
        ("192.0.2.2", 1),
        ("192.0.2.3", 5),
    ]
    add_route(vpp, "10.1.0.0/16", [v4path("192.0.2.2")], is_add=False, is_multipath=True)
    assert len(routes(vpp)["10.1.0.0/16"].paths) == 1
    add_route(vpp, "10.1.0.0/16", [v4path("192.0.2.3")], is_add=False, is_multipath=True)
    assert "10.1.0.0/16" not in routes(vpp), "last path removed -> route gone"
    assert add_route(vpp, "10.2.0.0/16", [], is_add=False).retval == 0, "missing route: silent"
    assert add_route(vpp, "10.2.0.0/16", []).retval == -52
    assert add_route(vpp, "10.2.0.0/16", [], is_multipath=True).retval == -52


def test_route_errors(vpp: Any) -> None:
    assert add_route(vpp, "10.1.0.0/16", [v4path("192.0.2.1")], table_id=9).retval == -3
    assert add_route(vpp, "10.1.0.0/16", [v4path("192.0.2.1", sw_if_index=44)]).retval == -2
    via_table = v4path(table_id=8)
    assert add_route(vpp, "10.1.0.0/16", [via_table]).retval == -3
    vpp.api.ip_table_add_del(is_add=True, table={"table_id": 8})
    assert add_route(vpp, "10.1.0.0/16", [via_table]).retval == 0


def test_route_prefix_is_normalised_and_ipv6(vpp: Any) -> None:
    add_route(vpp, "10.3.3.3/16", [v4path("192.0.2.1")])
    assert "10.3.0.0/16" in routes(vpp)
    add_route(vpp, "fd00:1::/64", [v6path("fd00::1")])
    r6 = routes(vpp, is_ip6=True)["fd00:1::/64"]
    assert str(r6.paths[0].nh.address.ip6) == "fd00::1"
    assert int(r6.paths[0].proto) == 1


def test_interface_routes_appear_when_admin_up(vpp: Any) -> None:
    sw = create_tap(vpp)
    vpp.api.sw_interface_add_del_address(sw_if_index=sw, is_add=True, prefix="10.0.0.1/24")
    vpp.api.sw_interface_add_del_address(sw_if_index=sw, is_add=True, prefix="fd00::1/64")
    assert set(routes(vpp)) == V4_SPECIALS, "interface routes exist only while admin up"
    admin_up(vpp, sw)
    v4 = routes(vpp)
    assert set(v4) - V4_SPECIALS == {"10.0.0.0/24", "10.0.0.0/32", "10.0.0.1/32", "10.0.0.255/32"}
    assert (_types(v4["10.0.0.0/24"]), v4["10.0.0.0/24"].paths[0].sw_if_index) == ([0], sw)
    assert (_types(v4["10.0.0.1/32"]), v4["10.0.0.1/32"].paths[0].sw_if_index) == ([1], sw)
    assert _types(v4["10.0.0.255/32"]) == [2]
    v6 = routes(vpp, is_ip6=True)
    assert _types(v6["fd00::/64"]) == [0]
    assert _types(v6["fd00::1/128"]) == [1]
    vpp.api.sw_interface_set_flags(sw_if_index=sw, flags=0)
    assert set(routes(vpp)) == V4_SPECIALS


def test_point_to_point_addresses(vpp: Any) -> None:
    sw = create_tap(vpp)
    admin_up(vpp, sw)
    vpp.api.sw_interface_add_del_address(sw_if_index=sw, is_add=True, prefix="10.8.0.0/31")
    vpp.api.sw_interface_add_del_address(sw_if_index=sw, is_add=True, prefix="10.9.0.1/32")
    v4 = routes(vpp)
    assert set(v4) - V4_SPECIALS == {"10.8.0.0/32", "10.8.0.1/32", "10.9.0.1/32"}
    assert _types(v4["10.8.0.1/32"]) == [0]


def test_interface_routes_follow_the_vrf(vpp: Any) -> None:
    vpp.api.ip_table_add_del(is_add=True, table={"table_id": 4})
    sw = create_tap(vpp)
    vpp.api.sw_interface_set_table(sw_if_index=sw, is_ipv6=False, vrf_id=4)
    vpp.api.sw_interface_add_del_address(sw_if_index=sw, is_add=True, prefix="10.0.0.1/24")
    admin_up(vpp, sw)
    assert "10.0.0.0/24" in routes(vpp, 4)
    assert "10.0.0.0/24" not in routes(vpp, 0)


def test_api_route_priority_against_vpps_own_entries(vpp: Any) -> None:
    """The API beats the default route; interface and special entries beat the API."""
    sw = create_tap(vpp)
    admin_up(vpp, sw)
    vpp.api.sw_interface_add_del_address(sw_if_index=sw, is_add=True, prefix="10.0.0.1/24")
    add_route(vpp, "0.0.0.0/0", [v4path("10.0.0.254", sw_if_index=sw)])
    add_route(vpp, "10.0.0.0/24", [v4path("10.0.0.9", sw_if_index=sw)])
    add_route(vpp, "224.0.0.0/4", [v4path("10.0.0.9", sw_if_index=sw)])
    v4 = routes(vpp)
    assert str(v4["0.0.0.0/0"].paths[0].nh.address.ip4) == "10.0.0.254"
    assert str(v4["10.0.0.0/24"].paths[0].nh.address.ip4) == "0.0.0.0"
    assert _types(v4["224.0.0.0/4"]) == [2]
    add_route(vpp, "0.0.0.0/0", [], is_add=False)
    assert _types(routes(vpp)["0.0.0.0/0"]) == [2], "the default drop comes back"


def test_deleting_a_table_flushes_its_routes(vpp: Any, sim: Simulator) -> None:
    vpp.api.ip_table_add_del(is_add=True, table={"table_id": 2})
    add_route(vpp, "10.5.0.0/16", [v4path("192.0.2.1")], table_id=2)
    sw = create_tap(vpp)
    vpp.api.sw_interface_set_table(sw_if_index=sw, is_ipv6=False, vrf_id=2)
    vpp.api.ip_table_add_del(is_add=False, table={"table_id": 2})
    assert "10.5.0.0/16" not in routes(vpp, 2), "API routes flushed"
    assert sim.state.fib.table(False, 2) is not None, "still locked by the interface"
    vpp.api.sw_interface_set_table(sw_if_index=sw, is_ipv6=False, vrf_id=0)
    assert sim.state.fib.table(False, 2) is None
    vpp.api.ip_table_add_del(is_add=True, table={"table_id": 2})
    assert set(routes(vpp, 2)) == V4_SPECIALS


def test_neighbors(vpp: Any, sim: Simulator) -> None:
    sw = create_tap(vpp)
    nb = {
        "sw_if_index": sw,
        "flags": 1,
        "mac_address": "02:00:00:00:00:01",
        "ip_address": "10.0.0.2",
    }
    r = vpp.api.ip_neighbor_add_del(is_add=True, neighbor=nb)
    assert r.retval == 0 and r.stats_index > 0
    nb6 = {**nb, "ip_address": "fd00::2", "flags": 3}
    assert vpp.api.ip_neighbor_add_del(is_add=True, neighbor=nb6).retval == 0
    (d,) = vpp.api.ip_neighbor_dump(sw_if_index=NO_INDEX, af=0)
    assert (str(d.neighbor.ip_address), str(d.neighbor.mac_address)) == (
        "10.0.0.2",
        "02:00:00:00:00:01",
    )
    assert d.age >= 0
    assert len(vpp.api.ip_neighbor_dump(sw_if_index=sw, af=1)) == 1
    assert vpp.api.ip_neighbor_dump(sw_if_index=0, af=0) == []
    v4 = routes(vpp)
    assert (int(v4["10.0.0.2/32"].paths[0].type), v4["10.0.0.2/32"].paths[0].sw_if_index) == (0, sw)
    assert "fd00::2/128" not in routes(vpp, is_ip6=True), "NO_FIB_ENTRY"
    assert vpp.api.ip_neighbor_add_del(is_add=False, neighbor=nb).retval == 0
    assert vpp.api.ip_neighbor_add_del(is_add=False, neighbor=nb).retval == -6
    assert vpp.api.ip_neighbor_add_del(is_add=True, neighbor={**nb, "sw_if_index": 9}).retval == -2
    vpp.api.tap_delete_v2(sw_if_index=sw)
    assert sim.state.neighbors == {}


def test_punt_redirect(vpp: Any, sim: Simulator) -> None:
    rx, tx = create_tap(vpp), create_tap(vpp)
    punt = {"rx_sw_if_index": rx, "tx_sw_if_index": tx, "nh": "10.0.0.1"}
    assert vpp.api.ip_punt_redirect(punt=punt, is_add=True).retval == 0
    any_rx = {"rx_sw_if_index": NO_INDEX, "tx_sw_if_index": tx, "nh": "fd00::1"}
    assert vpp.api.ip_punt_redirect(punt=any_rx, is_add=True).retval == 0
    assert vpp.api.ip_punt_redirect(punt={**punt, "tx_sw_if_index": 50}).retval == -2
    (d,) = vpp.api.ip_punt_redirect_dump(sw_if_index=NO_INDEX, is_ipv6=False)
    assert (d.punt.rx_sw_if_index, d.punt.tx_sw_if_index, str(d.punt.nh)) == (rx, tx, "10.0.0.1")
    assert len(vpp.api.ip_punt_redirect_dump(sw_if_index=NO_INDEX, is_ipv6=True)) == 1
    assert vpp.api.ip_punt_redirect(punt=punt, is_add=False).retval == 0
    assert vpp.api.ip_punt_redirect_dump(sw_if_index=rx, is_ipv6=False) == []
