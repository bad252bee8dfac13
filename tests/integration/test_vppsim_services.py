"""cnat, nat44-ed, npol and linux-cp through papi."""

from __future__ import annotations

import ipaddress
from typing import Any

from agent.vppsim import Simulator
from tests.integration.test_vppsim_fixtures import NO_INDEX, create_tap, sim, vpp

__all__ = ["sim", "vpp"]

TCP, UDP = 6, 17


def _ep(addr: str, port: int) -> dict[str, Any]:
    return {"addr": addr, "sw_if_index": NO_INDEX, "if_af": 0, "port": port}


def _translation(vip: str, port: int, proto: int, backends: list[str]) -> dict[str, Any]:
    paths = [{"dst_ep": _ep(b, 8080), "src_ep": _ep("0.0.0.0", 0)} for b in backends]
    return {
        "vip": _ep(vip, port),
        "ip_proto": proto,
        "is_real_ip": 1,
        "flags": 0,
        "lb_type": 0,
        "n_paths": len(paths),
        "flow_hash_config": 0,
        "paths": paths,
    }


def test_cnat_translations(vpp: Any, sim: Simulator) -> None:
    upd = vpp.api.cnat_translation_update
    a = upd(translation=_translation("10.96.0.10", 53, UDP, ["10.1.0.5", "10.1.0.6"]))
    b = upd(translation=_translation("10.96.0.10", 53, TCP, ["10.1.0.5"]))
    assert (a.retval, b.retval) == (0, 0) and a.id != b.id
    again = upd(translation=_translation("10.96.0.10", 53, UDP, ["10.1.0.7"]))
    assert again.id == a.id, "same vip+port+proto -> same id"
    dumped = {d.translation.id: d.translation for d in vpp.api.cnat_translation_dump()}
    assert set(dumped) == {a.id, b.id}
    t = dumped[a.id]
    assert (str(t.vip.addr), t.vip.port, int(t.ip_proto), t.n_paths) == ("10.96.0.10", 53, UDP, 1)
    assert str(t.paths[0].dst_ep.addr) == "10.1.0.7"
    assert vpp.api.cnat_translation_del(id=a.id).retval == 0
    assert vpp.api.cnat_translation_del(id=a.id).retval == -6
    assert vpp.api.cnat_translation_del(id=999).retval == -6
    assert [d.translation.id for d in vpp.api.cnat_translation_dump()] == [b.id]


def test_cnat_snat(vpp: Any, sim: Simulator) -> None:
    sw = create_tap(vpp)
    assert (
        vpp.api.cnat_set_snat_addresses(
            snat_ip4="192.0.2.1", snat_ip6="fd00::1", sw_if_index=NO_INDEX
        ).retval
        == 0
    )
    r = vpp.api.cnat_get_snat_addresses()
    assert (str(r.snat_ip4), str(r.snat_ip6), r.sw_if_index) == ("192.0.2.1", "fd00::1", NO_INDEX)
    assert vpp.api.cnat_set_snat_policy(policy=2).retval == 0
    assert vpp.api.cnat_set_snat_policy(policy=9).retval == -7
    pif = vpp.api.cnat_snat_policy_add_del_if
    assert pif(sw_if_index=sw, is_add=1, table=2).retval == 0
    assert pif(sw_if_index=77, is_add=1, table=2).retval == -2
    assert pif(sw_if_index=sw, is_add=1, table=8).retval == -7
    pfx = vpp.api.cnat_snat_policy_add_del_exclude_pfx
    assert pfx(is_add=1, prefix="10.0.0.0/8").retval == 0
    assert vpp.api.feature_cnat_enable_disable(sw_if_index=sw, enable_disable=True).retval == 0
    assert vpp.api.feature_cnat_enable_disable(sw_if_index=66, enable_disable=True).retval == -2
    assert vpp.api.cnat_session_purge().retval == 0
    cnat = sim.state.cnat
    assert (cnat.snat_policy, cnat.policy_interfaces[2], cnat.enabled_interfaces) == (2, {sw}, {sw})
    assert cnat.exclude_prefixes == {ipaddress.ip_network("10.0.0.0/8")}


def test_nat44(vpp: Any, sim: Simulator) -> None:
    en = vpp.api.nat44_ed_plugin_enable_disable
    assert (
        vpp.api.nat44_interface_add_del_feature(is_add=True, flags=32, sw_if_index=0).retval == -126
    )
    assert en(enable=False).retval == -169
    assert en(enable=True, sessions=1000).retval == 0
    assert en(enable=True).retval == -170
    inside, outside = create_tap(vpp), create_tap(vpp)
    feat = vpp.api.nat44_interface_add_del_feature
    assert feat(is_add=True, flags=32, sw_if_index=inside).retval == 0
    assert feat(is_add=True, flags=32, sw_if_index=inside).retval == -81
    assert feat(is_add=True, flags=16, sw_if_index=outside).retval == 0
    assert feat(is_add=True, flags=16, sw_if_index=99).retval == -2
    assert {(d.sw_if_index, int(d.flags)) for d in vpp.api.nat44_interface_dump()} == {
        (inside, 32),
        (outside, 16),
    }
    assert feat(is_add=False, flags=16, sw_if_index=inside).retval == -6
    addr = vpp.api.nat44_add_del_interface_addr
    assert addr(is_add=True, sw_if_index=outside).retval == 0
    assert addr(is_add=True, sw_if_index=outside).retval == -81
    assert [d.sw_if_index for d in vpp.api.nat44_interface_addr_dump()] == [outside]
    rng = vpp.api.nat44_add_del_address_range
    assert (
        rng(
            first_ip_address="192.0.2.10",
            last_ip_address="192.0.2.12",
            vrf_id=NO_INDEX,
            is_add=True,
        ).retval
        == 0
    )
    assert len(sim.state.nat44.addresses) == 3
    assert (
        rng(first_ip_address="192.0.2.12", last_ip_address="192.0.2.14", is_add=True).retval == -81
    )
    assert (
        rng(first_ip_address="192.0.2.12", last_ip_address="192.0.2.10", is_add=True).retval == -7
    )
    assert (
        rng(first_ip_address="192.0.2.20", last_ip_address="192.0.2.20", is_add=False).retval == -6
    )
    assert len(sim.state.nat44.addresses) == 3, "a failing range changes nothing"
    assert en(enable=False).retval == 0
    assert vpp.api.nat44_interface_dump() == []


def test_npol(vpp: Any, sim: Simulator) -> None:
    v = vpp.api.npol_get_version()
    assert (v.major, v.minor) == (0, 1)
    s = vpp.api.npol_ipset_create(type=0)
    net = vpp.api.npol_ipset_create(type=2)
    members = [{"val": {"address": "10.0.0.1"}}, {"val": {"address": "10.0.0.2"}}]
    add = vpp.api.npol_ipset_add_del_members
    assert add(set_id=s.set_id, is_add=True, len=2, members=members).retval == 0
    assert (
        add(
            set_id=net.set_id, is_add=True, len=1, members=[{"val": {"prefix": "10.8.0.0/16"}}]
        ).retval
        == 0
    )
    assert add(set_id=s.set_id, is_add=False, len=1, members=members[:1]).retval == 0
    assert add(set_id=77, is_add=True, len=0, members=[]).retval == -6
    ipsets = sim.state.npol.ipsets
    assert ipsets[s.set_id].members == {ipaddress.ip_address("10.0.0.2")}
    assert ipsets[net.set_id].members == {ipaddress.ip_network("10.8.0.0/16")}

    filters = [{"value": 0, "type": 0, "should_match": 0}] * 3
    rule = {
        "action": 0,
        "filters": filters,
        "num_entries": 2,
        "matches": [
            {"is_src": True, "is_not": False, "type": 0, "data": {"cidr": "10.1.0.0/16"}},
            {"is_src": False, "is_not": False, "type": 3, "data": {"set_id": {"set_id": s.set_id}}},
        ],
    }
    r = vpp.api.npol_rule_create(rule=rule)
    assert r.retval == 0
    stored = sim.state.npol.rules[r.rule_id]
    assert stored["matches"][0]["data"] == ipaddress.ip_network("10.1.0.0/16")
    assert stored["matches"][1]["data"] == s.set_id
    assert vpp.api.npol_rule_update(rule_id=r.rule_id, rule={**rule, "action": 1}).retval == 0
    assert sim.state.npol.rules[r.rule_id]["action"] == 1
    assert vpp.api.npol_rule_update(rule_id=50, rule=rule).retval == -6

    items = [{"is_inbound": True, "rule_id": r.rule_id}]
    p = vpp.api.npol_policy_create(num_items=1, rules=items)
    assert p.retval == 0
    assert vpp.api.npol_policy_create(num_items=1, rules=[{"rule_id": 99}]).retval == -6
    sw = create_tap(vpp)
    conf = vpp.api.npol_configure_policies
    assert (
        conf(
            sw_if_index=sw,
            num_rx_policies=1,
            num_tx_policies=0,
            total_ids=2,
            policy_default_rx=1,
            policy_ids=[p.policy_id, p.policy_id],
        ).retval
        == 0
    )
    cfg = sim.state.npol.interfaces[sw]
    assert (cfg.rx_policies, cfg.tx_policies, cfg.profiles) == ([p.policy_id], [], [p.policy_id])
    assert conf(sw_if_index=99, total_ids=0, policy_ids=[]).retval == -2
    assert conf(sw_if_index=sw, num_rx_policies=1, total_ids=1, policy_ids=[42]).retval == -6
    assert vpp.api.npol_policy_update(policy_id=p.policy_id, num_items=0, rules=[]).retval == 0
    assert vpp.api.npol_policy_delete(policy_id=p.policy_id).retval == 0
    assert vpp.api.npol_policy_delete(policy_id=p.policy_id).retval == -6
    assert vpp.api.npol_rule_delete(rule_id=r.rule_id).retval == 0
    assert vpp.api.npol_ipset_delete(set_id=s.set_id).retval == 0
    assert vpp.api.npol_ipset_delete(set_id=s.set_id).retval == -6
    assert vpp.api.npol_ipset_create(type=1).set_id == s.set_id, "ids are reused, like VPP pools"


def test_lcp_pairs(vpp: Any, sim: Simulator) -> None:
    phy = create_tap(vpp)
    assert vpp.api.lcp_default_ns_set(netns="dataplane").retval == 0
    r = vpp.api.lcp_itf_pair_add_del_v3(
        is_add=True, sw_if_index=phy, host_if_name="eth1", host_if_type=0
    )
    assert r.retval == 0 and r.host_sw_if_index not in (phy, NO_INDEX)
    assert (
        vpp.api.lcp_itf_pair_add_del(is_add=True, sw_if_index=phy, host_if_name="x").retval == -81
    )
    assert (
        vpp.api.lcp_itf_pair_add_del_v2(is_add=True, sw_if_index=99, host_if_name="x").retval == -2
    )
    reply, details = vpp.api.lcp_itf_pair_get(cursor=0)
    assert (reply.retval, len(details)) == (0, 1)
    d = details[0]
    assert (d.phy_sw_if_index, d.host_sw_if_index, d.host_if_name, d.netns) == (
        phy,
        r.host_sw_if_index,
        "eth1",
        "dataplane",
    )
    assert vpp.api.lcp_itf_pair_add_del(is_add=False, sw_if_index=phy).retval == 0
    assert r.host_sw_if_index not in sim.state.taps
    assert vpp.api.lcp_itf_pair_add_del(is_add=False, sw_if_index=phy).retval == -2


def test_lcp_cursor_pages(vpp: Any, sim: Simulator) -> None:
    from agent.vppsim.handlers import lcp

    phys = [create_tap(vpp) for _ in range(5)]
    for i, phy in enumerate(phys):
        vpp.api.lcp_itf_pair_add_del_v2(is_add=True, sw_if_index=phy, host_if_name=f"h{i}")
    old, lcp.PAGE = lcp.PAGE, 2
    try:
        reply, details = vpp.api.lcp_itf_pair_get(cursor=0)
        assert (reply.retval, reply.cursor, len(details)) == (-165, 2, 2)
        everything = list(vpp.details_iter(vpp.api.lcp_itf_pair_get, cursor=0))
        assert [d.phy_sw_if_index for d in everything] == phys
    finally:
        lcp.PAGE = old
