"""Convergence as a property: for random desired sets over random foreign objects,
apply then plan again gives an empty plan, and the foreign objects are unchanged."""

from __future__ import annotations

import ipaddress
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.reconcile import Reconciler
from agent.vpp import VppConnection, cnat, interfaces, ip, tap
from agent.vppobjects import (
    Backend,
    CnatTranslation,
    InterfaceAddress,
    InterfaceSettings,
    Route,
    RoutePath,
    TunTap,
    VppObject,
    VrfTable,
)
from agent.vppsim import Simulator

TABLES = (5, 7)
NAMES = tuple(f"pod/t{i}" for i in range(4))


@st.composite
def desired_sets(draw: st.DrawFn) -> dict[str, VppObject]:
    objs: list[VppObject] = []
    tables = draw(st.sets(st.sampled_from(TABLES)))
    for t in tables:
        objs += [VrfTable(t, False), VrfTable(t, True)]
    vrfs = [0, *tables]
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=4))
    used = iter(range(1, 200))
    for name in names:
        vrf = draw(st.sampled_from(vrfs))
        settings_ = InterfaceSettings(
            admin_up=draw(st.booleans()),
            mtu=draw(st.sampled_from([None, 1400, 9000])),
            vrf4=vrf,
            vrf6=vrf,
            rx_mode=draw(st.sampled_from([None, "polling", "interrupt", "adaptive"])),
        )
        objs.append(
            TunTap(
                name,
                "eth0",
                f"/var/run/netns/{name[4:]}",
                tun=draw(st.booleans()),
                rx_queues=draw(st.integers(1, 4)),
                settings=settings_,
            )
        )
        for _ in range(draw(st.integers(0, 2))):
            objs.append(InterfaceAddress(name, ipaddress.ip_interface(f"10.9.{next(used)}.1/24")))
    prefixes = draw(st.lists(st.integers(0, 255), unique=True, max_size=8))
    for n in prefixes:
        table = draw(st.sampled_from(vrfs))
        via = draw(st.sampled_from([None, *names]))
        path = (
            RoutePath(interface=via)
            if via is not None and draw(st.booleans())
            else RoutePath(nh=ipaddress.ip_address(f"192.168.0.{n % 250 + 1}"))
        )
        objs.append(Route(table, ipaddress.ip_network(f"10.100.{n}.0/24"), (path,)))
    for n in draw(st.lists(st.integers(1, 50), unique=True, max_size=5)):
        backends = tuple(
            Backend(ipaddress.ip_address(f"10.1.0.{b}"), 8080)
            for b in draw(st.lists(st.integers(1, 9), unique=True, max_size=3))
        )
        objs.append(
            CnatTranslation(
                ipaddress.ip_address(f"10.96.0.{n}"),
                draw(st.sampled_from([80, 443])),
                draw(st.sampled_from(["TCP", "UDP"])),
                backends,
                maglev=draw(st.booleans()),
            )
        )
    return {o.key: o for o in objs}


@st.composite
def foreign_sets(draw: st.DrawFn) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []
    for n in draw(st.lists(st.integers(0, 255), unique=True, max_size=6)):
        calls.append(("route", {"prefix": f"172.16.{n}.0/24", "nh": f"192.168.1.{n % 250 + 1}"}))
    for n in draw(st.lists(st.integers(1, 99), unique=True, max_size=3)):
        calls.append(("cnat", {"vip": f"10.97.0.{n}"}))
    for n in range(draw(st.integers(0, 2))):
        calls.append(("tap", {"tag": f"other:{n}"}))
    return calls


def _make_foreign(conn: VppConnection, calls: list[tuple[str, dict[str, Any]]]) -> None:
    for kind, args in calls:
        if kind == "route":
            conn.call(
                ip.add_route(
                    0,
                    ipaddress.ip_network(args["prefix"]),
                    (ip.Path(nh=ipaddress.ip_address(args["nh"])),),
                )
            )
        elif kind == "cnat":
            conn.call(
                cnat.update(
                    cnat.Translation(
                        cnat.Endpoint(ipaddress.ip_address(args["vip"]), 80), cnat.IpProto.TCP, ()
                    )
                )
            )
        else:
            idx = conn.call(tap.create(tap.TapCreate(tag=args["tag"])))
            conn.call(interfaces.set_admin(idx, True))


def _foreign_snapshot(conn: VppConnection) -> Any:
    ifs = sorted(
        (i.sw_if_index, i.name, i.tag, i.admin_up, i.mtu)
        for i in conn.dump(interfaces.dump())
        if not i.tag.startswith("vppnet:")
    )
    routes = sorted(
        (str(r.prefix), str(r.paths))
        for r in conn.dump(ip.dump_routes(0, False))
        if str(r.prefix).startswith("172.16.")
    )
    vips = sorted(
        str(t.vip) for t in conn.dump(cnat.dump()) if str(t.vip.addr).startswith("10.97.")
    )
    return ifs, routes, vips


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(foreign=foreign_sets(), first=desired_sets(), second=desired_sets())
def test_apply_then_plan_is_empty_and_foreign_is_untouched(
    sim: Simulator,
    conn: VppConnection,
    foreign: list[tuple[str, dict[str, Any]]],
    first: dict[str, VppObject],
    second: dict[str, VppObject],
) -> None:
    sim.reset()
    _make_foreign(conn, foreign)
    before = _foreign_snapshot(conn)
    with tempfile.TemporaryDirectory() as tmp:
        rec = Reconciler(conn, Path(tmp) / "index.json")
        for desired in (first, second, {}):
            _plan, report = rec.converge(desired)
            assert report.ok, report.render()
            cached = rec.plan(desired)  # the reconciler's own idea of VPP...
            assert cached.empty, cached.render()
            again = rec.plan(desired, refresh=True)  # ...and VPP read afresh
            assert again.empty and not again.conflicts, again.render()
            assert _foreign_snapshot(conn) == before
