"""Plans from desired vs observed state, without any VPP."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from agent.reconcile.diff import diff
from agent.reconcile.observe import Observed
from agent.reconcile.plan import Op
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

IP = ipaddress.ip_address
NET = ipaddress.ip_network

TAP = TunTap("pod/a/b/eth0", "eth0", "/var/run/netns/b", host_mtu=1450)
ADDR = InterfaceAddress("pod/a/b/eth0", ipaddress.ip_interface("10.0.0.1/32"))
ROUTE = Route(0, NET("10.1.0.0/24"), (RoutePath(nh=IP("192.168.0.2")),))
VIA_TAP = Route(0, NET("10.0.0.1/32"), (RoutePath(interface="pod/a/b/eth0"),))


def keyed(*objs: VppObject) -> dict[str, VppObject]:
    return {o.key: o for o in objs}


def observed(*objs: VppObject, foreign: dict[str, str] | None = None) -> Observed:
    return Observed(objects=keyed(*objs), foreign=foreign or {})


def ops(plan_changes: list[tuple[Op, str]]) -> list[tuple[str, str]]:
    return [(op.value, key) for op, key in plan_changes]


def summary(desired: dict[str, VppObject], obs: Observed) -> list[tuple[str, str]]:
    return [(c.op.value, c.key) for c in diff(desired, obs).changes]


def test_nothing_to_do_when_equal() -> None:
    state = keyed(TAP, ADDR, ROUTE)
    assert diff(state, observed(TAP, ADDR, ROUTE)).empty


def test_creates_in_dependency_order_and_deletes_in_reverse() -> None:
    table = VrfTable(7, False)
    tap7 = replace(TAP, settings=InterfaceSettings(vrf4=7))
    old_route = Route(0, NET("10.9.0.0/24"), (RoutePath(nh=IP("192.168.0.9")),))
    plan = summary(keyed(VIA_TAP, ADDR, tap7, table), observed(old_route))
    assert plan == [
        ("delete", old_route.key),
        ("create", table.key),
        ("create", tap7.key),
        ("create", ADDR.key),
        ("create", VIA_TAP.key),
    ]


def test_settings_change_is_an_update_and_spec_change_a_recreate() -> None:
    faster = replace(TAP, settings=InterfaceSettings(rx_mode="polling"))
    plan = diff(keyed(faster), observed(TAP))
    assert [(c.op, c.reason) for c in plan.changes] == [
        (Op.UPDATE, "settings.rx_mode None -> polling")
    ]
    more_queues = replace(TAP, rx_queues=4)
    plan = diff(keyed(more_queues), observed(TAP))
    assert [c.op for c in plan.changes] == [Op.DELETE, Op.CREATE]
    assert "rx_queues 1 -> 4" in plan.changes[0].reason


def test_recreating_an_interface_re_adds_what_points_at_it() -> None:
    more_queues = replace(TAP, rx_queues=4)
    plan = summary(keyed(more_queues, ADDR, VIA_TAP), observed(TAP, ADDR, VIA_TAP))
    # the address goes with the interface (no delete call), the route is removed first
    assert plan == [
        ("delete", VIA_TAP.key),
        ("delete", TAP.key),
        ("create", TAP.key),
        ("create", ADDR.key),
        ("create", VIA_TAP.key),
    ]


def test_moving_to_another_vrf_removes_and_re_adds_that_family_only() -> None:
    v6 = InterfaceAddress("pod/a/b/eth0", ipaddress.ip_interface("fd00::1/128"))
    moved = replace(TAP, settings=InterfaceSettings(vrf4=7))
    table = VrfTable(7, False)
    plan = summary(keyed(moved, ADDR, v6, table), observed(TAP, ADDR, v6, table))
    assert plan == [
        ("delete", ADDR.key),
        ("update", TAP.key),
        ("create", ADDR.key),
    ]


def test_a_deleted_interface_takes_its_addresses_along() -> None:
    plan = summary({}, observed(TAP, ADDR, VIA_TAP))
    assert plan == [("delete", VIA_TAP.key), ("delete", TAP.key)]


def test_foreign_objects_conflict_but_foreign_tables_are_used() -> None:
    table = VrfTable(7, False)
    obs = observed(foreign={ROUTE.key: "route via 1.2.3.4", table.key: "table 'x'"})
    plan = diff(keyed(ROUTE, table), obs)
    assert plan.empty
    assert [(c.obj.key, c.holder) for c in plan.conflicts] == [(ROUTE.key, "route via 1.2.3.4")]
    assert "held by a foreign route via 1.2.3.4" in plan.render()


def test_scope_limits_the_plan_to_given_keys() -> None:
    other = Route(0, NET("10.2.0.0/24"), (RoutePath(nh=IP("192.168.0.3")),))
    stale = Route(0, NET("10.3.0.0/24"), (RoutePath(nh=IP("192.168.0.4")),))
    plan = diff(keyed(ROUTE, other), observed(stale), keys=[ROUTE.key])
    assert [(c.op, c.key) for c in plan.changes] == [(Op.CREATE, ROUTE.key)]


def test_route_paths_and_backends_compare_in_any_order() -> None:
    a, b = RoutePath(nh=IP("10.0.0.1")), RoutePath(nh=IP("10.0.0.2"), interface=VppName("up"))
    assert Route(0, NET("1.0.0.0/8"), (a, b)) == Route(0, NET("1.0.0.0/8"), (b, a))
    x, y = Backend(IP("10.0.0.1"), 80), Backend(IP("10.0.0.2"), 80)
    assert CnatTranslation(IP("10.96.0.1"), 80, "TCP", (x, y)) == CnatTranslation(
        IP("10.96.0.1"), 80, "TCP", (y, x)
    )


def test_plan_renders_and_serializes() -> None:
    plan = diff(keyed(TAP, ROUTE), observed())
    text = plan.render()
    assert "+ create interface pod/a/b/eth0: tun, host eth0 in /var/run/netns/b" in text
    assert "plan: 2 to create, 0 to update, 0 to delete" in text
    assert plan.to_json()["counts"] == {
        "create": 2,
        "update": 0,
        "delete": 0,
        "adopt": 0,
        "conflict": 0,
    }
    assert diff({}, observed()).render().startswith("plan: VPP already matches")


def test_a_foreign_object_exactly_as_desired_is_adopted_without_a_call() -> None:
    obs = Observed(foreign={ROUTE.key: "route via 192.168.0.2"}, unowned={ROUTE.key: ROUTE})
    plan = diff(keyed(ROUTE), obs)
    assert [(c.op, c.key) for c in plan.changes] == [(Op.ADOPT, ROUTE.key)]
    assert not plan.conflicts
    other = Route(0, ROUTE.prefix, (RoutePath(nh=IP("192.168.0.9")),))
    assert diff(keyed(other), obs).conflicts[0].obj == other
