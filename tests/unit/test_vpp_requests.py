"""The typed VPP layer builds exactly the messages VPP expects.

Every builder's request is packed with vpp-papi's own serializer against the
shipped API definitions, so a misspelt field or a wrong type fails here, not
against a live VPP.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from vpp_papi.vpp_papi import VPPApiJSONFiles

from agent.apidefs import api_dir
from agent.vpp import af_packet, cnat, interfaces, ip, memif, nat44, npol, tap, vpe, vxlan
from agent.vpp.request import Dump, Request

_, MESSAGES, _SERVICES = VPPApiJSONFiles.load_api(apidir=str(api_dir()))

V4 = ipaddress.IPv4Address("10.0.0.1")
V6 = ipaddress.IPv6Address("fd00::1")


def _pack(req: Request[Any] | Dump[Any]) -> bytes:
    fields = {"_vl_msg_id": 100, "client_index": 0, "context": 1, **req.args}
    packed: bytes = MESSAGES[req.msg].pack(fields)
    return packed


def _unpack(req: Request[Any] | Dump[Any]) -> Any:
    decoded, _ = MESSAGES[req.msg].unpack(_pack(req))
    return decoded


BUILDERS: list[Request[Any] | Dump[Any]] = [
    interfaces.dump(),
    interfaces.dump(name_filter="tap"),
    interfaces.set_admin(3, True),
    interfaces.set_mtu(3, l3=1450),
    interfaces.set_mac(3, "02:00:00:00:00:01"),
    interfaces.add_address(3, ipaddress.ip_interface("10.0.0.1/24")),
    interfaces.del_address(3, ipaddress.ip_interface("fd00::1/64")),
    interfaces.del_all_addresses(3),
    interfaces.dump_addresses(3, True),
    interfaces.set_table(3, 10, False),
    interfaces.set_tag(3, "vppnet:x"),
    interfaces.clear_tag(3),
    interfaces.set_rx_mode(3, interfaces.RxMode.POLLING),
    interfaces.set_rx_mode(3, interfaces.RxMode.ADAPTIVE, queue_id=2),
    interfaces.set_unnumbered(4, 3),
    interfaces.create_loopback(),
    interfaces.create_loopback("02:00:00:00:00:07"),
    interfaces.delete_loopback(5),
    ip.dump_tables(),
    ip.add_table(10, True, "vppnet-vrf-10-ip6"),
    ip.del_table(10, False),
    ip.add_route(
        0,
        ipaddress.ip_network("10.1.0.0/24"),
        (ip.Path(nh=V4), ip.Path(sw_if_index=3, nh=ipaddress.IPv4Address("10.0.0.2"), weight=2)),
    ),
    ip.add_route(0, ipaddress.ip_network("fd01::/64"), (ip.Path(type=ip.PathType.DROP),)),
    ip.del_route(0, ipaddress.ip_network("10.1.0.0/24")),
    ip.dump_routes(10, True),
    ip.add_neighbor(3, V4, "02:00:00:00:00:02"),
    ip.add_neighbor(3, V6, "02:00:00:00:00:02", no_fib_entry=True),
    ip.del_neighbor(3, V6, "02:00:00:00:00:02"),
    ip.dump_neighbors(True),
    ip.add_punt_redirect(ip.PuntRedirect(0xFFFFFFFF, 5, V4)),
    ip.dump_punt_redirects(False),
    tap.create(
        tap.TapCreate(
            tun=True,
            host_if_name="eth0",
            host_namespace="/var/run/netns/a",
            host_mtu=1450,
            host_ip4_prefix=ipaddress.IPv4Interface("10.0.0.5/32"),
            host_ip6_prefix=ipaddress.IPv6Interface("fd00::5/128"),
            rx_queues=4,
            gso=True,
            tag="vppnet:pod/a/b/eth0",
        )
    ),
    tap.delete(3),
    tap.dump(),
    af_packet.create(af_packet.AfPacketCreate("eth1", mac="02:00:00:00:00:03", rx_queues=2)),
    af_packet.delete("eth1"),
    af_packet.dump(),
    memif.add_socket("abstract:vpp/memif-net1,netns_name=/var/run/netns/a"),
    memif.del_socket(2),
    memif.dump_sockets(),
    memif.create(memif.MemifCreate(socket_id=2, rx_queues=2, ring_size=2048)),
    memif.delete(7),
    memif.dump(),
    vxlan.add_tunnel(vxlan.VxlanTunnel(V4, ipaddress.IPv4Address("10.0.0.2"), 4001)),
    vxlan.del_tunnel(vxlan.VxlanTunnel(V6, ipaddress.IPv6Address("fd00::2"), 4001)),
    vxlan.dump(),
    cnat.update(
        cnat.Translation(
            cnat.Endpoint(V4, 80),
            cnat.IpProto.TCP,
            (cnat.Backend(cnat.Endpoint(ipaddress.IPv4Address("10.1.0.5"), 8080)),),
            lb_type=cnat.LbType.MAGLEV,
        )
    ),
    cnat.delete(4),
    cnat.dump(),
    cnat.set_snat_policy(cnat.SnatPolicy.K8S),
    cnat.snat_policy_interface(3, cnat.SnatTable.POD, True),
    cnat.snat_exclude_prefix(ipaddress.ip_network("10.0.0.0/8"), True),
    cnat.set_snat_addresses(cnat.SnatAddresses(V4, V6)),
    cnat.get_snat_addresses(),
    cnat.purge_sessions(),
    cnat.enable_feature(3),
    nat44.enable(nat44.Nat44Config(sessions=1000)),
    nat44.disable(),
    nat44.interface_feature(3, inside=True, is_add=True),
    nat44.interface_address(3, is_add=True),
    nat44.address_range(V4, ipaddress.IPv4Address("10.0.0.9"), True),
    nat44.dump_interfaces(),
    nat44.dump_interface_addresses(),
    npol.get_version(),
    npol.create_ipset(npol.IpsetType.NET),
    npol.ipset_members(
        1,
        (
            npol.Member(address=V4),
            npol.Member(prefix=ipaddress.ip_network("10.2.0.0/16")),
            npol.Member(address=V6, proto=6, port=443),
        ),
        True,
    ),
    npol.delete_ipset(1),
    npol.create_rule(
        npol.Rule(
            npol.Action.ALLOW,
            (npol.Filter(npol.FilterType.L4_PROTO, 6),),
            (
                npol.Match(npol.EntryType.CIDR, True, cidr=ipaddress.ip_network("10.0.0.0/8")),
                npol.Match(npol.EntryType.PORT_RANGE, False, port_start=80, port_end=90),
                npol.Match(npol.EntryType.IP_SET, True, set_id=3),
            ),
        )
    ),
    npol.update_rule(1, npol.Rule(npol.Action.DENY)),
    npol.delete_rule(1),
    npol.create_policy((1, 2), (3,)),
    npol.update_policy(1, (1,), ()),
    npol.delete_policy(1),
    npol.configure_policies(3, npol.InterfacePolicies(rx_policies=(1,), profiles=(4,))),
    npol.ipset_exists(3),
    vpe.vpe_pid(),
    npol.deny_everything(3, "policy p is not in VPP"),
]


@pytest.mark.parametrize("req", BUILDERS, ids=lambda r: r.msg)
def test_every_builder_packs_with_papi(req: Request[Any] | Dump[Any]) -> None:
    assert req.msg in MESSAGES
    assert len(_pack(req)) >= 10  # u16 id, u32 client_index, u32 context at least


def test_tap_create_sets_each_flag_for_given_values() -> None:
    d = _unpack(next(b for b in BUILDERS if b.msg == "tap_create_v3"))
    assert d.host_if_name_set and d.host_if_name == "eth0"
    assert d.host_namespace_set and d.host_namespace == "/var/run/netns/a"
    assert d.host_mtu_set and d.host_mtu_size == 1450
    assert d.host_ip4_prefix_set and str(d.host_ip4_prefix) == "10.0.0.5/32"
    assert not d.host_mac_addr_set and not d.host_ip4_gw_set and not d.host_bridge_set
    assert int(d.tap_flags) == int(tap.TapFlags.TUN | tap.TapFlags.GSO)
    assert d.num_rx_queues == 4 and d.use_random_mac
    assert d.tag == "vppnet:pod/a/b/eth0"


def test_route_paths_round_trip_through_the_wire_format() -> None:
    req = ip.add_route(
        7,
        ipaddress.ip_network("fd01::/64"),
        (ip.Path(sw_if_index=2, nh=V6, weight=3, preference=1),),
    )
    route = _unpack(req).route
    assert route.table_id == 7 and route.n_paths == 1
    decoded = ip._decode_path(route.paths[0])
    assert decoded == ip.Path(sw_if_index=2, nh=V6, weight=3, preference=1)


def test_unnumbered_puts_the_address_owner_in_sw_if_index() -> None:
    d = _unpack(interfaces.set_unnumbered(borrower=9, owner=1))
    assert d.sw_if_index == 1 and d.unnumbered_sw_if_index == 9 and d.is_add


def test_loopback_mac_defaults_to_zero_so_vpp_picks_one() -> None:
    assert str(_unpack(interfaces.create_loopback()).mac_address) == "00:00:00:00:00:00"
    assert str(_unpack(interfaces.create_loopback("02:00:00:00:00:07")).mac_address) == (
        "02:00:00:00:00:07"
    )


def test_neighbor_flags() -> None:
    plain = _unpack(ip.add_neighbor(3, V4, "02:00:00:00:00:02")).neighbor
    quiet = _unpack(ip.add_neighbor(3, V4, "02:00:00:00:00:02", no_fib_entry=True)).neighbor
    assert (int(plain.flags), int(quiet.flags)) == (1, 3)  # STATIC; STATIC | NO_FIB_ENTRY


def test_npol_rule_pads_filters_to_three() -> None:
    rule = _unpack(npol.create_rule(npol.Rule(npol.Action.DENY))).rule
    assert len(rule.filters) == 3 and rule.num_entries == 0
    with pytest.raises(ValueError, match="at most 3 filters"):
        npol.Rule(npol.Action.DENY, (npol.Filter(npol.FilterType.ICMP_TYPE, 8),) * 4).encode()
