"""Loopbacks, unnumbered interfaces and static neighbours through the reconciler and the
simulator: IP gets enabled, VRF moves and lost lenders are handled, restarts change nothing."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from pathlib import Path

import pytest

from agent.reconcile import Op, Reconciler
from agent.vpp import VppConnection, interfaces, ip
from agent.vppobjects import (
    InterfaceSettings,
    Neighbor,
    Route,
    RoutePath,
    TunTap,
    VppObject,
    VrfTable,
)
from agent.vppsim import Simulator
from agent.vppsim.state import Interface
from plugins import ipenable

IP = ipaddress.ip_address
NET = ipaddress.ip_network
IF = ipaddress.ip_interface
MAC = "02:fe:aa:bb:cc:01"


def desired(*objs: VppObject) -> dict[str, VppObject]:
    """What plugins.core would hand the reconciler: IP enabled by ipenable."""
    return {o.key: o for o in ipenable.apply(objs)}


def pod(name: str, vrf: int = 0, tun: bool = True) -> TunTap:
    settings = InterfaceSettings(vrf4=vrf, vrf6=vrf)
    return TunTap(name, "eth0", f"/var/run/netns/{name}", tun=tun, settings=settings)


def tables(vrf: int) -> tuple[VrfTable, VrfTable]:
    return VrfTable(vrf, False), VrfTable(vrf, True)


def sim_iface(sim: Simulator, conn: VppConnection, name: str) -> Interface:
    tag = f"vppnet:{name}"
    index = next(i.sw_if_index for i in conn.dump(interfaces.dump()) if i.tag == tag)
    iface = sim.state.interfaces.get(index)
    assert iface is not None
    return iface


@pytest.fixture
def index_path(tmp_path: Path) -> Path:
    return tmp_path / "index.json"


def test_every_interface_gets_ip_through_its_vrfs_loopback(
    sim: Simulator, conn: VppConnection, index_path: Path
) -> None:
    want = desired(*tables(7), pod("pod/a"), pod("pod/b", vrf=7))
    report = Reconciler(conn, index_path).converge(want)[1]
    assert report.ok, report.render()
    for name, vrf in (("pod/a", 0), ("pod/b", 7)):
        iface = sim_iface(sim, conn, name)
        loop = sim_iface(sim, conn, ipenable.loopback_name(vrf))
        assert iface.unnumbered_from == loop.sw_if_index
        assert iface.ip_enabled(False) and iface.ip_enabled(True)
        assert (loop.table4, loop.table6, loop.kind) == (vrf, vrf, "loopback")
        assert loop.addresses == [ipenable.LOOPBACK_ADDRESS]
    # a restarted agent finds everything as it left it: no VPP call
    before = sim.mutations
    plan = Reconciler(conn, index_path).plan(want, refresh=True)
    assert plan.empty, plan.render()
    assert sim.mutations == before


def test_a_vrf_move_stops_borrowing_first_then_borrows_from_the_new_loopback(
    sim: Simulator, conn: VppConnection, index_path: Path
) -> None:
    rec = Reconciler(conn, index_path)
    assert rec.converge(desired(*tables(7), pod("pod/b", vrf=7)))[1].ok
    # the network's VNI (and so its table) changes: table 8 replaces table 7
    plan, report = rec.converge(desired(*tables(8), pod("pod/b", vrf=8)))
    assert report.ok, report.render()
    ops = {(c.op, c.key) for c in plan.changes}
    assert (Op.DELETE, "interface loopback/vrf-7") in ops
    assert (Op.CREATE, "interface loopback/vrf-8") in ops
    assert (Op.UPDATE, "interface pod/b") in ops
    b = sim_iface(sim, conn, "pod/b")
    assert (b.table4, b.table6) == (8, 8)
    assert b.unnumbered_from == sim_iface(sim, conn, "loopback/vrf-8").sw_if_index
    assert rec.plan(desired(*tables(8), pod("pod/b", vrf=8)), refresh=True).empty


def test_a_lender_deleted_behind_our_back_is_made_again_and_lent_again(
    sim: Simulator, conn: VppConnection, index_path: Path
) -> None:
    want = desired(pod("pod/a"))
    rec = Reconciler(conn, index_path)
    assert rec.converge(want)[1].ok
    loop = sim_iface(sim, conn, "loopback/vrf-0")
    assert conn.call(interfaces.delete_loopback(loop.sw_if_index)) is None
    assert not sim_iface(sim, conn, "pod/a").ip_enabled(False)
    plan = rec.plan(want, refresh=True)
    assert {(c.op, c.key) for c in plan.changes} >= {
        (Op.CREATE, "interface loopback/vrf-0"),
        (Op.UPDATE, "interface pod/a"),
    }
    assert rec.apply(plan).ok
    a = sim_iface(sim, conn, "pod/a")
    assert a.unnumbered_from == sim_iface(sim, conn, "loopback/vrf-0").sw_if_index
    assert a.ip_enabled(False)


def test_static_neighbours_of_an_l2_pod(
    sim: Simulator, conn: VppConnection, index_path: Path
) -> None:
    tap = pod("pod/t", tun=False)
    ip4, ip6 = IP("10.0.0.5"), IP("fd00::5")
    routes = [Route(0, NET(f"{a}/{a.max_prefixlen}"), (RoutePath(a, "pod/t"),)) for a in (ip4, ip6)]
    neighbors = [Neighbor("pod/t", a, MAC) for a in (ip4, ip6)]
    want = desired(tap, *routes, *neighbors)
    rec = Reconciler(conn, index_path)
    assert rec.converge(want)[1].ok
    sw = sim_iface(sim, conn, "pod/t").sw_if_index
    held = {(n.sw_if_index, n.ip): n for n in sim.state.neighbors.values()}
    assert set(held) == {(sw, ip4), (sw, ip6)}
    assert all(n.flags == 3 for n in held.values())  # static, no adj-fib
    assert all(n.mac.hex(":") == MAC for n in held.values())
    # the routes to the pod are the plugins' own: no second, VPP-made one
    assert [r.paths for r in conn.dump(ip.dump_routes(0, False)) if r.prefix == NET("10.0.0.5/32")]
    # restart, and restart with the index lost: on an owned interface they are ours
    assert Reconciler(conn, index_path).plan(want, refresh=True).empty
    index_path.unlink()
    lost_rec = Reconciler(conn, index_path)
    lost = lost_rec.plan(want, refresh=True)
    assert not lost.conflicts and not [c for c in lost.changes if isinstance(c.obj, Neighbor)]
    before = sim.mutations
    assert lost_rec.apply(lost).ok and sim.mutations == before
    # a new MAC (the pod was made again) is one call, the same add
    moved = desired(tap, *routes, *(replace(n, mac="02:fe:aa:bb:cc:02") for n in neighbors))
    before = sim.mutations
    plan, report = rec.converge(moved)
    assert report.ok and sim.mutations == before + 2
    assert {c.op for c in plan.changes} == {Op.UPDATE}
    assert {n.mac.hex(":") for n in sim.state.neighbors.values()} == {"02:fe:aa:bb:cc:02"}
    # the pod goes: VPP drops its neighbours with the interface, no call for them
    plan, report = rec.converge({})
    assert report.ok and not sim.state.neighbors
    assert not [c for c in plan.changes if isinstance(c.obj, Neighbor)]
    assert rec.index.neighbors == set()


def test_foreign_static_neighbours_are_left_alone(
    sim: Simulator, conn: VppConnection, index_path: Path
) -> None:
    loop = conn.call(interfaces.create_loopback())
    conn.call(ip.add_neighbor(loop, IP("192.0.2.9"), MAC))
    rec = Reconciler(conn, index_path)
    observed = rec.refresh()
    key = Neighbor(observed.names[loop], IP("192.0.2.9"), MAC).key
    assert key in observed.foreign and key not in observed.objects
    assert rec.converge(desired(pod("pod/a")))[1].ok
    assert (loop, IP("192.0.2.9")) in sim.state.neighbors
