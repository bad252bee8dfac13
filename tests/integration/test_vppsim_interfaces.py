"""interface.api through papi: dumps, flags, events, addresses, VRF, MTU, MAC, tags, rx mode."""

from __future__ import annotations

import ipaddress
import os
from typing import Any

from agent.vppsim import Simulator
from tests.integration.test_vppsim_fixtures import (
    EventLog,
    admin_up,
    connect,
    create_tap,
    sim,
    vpp,
)

__all__ = ["sim", "vpp"]


def test_fresh_vpp_has_only_local0(vpp: Any) -> None:
    (local0,) = vpp.api.sw_interface_dump()
    assert (local0.sw_if_index, local0.interface_name, local0.interface_dev_type) == (
        0,
        "local0",
        "local",
    )
    assert int(local0.flags) == 0
    assert vpp.api.sw_interface_dump(sw_if_index=0)[0].interface_name == "local0"
    assert vpp.api.sw_interface_dump(sw_if_index=42) == []


def test_dump_by_index_and_name_filter(vpp: Any) -> None:
    a = create_tap(vpp)
    b = create_tap(vpp, tap_flags=16)
    assert [d.interface_name for d in vpp.api.sw_interface_dump(sw_if_index=b)] == ["tun1"]
    names = vpp.api.sw_interface_dump(name_filter_valid=True, name_filter="TAP")
    assert [d.sw_if_index for d in names] == [a]
    assert len(vpp.api.sw_interface_dump(name_filter_valid=False, name_filter="zz")) == 3


def test_tap_details(vpp: Any) -> None:
    sw = create_tap(vpp, id=7, tag="pod-a", num_rx_queues=2)
    (d,) = vpp.api.sw_interface_dump(sw_if_index=sw)
    assert (d.interface_name, d.interface_dev_type, d.tag) == ("tap7", "virtio", "pod-a")
    assert d.sup_sw_if_index == sw
    assert str(d.l2_address).startswith("02:fe:")
    assert int(d.flags) == 2, "a tap has carrier as soon as it exists"
    assert (d.link_mtu, list(d.mtu)) == (9000, [9000, 0, 0, 0])


def test_set_flags_admin_and_link(vpp: Any) -> None:
    sw = create_tap(vpp)
    admin_up(vpp, sw)
    assert int(vpp.api.sw_interface_dump(sw_if_index=sw)[0].flags) == 3
    assert vpp.api.sw_interface_set_flags(sw_if_index=sw, flags=0).retval == 0
    assert int(vpp.api.sw_interface_dump(sw_if_index=sw)[0].flags) == 0
    assert vpp.api.sw_interface_set_flags(sw_if_index=99, flags=1).retval == -2


def test_interface_events_only_to_subscribers(sim: Simulator, vpp: Any) -> None:
    log, other_log = EventLog(), EventLog()
    vpp.register_event_callback(log)
    other = connect(sim, "other")
    other.register_event_callback(other_log)
    r = vpp.api.want_interface_events(enable_disable=1, pid=os.getpid())
    assert r.retval == 0
    assert vpp.api.want_interface_events(enable_disable=1, pid=os.getpid()).retval == -31
    sw = create_tap(vpp)  # carrier up -> event
    admin_up(vpp, sw)
    assert vpp.api.tap_delete_v2(sw_if_index=sw).retval == 0
    events = log.wait_for(4)
    assert [name for name, _ in events] == ["sw_interface_event"] * 4
    seen = [(e.sw_if_index, int(e.flags), bool(e.deleted)) for _, e in events]
    assert seen == [(sw, 2, False), (sw, 3, False), (sw, 0, False), (sw, 0, True)]
    assert {e.client_index for _, e in events} == {vpp.transport.socket_index}
    assert {e.pid for _, e in events} == {os.getpid()}
    assert other_log.events == []
    assert vpp.api.want_interface_events(enable_disable=0, pid=os.getpid()).retval == 0
    create_tap(vpp)
    assert vpp.api.want_interface_events(enable_disable=0, pid=0).retval == -31
    assert len(log.events) == 4
    other.disconnect()


def test_subscription_ends_with_the_connection(sim: Simulator) -> None:
    client = connect(sim)
    client.api.want_interface_events(enable_disable=1, pid=1)
    client.disconnect()
    with sim.lock:
        assert sim._dispatcher.events.subscribers() == []


def test_addresses_and_errors(vpp: Any, sim: Simulator) -> None:
    a, b = create_tap(vpp), create_tap(vpp)
    add = vpp.api.sw_interface_add_del_address
    assert add(sw_if_index=a, is_add=True, prefix="10.0.0.1/24").retval == 0
    assert add(sw_if_index=a, is_add=True, prefix="10.0.0.2/24").retval == 0, "same prefix, same if"
    assert add(sw_if_index=a, is_add=True, prefix="fd00::1/64").retval == 0
    assert add(sw_if_index=a, is_add=True, prefix="10.0.0.1/24").retval == -127
    assert add(sw_if_index=b, is_add=True, prefix="10.0.0.9/24").retval == -105
    assert add(sw_if_index=a, is_add=True, prefix="10.0.0.5/16").retval == -105
    assert add(sw_if_index=b, is_add=True, prefix="fd00::2/64").retval == -127
    assert add(sw_if_index=0, is_add=True, prefix="10.9.9.9/24").retval == -126
    assert add(sw_if_index=55, is_add=True, prefix="10.9.9.9/24").retval == -2
    assert add(sw_if_index=a, is_add=False, prefix="10.0.0.7/24").retval == -60
    v4 = vpp.api.ip_address_dump(sw_if_index=a, is_ipv6=False)
    assert [str(d.prefix) for d in v4] == ["10.0.0.1/24", "10.0.0.2/24"]
    v6 = vpp.api.ip_address_dump(sw_if_index=a, is_ipv6=True)
    assert [str(d.prefix) for d in v6] == ["fd00::1/64"]
    assert add(sw_if_index=a, is_add=False, prefix="10.0.0.2/24").retval == 0
    assert add(sw_if_index=a, is_add=False, del_all=True).retval == 0
    assert sim.state.interfaces.get(a).addresses == []  # type: ignore[union-attr]


def test_set_table(vpp: Any, sim: Simulator) -> None:
    sw = create_tap(vpp)
    st = vpp.api.sw_interface_set_table
    assert st(sw_if_index=sw, is_ipv6=False, vrf_id=10).retval == -3
    vpp.api.ip_table_add_del(is_add=True, table={"table_id": 10})
    assert st(sw_if_index=sw, is_ipv6=False, vrf_id=10).retval == 0
    assert st(sw_if_index=99, is_ipv6=False, vrf_id=10).retval == -2
    vpp.api.sw_interface_add_del_address(sw_if_index=sw, is_add=True, prefix="10.0.0.1/24")
    assert st(sw_if_index=sw, is_ipv6=False, vrf_id=0).retval == -114
    assert st(sw_if_index=sw, is_ipv6=True, vrf_id=0).retval == 0, "no IPv6 address yet"
    assert sim.state.interfaces.get(sw).table4 == 10  # type: ignore[union-attr]


def test_mtu_mac_tag_rx_mode(vpp: Any, sim: Simulator) -> None:
    sw = create_tap(vpp, num_rx_queues=2)
    assert vpp.api.sw_interface_set_mtu(sw_if_index=sw, mtu=[1500, 0, 1400, 0]).retval == 0
    assert vpp.api.sw_interface_set_mtu(sw_if_index=sw, mtu=[0, 1450, 0, 0]).retval == 0
    assert list(vpp.api.sw_interface_dump(sw_if_index=sw)[0].mtu) == [1500, 1450, 1400, 0]
    assert vpp.api.sw_interface_set_mtu(sw_if_index=77, mtu=[1500, 0, 0, 0]).retval == -2

    mac = "02:00:00:aa:bb:cc"
    assert vpp.api.sw_interface_set_mac_address(sw_if_index=sw, mac_address=mac).retval == 0
    assert str(vpp.api.sw_interface_dump(sw_if_index=sw)[0].l2_address) == mac
    tun = create_tap(vpp, tap_flags=16)
    assert vpp.api.sw_interface_set_mac_address(sw_if_index=tun, mac_address=mac).retval == -126

    tag = vpp.api.sw_interface_tag_add_del
    assert tag(is_add=True, sw_if_index=sw, tag="vppnet:pod").retval == 0
    assert vpp.api.sw_interface_dump(sw_if_index=sw)[0].tag == "vppnet:pod"
    assert tag(is_add=True, sw_if_index=sw, tag="").retval == -7
    assert tag(is_add=False, sw_if_index=sw).retval == 0
    assert vpp.api.sw_interface_dump(sw_if_index=sw)[0].tag == ""

    rx = vpp.api.sw_interface_set_rx_mode
    assert rx(sw_if_index=sw, queue_id_valid=False, mode=1).retval == 0
    assert rx(sw_if_index=sw, queue_id_valid=True, queue_id=1, mode=2).retval == 0
    assert sim.state.interfaces.get(sw).rx_modes == [1, 2]  # type: ignore[union-attr]
    assert rx(sw_if_index=sw, queue_id_valid=True, queue_id=2, mode=2).retval == -125
    assert rx(sw_if_index=0, queue_id_valid=False, mode=1).retval == -126
    assert rx(sw_if_index=sw, queue_id_valid=False, mode=0).retval == -7


def test_unnumbered(vpp: Any, sim: Simulator) -> None:
    lender, borrower = create_tap(vpp), create_tap(vpp)
    un = vpp.api.sw_interface_set_unnumbered
    assert un(sw_if_index=lender, unnumbered_sw_if_index=borrower, is_add=True).retval == 0
    assert sim.state.interfaces.get(borrower).unnumbered_from == lender  # type: ignore[union-attr]
    # VPP's handler: a bad borrower is -2, a bad lender -10 (checked only when adding)
    assert un(sw_if_index=lender, unnumbered_sw_if_index=99, is_add=True).retval == -2
    assert un(sw_if_index=99, unnumbered_sw_if_index=borrower, is_add=True).retval == -10
    assert un(sw_if_index=99, unnumbered_sw_if_index=borrower, is_add=False).retval == 0
    assert sim.state.interfaces.get(borrower).unnumbered_from is None  # type: ignore[union-attr]
    assert un(sw_if_index=lender, unnumbered_sw_if_index=99, is_add=False).retval == -2


def test_addresses_decode_to_interfaces(vpp: Any) -> None:
    sw = create_tap(vpp)
    vpp.api.sw_interface_add_del_address(
        sw_if_index=sw, is_add=True, prefix=ipaddress.ip_interface("192.0.2.7/25")
    )
    (d,) = vpp.api.ip_address_dump(sw_if_index=sw, is_ipv6=False)
    assert d.prefix == ipaddress.ip_interface("192.0.2.7/25")
