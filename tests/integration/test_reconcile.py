"""The reconciler against the simulator: converge, restart without churn, errors, drift."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from pathlib import Path

import pytest

from agent.reconcile import Op, Reconciler
from agent.vpp import VppConnection, cnat, interfaces, ip, tap
from agent.vppobjects import (
    Backend,
    CnatTranslation,
    InterfaceAddress,
    InterfaceSettings,
    Route,
    RoutePath,
    TunTap,
    VppName,
    VppObject,
    VrfTable,
)
from agent.vppsim import Simulator

IP = ipaddress.ip_address
NET = ipaddress.ip_network
IF = ipaddress.ip_interface


def keyed(*objs: VppObject) -> dict[str, VppObject]:
    return {o.key: o for o in objs}


def pod_tun(name: str, vrf: int = 0, rx_queues: int = 1) -> TunTap:
    settings = InterfaceSettings(vrf4=vrf, vrf6=vrf, mtu=1450)
    return TunTap(name, "eth0", f"/var/run/netns/{name}", rx_queues=rx_queues, settings=settings)


def desired_state() -> dict[str, VppObject]:
    a, b = pod_tun("pod/a"), pod_tun("pod/b", vrf=7, rx_queues=2)
    return keyed(
        VrfTable(7, False),
        VrfTable(7, True),
        a,
        b,
        InterfaceAddress("pod/b", IF("10.7.0.1/24")),
        Route(0, NET("10.0.0.2/32"), (RoutePath(interface="pod/a"),)),
        Route(7, NET("10.7.1.0/24"), (RoutePath(nh=IP("10.7.0.9"), interface="pod/b"),)),
        Route(
            0,
            NET("10.2.0.0/24"),
            (RoutePath(nh=IP("192.168.0.2")), RoutePath(nh=IP("192.168.0.3"), weight=3)),
        ),
        CnatTranslation(
            IP("10.96.0.10"), 53, "UDP", (Backend(IP("10.0.0.2"), 53), Backend(IP("10.2.0.7"), 53))
        ),
    )


@pytest.fixture
def index_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "index.json"


def test_converges_then_a_restart_changes_nothing(
    sim: Simulator, conn: VppConnection, index_path: Path
) -> None:
    want = desired_state()
    _plan, report = Reconciler(conn, index_path).converge(want)
    assert report.ok and len(report.applied) == len(want)
    taps = {i.tag: i for i in conn.dump(interfaces.dump()) if i.tag.startswith("vppnet:")}
    assert set(taps) == {"vppnet:pod/a", "vppnet:pod/b"}
    assert all(i.admin_up and i.mtu[0] == 1450 for i in taps.values())
    routes7 = {r.prefix for r in conn.dump(ip.dump_routes(7, False))}
    assert {NET("10.7.1.0/24"), NET("10.7.0.0/24")} <= routes7  # ours + connected
    assert [t.vip.addr for t in conn.dump(cnat.dump())] == [IP("10.96.0.10")]

    before = sim.mutations
    restarted = Reconciler(conn, index_path)  # a new agent process reads the index
    again = restarted.plan(want, refresh=True)
    assert again.empty, again.render()
    restarted.apply(again)
    assert sim.mutations == before


def test_foreign_objects_are_never_touched(
    sim: Simulator, conn: VppConnection, index_path: Path
) -> None:
    foreign_tap = conn.call(tap.create(tap.TapCreate(tag="someone-else")))
    conn.call(ip.add_route(0, NET("10.2.0.0/24"), (ip.Path(nh=IP("192.168.9.9")),)))
    conn.call(ip.add_route(0, NET("172.16.0.0/16"), (ip.Path(type=ip.PathType.DROP),)))
    rec = Reconciler(conn, index_path)
    plan = rec.plan(desired_state(), refresh=True)
    assert [c.obj.key for c in plan.conflicts] == ["route 0 10.2.0.0/24"]
    assert "held by a foreign route via 192.168.9.9" in plan.render()
    rec.apply(plan)
    rec.converge({})  # wanting nothing removes only what vppnet made
    left = conn.dump(interfaces.dump())
    assert [(i.sw_if_index, i.tag) for i in left if i.tag] == [(foreign_tap, "someone-else")]
    prefixes = {r.prefix: r for r in conn.dump(ip.dump_routes(0, False))}
    assert prefixes[NET("10.2.0.0/24")].paths[0].nh == IP("192.168.9.9")
    assert NET("172.16.0.0/16") in prefixes
    assert NET("10.0.0.2/32") not in prefixes


def test_one_failing_object_does_not_stop_the_rest(
    sim: Simulator, conn: VppConnection, index_path: Path
) -> None:
    rec = Reconciler(conn, index_path)
    sim.inject_error("tap_create_v3", -11)
    plan, report = rec.converge(desired_state())
    failed = [c.key for c, _ in report.failed]
    skipped = [c.key for c, _ in report.skipped]
    assert len(failed) == 1 and failed[0].startswith("interface pod/")
    assert "SYSCALL_ERROR_1" in report.render()
    # what needed the failed interface is skipped, everything else landed
    assert skipped == ["route 0 10.0.0.2/32"]  # its path goes through pod/a
    assert len(report.applied) == len(plan.changes) - 1 - len(skipped)
    _plan2, report2 = rec.converge(desired_state())
    assert report2.ok and rec.plan(desired_state(), refresh=True).empty


def test_drift_is_repaired(sim: Simulator, conn: VppConnection, index_path: Path) -> None:
    want = desired_state()
    rec = Reconciler(conn, index_path)
    rec.converge(want)
    conn.call(ip.del_route(0, NET("10.2.0.0/24")))
    idx = next(i.sw_if_index for i in conn.dump(interfaces.dump()) if i.tag == "vppnet:pod/a")
    conn.call(interfaces.set_mtu(idx, l3=9000))
    conn.call(interfaces.set_admin(idx, False))
    plan = rec.plan(want, refresh=True)
    assert sorted((c.op.value, c.key) for c in plan.changes) == [
        ("create", "route 0 10.2.0.0/24"),
        ("update", "interface pod/a"),
    ]
    assert "settings.mtu 9000 -> 1450" in plan.render()
    assert rec.apply(plan).ok
    assert rec.plan(want, refresh=True).empty


def test_changes_recreate_update_and_cascade(
    sim: Simulator, conn: VppConnection, index_path: Path
) -> None:
    want = desired_state()
    rec = Reconciler(conn, index_path)
    rec.converge(want)
    b = want["interface pod/b"]
    assert isinstance(b, TunTap)
    moved = dict(want)
    moved[b.key] = replace(b, rx_queues=4)  # creation parameter: recreate
    a = want["interface pod/a"]
    assert isinstance(a, TunTap)
    moved[a.key] = replace(a, settings=replace(a.settings, rx_mode="polling"))
    plan, report = rec.converge(moved)
    ops = sorted((c.op.value, c.key) for c in plan.changes)
    assert ("delete", "interface pod/b") in ops and ("create", "interface pod/b") in ops
    assert ("create", "address pod/b 10.7.0.1/24") in ops  # re-added on the new interface
    assert ("create", "route 7 10.7.1.0/24") in ops
    assert ("update", "interface pod/a") in ops
    assert report.ok, report.render()
    assert rec.plan(moved, refresh=True).empty


def test_vrf_move_takes_addresses_off_and_back(
    sim: Simulator, conn: VppConnection, index_path: Path
) -> None:
    t = pod_tun("pod/c")
    addr = InterfaceAddress("pod/c", IF("10.3.0.1/24"))
    rec = Reconciler(conn, index_path)
    rec.converge(keyed(t, addr))
    moved = replace(t, settings=replace(t.settings, vrf4=9))
    plan, report = rec.converge(keyed(moved, addr, VrfTable(9, False)))
    assert report.ok, report.render()
    assert [c.op for c in plan.changes] == [Op.DELETE, Op.CREATE, Op.UPDATE, Op.CREATE]
    assert NET("10.3.0.0/24") in {r.prefix for r in conn.dump(ip.dump_routes(9, False))}


def test_a_lost_index_is_recovered_without_churn_or_leaks(
    sim: Simulator, conn: VppConnection, index_path: Path
) -> None:
    want = desired_state()
    Reconciler(conn, index_path).converge(want)
    index_path.unlink()
    rec = Reconciler(conn, index_path)
    plan = rec.plan(want, refresh=True)
    # interfaces are recognised by their tags; routes and translations exactly as
    # desired are adopted without a VPP call
    assert not plan.conflicts
    assert {c.op for c in plan.changes} == {Op.ADOPT}
    before = sim.mutations
    assert rec.apply(plan).ok
    assert sim.mutations == before
    assert rec.plan(want).empty and rec.plan(want, refresh=True).empty


def test_routes_may_use_foreign_interfaces_by_name(
    sim: Simulator, conn: VppConnection, index_path: Path
) -> None:
    rec = Reconciler(conn, index_path)
    r = Route(0, NET("10.50.0.0/16"), (RoutePath(interface=VppName("local0")),))
    _plan, report = rec.converge(keyed(r))
    assert report.ok
    assert rec.plan(keyed(r), refresh=True).empty
    missing = Route(0, NET("10.51.0.0/16"), (RoutePath(interface=VppName("nope0")),))
    _, report = rec.converge(keyed(missing))
    assert [why for _, why in report.failed] == ["interface vpp:nope0 does not exist in VPP"]
