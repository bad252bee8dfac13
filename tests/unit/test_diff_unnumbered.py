"""Unnumbered interfaces and static neighbours in plans and steps, without any VPP."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from agent.reconcile.diff import diff
from agent.reconcile.observe import Observed
from agent.reconcile.plan import Change, Op
from agent.reconcile.steps import Phase, steps_for
from agent.vppobjects import InterfaceSettings, Loopback, Neighbor, TunTap, VppObject

IP = ipaddress.ip_address
MAC = "02:fe:00:00:00:01"


def keyed(*objs: VppObject) -> dict[str, VppObject]:
    return {o.key: o for o in objs}


def loop(table: int) -> Loopback:
    return Loopback(f"loopback/vrf-{table}", InterfaceSettings(vrf4=table, vrf6=table))


def pod(table: int, lender: str | None = None, tun: bool = True) -> TunTap:
    settings = InterfaceSettings(vrf4=table, vrf6=table, unnumbered_from=lender)
    return TunTap("pod/a", "eth0", "/ns/a", tun=tun, settings=settings)


def resolved(*names: str) -> Observed:
    out = Observed()
    for i, name in enumerate(names, start=1):
        out.sw_if_index[name] = i
        out.names[i] = name
    return out


def calls(change: Change, observed: Observed) -> list[tuple[Phase, str, dict[str, object]]]:
    out = []
    for step in steps_for(change):
        req = step.build(observed)
        out.append((step.phase, req.msg, dict(req.args)))
    return out


def test_a_vrf_move_stops_borrowing_before_the_move_and_borrows_after() -> None:
    have, want = pod(7, "loopback/vrf-7"), pod(8, "loopback/vrf-8")
    o = resolved("pod/a", "loopback/vrf-7", "loopback/vrf-8")
    made = calls(Change(Op.UPDATE, want, have), o)
    assert [(p, m) for p, m, _ in made] == [
        (Phase.DELETE_ADDRESSES, "sw_interface_set_unnumbered"),
        (Phase.INTERFACE_SETTINGS, "sw_interface_set_table"),
        (Phase.INTERFACE_SETTINGS, "sw_interface_set_table"),
        (Phase.INTERFACE_SETTINGS, "sw_interface_set_unnumbered"),
    ]
    assert made[0][2] == {"sw_if_index": 2, "unnumbered_sw_if_index": 1, "is_add": False}
    assert made[3][2] == {"sw_if_index": 3, "unnumbered_sw_if_index": 1, "is_add": True}


def test_a_move_with_the_same_lender_still_stops_borrowing_around_it() -> None:
    have, want = pod(7, "shared"), pod(8, "shared")
    made = calls(Change(Op.UPDATE, want, have), resolved("pod/a", "shared"))
    assert made[0][1] == "sw_interface_set_unnumbered"
    assert made[-1][2]["is_add"] is True


def test_stopping_to_borrow_from_a_lender_already_gone_names_no_lender() -> None:
    """VPP ignores the lender when removing; a lender deleted in the same plan is fine."""
    made = calls(Change(Op.UPDATE, pod(0), pod(0, "loopback/vrf-0")), resolved("pod/a"))
    assert made == [
        (
            Phase.DELETE_ADDRESSES,
            "sw_interface_set_unnumbered",
            {"sw_if_index": 0xFFFFFFFF, "unnumbered_sw_if_index": 1, "is_add": False},
        )
    ]


def test_a_fresh_interface_borrows_once_its_table_is_set() -> None:
    made = calls(Change(Op.CREATE, pod(7, "loopback/vrf-7")), resolved("pod/a", "loopback/vrf-7"))
    msgs = [m for _, m, _ in made]
    assert msgs.index("sw_interface_set_unnumbered") > msgs.index("sw_interface_set_table")
    assert all(p is not Phase.DELETE_ADDRESSES for p, _, _ in made)


def test_interfaces_of_a_recreated_lender_borrow_again() -> None:
    lender = TunTap("lender", "x", "/ns/x", settings=InterfaceSettings())
    borrower = pod(0, "lender")
    remade = replace(lender, host_if_name="y")  # a creation parameter: delete and create
    plan = diff(keyed(remade, borrower), Observed(objects=keyed(lender, borrower)))
    ops = {(c.op, c.key): c for c in plan.changes}
    assert (Op.DELETE, "interface lender") in ops and (Op.CREATE, "interface lender") in ops
    update = ops[(Op.UPDATE, "interface pod/a")]
    assert update.old is not None and update.old.settings.unnumbered_from is None  # type: ignore[union-attr]


def test_neighbours_go_with_their_interface_and_come_back_with_it() -> None:
    tap = pod(0, tun=False)
    neighbor = Neighbor("pod/a", IP("10.0.0.5"), MAC)
    remade = replace(tap, host_netns="/ns/a2")
    plan = diff(keyed(remade, neighbor), Observed(objects=keyed(tap, neighbor)))
    by_key = [(c.op, c.key) for c in plan.changes if c.key == neighbor.key]
    assert by_key == [(Op.CREATE, neighbor.key)]  # VPP dropped it: no delete call
    gone = diff({}, Observed(objects=keyed(tap, neighbor)))
    assert [c.key for c in gone.changes] == ["interface pod/a"]


def test_a_new_mac_is_an_update_and_loopbacks_are_described() -> None:
    old = Neighbor("pod/a", IP("10.0.0.5"), MAC)
    new = replace(old, mac="02:fe:00:00:00:02")
    (change,) = diff(keyed(new), Observed(objects=keyed(old))).changes
    assert change.op is Op.UPDATE
    assert change.render() == (
        "~ update neighbor 10.0.0.5 is 02:fe:00:00:00:02 on pod/a  "
        "(mac 02:fe:00:00:00:01 -> 02:fe:00:00:00:02)"
    )
    (made,) = diff(keyed(loop(7)), Observed()).changes
    assert made.render() == "+ create interface loopback/vrf-7: loopback, vrf 7/7"
