"""vppnet manager end to end: a real uplink in a node netns, the simulator as VPP.

The manager runs as a process inside the node namespace and spawns the
simulator (``vpp.binary: sim``) there. Linux is asserted through netlink,
VPP through its API dumps (the simulator does not forward packets), and
after the manager stops the uplink must equal its capture field by field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyroute2 import IPRoute

from agent.manager.capture import IFF_NOARP
from agent.vpp import VppConnection, af_packet, interfaces, ip, tap
from tests.integration.manager_fixtures import (
    GW4,
    GW6,
    GW_MAC,
    NODE4,
    NODE6,
    NODE_MAC,
    UPLINK,
    ManagerRun,
    Topology,
    assert_same_state,
    links,
    make_topology,
    manager_runs,
    remove_topology,
    settings_file,
    start_manager,
    topology,
    wait_ready,
)

pytestmark = pytest.mark.root

__all__ = ["manager_runs", "topology"]


def _vpp(topo: Topology) -> VppConnection:
    conn = VppConnection(topo.tmp / "vpp" / "api.sock", timeout=3.0)
    conn.connect(wait=5)
    return conn


def _routes(ns: str, name: str, family: int) -> dict[tuple[str, int], dict[str, Any]]:
    with IPRoute(netns=ns, flags=0) as ipr:
        (index,) = ipr.link_lookup(ifname=name)
        out = {}
        for r in ipr.get_routes(family=family):
            if r.get_attr("RTA_OIF") == index and r["proto"] != 2:
                dst = f"{r.get_attr('RTA_DST') or ('::' if family == 10 else '0.0.0.0')}"
                out[(f"{dst}/{r['dst_len']}", int(r.get_attr("RTA_TABLE")))] = {
                    "gateway": r.get_attr("RTA_GATEWAY"),
                    "priority": r.get_attr("RTA_PRIORITY"),
                }
        return out


def _addresses(ns: str, name: str) -> set[str]:
    with IPRoute(netns=ns, flags=0) as ipr:
        (index,) = ipr.link_lookup(ifname=name)
        return {
            f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}"
            for a in ipr.get_addr(index=index)
            if not a.get_attr("IFA_ADDRESS").startswith("fe80")
        }


def _start(topo: Topology, runs: list[ManagerRun], host: str = "vpp0", **kw: Any) -> ManagerRun:
    run = start_manager(topo, settings_file(topo, **kw))
    runs.append(run)
    wait_ready(topo, run, host)
    return run


def _assert_linux_side(topo: Topology, host: str, ip4: bool, ip6: bool) -> None:
    expected = ({f"{NODE4}/24"} if ip4 else set()) | ({f"{NODE6}/64"} if ip6 else set())
    assert _addresses(topo.node, host) == expected
    assert _addresses(topo.node, UPLINK) == set(), "the Linux uplink keeps no address"
    uplink = links(topo.node)[UPLINK]
    assert uplink["flags"] & 1 and uplink["flags"] & IFF_NOARP, "uplink up, ARP off"
    assert links(topo.node)[host].get_attr("IFLA_MTU") == 1450
    if ip4:
        v4 = _routes(topo.node, host, 2)
        assert v4[("0.0.0.0/0", 254)] == {"gateway": GW4, "priority": 100}
        assert v4[("10.88.0.0/16", 100)]["gateway"] == GW4
        assert ("10.99.0.0/16", 254) in v4
    if ip6:
        v6 = _routes(topo.node, host, 10)
        assert v6[("::/0", 254)] == {"gateway": GW6, "priority": 1024}
        assert v6[("fd88::/48", 254)] == {"gateway": GW6, "priority": 200}


def _assert_vpp_side(topo: Topology, host_dev: str, ip4: bool, ip6: bool) -> None:
    with _vpp(topo) as conn:
        by_name = {i.name: i for i in conn.dump(interfaces.dump())}
        up = by_name[f"host-{UPLINK}"]
        assert (up.mac, up.admin_up, up.mtu[0], up.dev_type) == (NODE_MAC, True, 1450, "af_packet")
        assert [
            a.host_if_name for a in conn.dump(af_packet.dump()) if a.sw_if_index == up.sw_if_index
        ] == [UPLINK]
        host = by_name[host_dev]
        assert host.admin_up and host.tag == "vppnet:host"
        addrs = {
            str(a.prefix)
            for v6 in (False, True)
            for a in conn.dump(interfaces.dump_addresses(up.sw_if_index, v6))
        }
        expected = ({f"{NODE4}/24"} if ip4 else set()) | ({f"{NODE6}/64"} if ip6 else set())
        assert addrs == expected
        for version, enabled, node, gw, default in (
            (4, ip4, NODE4, GW4, "0.0.0.0/0"),
            (6, ip6, NODE6, GW6, "::/0"),
        ):
            punts = conn.dump(ip.dump_punt_redirects(version == 6))
            routes = {str(r.prefix): r for r in conn.dump(ip.dump_routes(0, version == 6))}
            if not enabled:
                assert punts == []
                continue
            assert [(p.tx_sw_if_index, str(p.nh)) for p in punts] == [(host.sw_if_index, node)]
            (path,) = routes[default].paths
            assert (path.sw_if_index, str(path.nh)) == (up.sw_if_index, gw)
        if ip4:
            (path,) = routes_v4(conn)["10.99.0.0/16"].paths
            assert path.sw_if_index == up.sw_if_index and path.nh is None
            assert "10.88.0.0/16" not in routes_v4(conn), "policy tables stay in Linux"
            neighbors = conn.dump(ip.dump_neighbors(False, up.sw_if_index))
            assert [(str(n.ip), n.mac) for n in neighbors] == [(GW4, GW_MAC)]


def routes_v4(conn: VppConnection) -> dict[str, ip.Route]:
    return {str(r.prefix): r for r in conn.dump(ip.dump_routes(0, False))}


@pytest.mark.parametrize(("ip4", "ip6"), [(True, True), (True, False), (False, True)])
def test_tun_grab_and_give_back(
    tmp_path: Path, manager_runs: list[ManagerRun], ip4: bool, ip6: bool
) -> None:
    topo = make_topology(tmp_path, ip4=ip4, ip6=ip6)
    try:
        before = topo.wait_settled()
        run = _start(topo, manager_runs)
        _assert_linux_side(topo, "vpp0", ip4, ip6)
        with _vpp(topo) as conn:
            (t,) = conn.dump(tap.dump())
            assert (t.tun, t.host_if_name, t.host_mtu) == (True, "vpp0", 1450)
            tun_name = t.dev_name
        _assert_vpp_side(topo, tun_name, ip4, ip6)
        assert run.stop() == 0, run.output()
        assert "vpp0" not in links(topo.node)
        assert_same_state(before, topo.wait_settled(before))
        assert not (tmp_path / "state" / "uplink.json").exists()
    finally:
        remove_topology(topo)


def test_veth_fallback_without_vhost_net(
    topology: Topology, manager_runs: list[ManagerRun]
) -> None:
    before = topology.wait_settled()
    run = _start(topology, manager_runs, vhost_net=False)
    assert "using a veth pair" in run.output()
    _assert_linux_side(topology, "vpp0", True, True)
    host = links(topology.node)["vpp0"]
    assert host.get_attr("IFLA_ADDRESS") == NODE_MAC and host["flags"] & IFF_NOARP
    assert "vpp0-vpp" in links(topology.node)
    _assert_vpp_side(topology, "host-vpp0-vpp", True, True)
    with _vpp(topology) as conn:
        by_name = {i.name: i for i in conn.dump(interfaces.dump())}
        host_sw = by_name["host-vpp0-vpp"].sw_if_index
        assert by_name["host-vpp0-vpp"].mac == NODE_MAC
        neighbors = {
            (str(n.ip), n.mac)
            for v6 in (False, True)
            for n in conn.dump(ip.dump_neighbors(v6, host_sw))
        }
        assert neighbors == {(NODE4, NODE_MAC), (NODE6, NODE_MAC)}
    assert run.stop() == 0, run.output()
    assert {"vpp0", "vpp0-vpp"} & set(links(topology.node)) == set()
    assert_same_state(before, topology.wait_settled(before))


def test_tap_host_interface_has_the_uplink_mac(
    topology: Topology, manager_runs: list[ManagerRun]
) -> None:
    before = topology.wait_settled()
    run = _start(topology, manager_runs, "vhost0", host_interface={"type": "tap", "name": "vhost0"})
    host = links(topology.node)["vhost0"]
    assert host.get_attr("IFLA_ADDRESS") == NODE_MAC
    _assert_linux_side(topology, "vhost0", True, True)
    with _vpp(topology) as conn:
        (t,) = conn.dump(tap.dump())
        assert not t.tun and t.host_mac == NODE_MAC
    assert run.stop() == 0
    assert_same_state(before, topology.wait_settled(before))
