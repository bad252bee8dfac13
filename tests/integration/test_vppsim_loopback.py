"""The simulator's loopbacks, and IP enabling through addresses and unnumbered, via vpp-papi."""

from __future__ import annotations

import ipaddress
from typing import Any

from agent.vppsim import Simulator
from agent.vppsim.state import Interface
from tests.integration.test_vppsim_fixtures import create_tap, sim, vpp

__all__ = ["sim", "vpp"]

IF = ipaddress.ip_interface


def _iface(sim: Simulator, sw_if_index: int) -> Interface:
    iface = sim.state.interfaces.get(sw_if_index)
    assert iface is not None
    return iface


def test_loopbacks_take_the_smallest_free_instance_and_a_dead_mac(vpp: Any) -> None:
    first = vpp.api.create_loopback(mac_address="00:00:00:00:00:00")
    second = vpp.api.create_loopback(mac_address="02:00:00:00:00:07")
    assert (first.retval, second.retval) == (0, 0)
    details = {d.sw_if_index: d for d in vpp.api.sw_interface_dump()}
    loop0, loop1 = details[first.sw_if_index], details[second.sw_if_index]
    assert (loop0.interface_name, loop0.interface_dev_type) == ("loop0", "Loopback")
    assert str(loop0.l2_address) == "de:ad:00:00:00:00"
    assert (loop1.interface_name, str(loop1.l2_address)) == ("loop1", "02:00:00:00:00:07")
    assert vpp.api.delete_loopback(sw_if_index=first.sw_if_index).retval == 0
    again = vpp.api.create_loopback(mac_address="00:00:00:00:00:00")
    names = {d.sw_if_index: d.interface_name for d in vpp.api.sw_interface_dump()}
    assert names[again.sw_if_index] == "loop0"  # the freed instance is reused
    assert again.sw_if_index != first.sw_if_index  # sw_if_index is new


def test_delete_refuses_what_is_not_a_loopback(vpp: Any) -> None:
    tap = create_tap(vpp)
    assert vpp.api.delete_loopback(sw_if_index=tap).retval == -2
    assert vpp.api.delete_loopback(sw_if_index=99).retval == -2
    assert any(d.sw_if_index == tap for d in vpp.api.sw_interface_dump())


def test_link_follows_admin_state(vpp: Any) -> None:
    loop = vpp.api.create_loopback(mac_address="00:00:00:00:00:00").sw_if_index
    assert vpp.api.sw_interface_set_flags(sw_if_index=loop, flags=1).retval == 0
    (d,) = vpp.api.sw_interface_dump(sw_if_index=loop)
    assert int(d.flags) == 3  # admin up, link up


def test_ip_is_enabled_by_an_address_or_by_borrowing_one(vpp: Any, sim: Simulator) -> None:
    loop = vpp.api.create_loopback(mac_address="00:00:00:00:00:00").sw_if_index
    tap, other = create_tap(vpp), create_tap(vpp)
    assert not _iface(sim, tap).ip_enabled(False) and not _iface(sim, tap).ip_enabled(True)
    un = vpp.api.sw_interface_set_unnumbered
    assert un(sw_if_index=loop, unnumbered_sw_if_index=tap, is_add=True).retval == 0
    # unnumbered enables both families, whether or not the lender has an address yet
    assert _iface(sim, tap).ip_enabled(False) and _iface(sim, tap).ip_enabled(True)
    vpp.api.sw_interface_add_del_address(sw_if_index=other, is_add=True, prefix=IF("10.0.0.1/24"))
    assert _iface(sim, other).ip_enabled(False) and not _iface(sim, other).ip_enabled(True)
    assert un(sw_if_index=loop, unnumbered_sw_if_index=tap, is_add=False).retval == 0
    assert not _iface(sim, tap).ip_enabled(False)


def test_deleting_the_lender_ends_the_borrowing(vpp: Any, sim: Simulator) -> None:
    loop = vpp.api.create_loopback(mac_address="00:00:00:00:00:00").sw_if_index
    tap = create_tap(vpp)
    vpp.api.sw_interface_set_unnumbered(sw_if_index=loop, unnumbered_sw_if_index=tap, is_add=True)
    assert vpp.api.delete_loopback(sw_if_index=loop).retval == 0
    assert _iface(sim, tap).unnumbered_from is None
    assert not _iface(sim, tap).ip_enabled(False)


def test_a_borrower_cannot_change_table_while_the_lender_has_addresses(vpp: Any) -> None:
    """ip_table_bind honours unnumbered: what the interface borrows counts as its own."""
    vpp.api.ip_table_add_del(is_add=True, table={"table_id": 7, "is_ip6": False, "name": "t7"})
    loop = vpp.api.create_loopback(mac_address="00:00:00:00:00:00").sw_if_index
    tap = create_tap(vpp)
    vpp.api.sw_interface_set_unnumbered(sw_if_index=loop, unnumbered_sw_if_index=tap, is_add=True)
    set_table = vpp.api.sw_interface_set_table
    assert set_table(sw_if_index=tap, is_ipv6=False, vrf_id=7).retval == 0  # lender bare
    assert set_table(sw_if_index=tap, is_ipv6=False, vrf_id=0).retval == 0
    vpp.api.sw_interface_add_del_address(sw_if_index=loop, is_add=True, prefix=IF("169.254.1.1/32"))
    assert set_table(sw_if_index=tap, is_ipv6=False, vrf_id=7).retval == -114
    assert set_table(sw_if_index=tap, is_ipv6=True, vrf_id=0).retval == 0  # no IPv6 address
    vpp.api.sw_interface_set_unnumbered(sw_if_index=loop, unnumbered_sw_if_index=tap, is_add=False)
    assert set_table(sw_if_index=tap, is_ipv6=False, vrf_id=7).retval == 0


def test_one_loopback_address_per_table(vpp: Any) -> None:
    """VPP checks address conflicts per table: each VRF's loopback may hold the same one."""
    vpp.api.ip_table_add_del(is_add=True, table={"table_id": 7, "is_ip6": False, "name": "t7"})
    a = vpp.api.create_loopback(mac_address="00:00:00:00:00:00").sw_if_index
    b = vpp.api.create_loopback(mac_address="00:00:00:00:00:00").sw_if_index
    c = vpp.api.create_loopback(mac_address="00:00:00:00:00:00").sw_if_index
    assert vpp.api.sw_interface_set_table(sw_if_index=b, is_ipv6=False, vrf_id=7).retval == 0
    add = vpp.api.sw_interface_add_del_address
    assert add(sw_if_index=a, is_add=True, prefix=IF("169.254.1.1/32")).retval == 0
    assert add(sw_if_index=b, is_add=True, prefix=IF("169.254.1.1/32")).retval == 0
    assert add(sw_if_index=c, is_add=True, prefix=IF("169.254.1.1/32")).retval == -105
