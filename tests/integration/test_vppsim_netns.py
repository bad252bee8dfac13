"""Real tun/tap devices in network namespaces (needs root; skipped with the reason otherwise)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyroute2 import IPRoute, netns

from agent.vppsim import Simulator
from tests.integration.test_vppsim_fixtures import connect

pytestmark = pytest.mark.root


@pytest.fixture
def ns() -> Iterator[str]:
    name = f"vsimtest-{secrets.token_hex(4)}"
    netns.create(name)
    try:
        yield name
    finally:
        netns.remove(name)


@pytest.fixture
def real(tmp_path: Path) -> Iterator[Simulator]:
    with Simulator(tmp_path / "api.sock", devices="real") as s:
        yield s


def links(ns: str | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"netns": ns, "flags": 0} if ns else {}
    with IPRoute(**kwargs) as ipr:
        return {link.get_attr("IFLA_IFNAME"): link for link in ipr.get_links()}


def addresses(ns: str, name: str) -> set[str]:
    with IPRoute(netns=ns, flags=0) as ipr:
        (idx,) = ipr.link_lookup(ifname=name)
        return {
            f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}"
            for a in ipr.get_addr(index=idx)
            if not a.get_attr("IFA_ADDRESS").startswith("fe80")
        }


def default_gateways(ns: str) -> set[str]:
    with IPRoute(netns=ns, flags=0) as ipr:
        out = set()
        for family in (2, 10):
            for r in ipr.get_routes(family=family):
                if r["dst_len"] == 0 and r.get_attr("RTA_GATEWAY"):
                    out.add(r.get_attr("RTA_GATEWAY"))
        return out


def test_tun_in_netns_with_addresses_and_gateways(real: Simulator, ns: str) -> None:
    vpp = connect(real)
    r = vpp.api.tap_create_v3(
        id=3,
        tap_flags=16,
        host_namespace_set=True,
        host_namespace=ns,
        host_if_name_set=True,
        host_if_name="eth0",
        host_mtu_set=True,
        host_mtu_size=1400,
        host_ip4_prefix_set=True,
        host_ip4_prefix="10.20.0.5/24",
        host_ip6_prefix_set=True,
        host_ip6_prefix="fd20::5/64",
        host_ip4_gw_set=True,
        host_ip4_gw="10.20.0.1",
        host_ip6_gw_set=True,
        host_ip6_gw="fd20::1",
    )
    assert r.retval == 0
    assert real.real_devices
    link = links(ns)["eth0"]
    assert link.get_attr("IFLA_MTU") == 1400
    assert link["flags"] & 1, "the host side is up"
    assert link.get_attr("IFLA_CARRIER") == 1, "the simulator holds the tun fd"
    assert addresses(ns, "eth0") == {"10.20.0.5/24", "fd20::5/64"}
    assert default_gateways(ns) == {"10.20.0.1", "fd20::1"}
    assert vpp.api.tap_delete_v2(sw_if_index=r.sw_if_index).retval == 0
    assert "eth0" not in links(ns)
    vpp.disconnect()


def test_tap_with_mac_in_netns_by_path(real: Simulator, ns: str) -> None:
    vpp = connect(real)
    r = vpp.api.tap_create_v3(
        host_namespace_set=True,
        host_namespace=f"/var/run/netns/{ns}",
        host_if_name_set=True,
        host_if_name="pod0",
        host_mac_addr_set=True,
        host_mac_addr="02:aa:bb:cc:dd:ee",
        host_ip4_prefix_set=True,
        host_ip4_prefix="10.30.0.2/24",
    )
    assert r.retval == 0
    link = links(ns)["pod0"]
    assert link.get_attr("IFLA_ADDRESS") == "02:aa:bb:cc:dd:ee"
    assert link.get_attr("IFLA_MTU") == 1500
    assert addresses(ns, "pod0") == {"10.30.0.2/24"}
    (d,) = vpp.api.sw_interface_tap_v2_dump(sw_if_index=r.sw_if_index)
    assert str(d.host_mac_addr) == "02:aa:bb:cc:dd:ee"
    vpp.disconnect()
    real.stop()
    assert "pod0" not in links(ns), "stop() removes the devices"


def test_tun_in_own_netns_and_reset(real: Simulator) -> None:
    name = f"vst{secrets.token_hex(3)}"
    vpp = connect(real)
    r = vpp.api.tap_create_v3(tap_flags=16, host_if_name_set=True, host_if_name=name)
    assert r.retval == 0
    assert name in links(None)
    real.reset()
    assert name not in links(None), "reset() removes the devices"
    vpp.disconnect()


def test_errors_create_nothing(tmp_path: Path, ns: str) -> None:
    with Simulator(tmp_path / "nv.sock", devices="real", vhost_net=False) as s:
        vpp = connect(s)
        r = vpp.api.tap_create_v3(
            host_namespace_set=True, host_namespace=ns, host_if_name_set=True, host_if_name="eth0"
        )
        assert r.retval == -11
        assert "eth0" not in links(ns)
        vpp.disconnect()
    with Simulator(tmp_path / "v.sock", devices="real") as s:
        vpp = connect(s)
        r = vpp.api.tap_create_v3(host_namespace_set=True, host_namespace="no-such-netns-x")
        assert r.retval == -12
        vpp.api.tap_create_v3(
            host_namespace_set=True, host_namespace=ns, host_if_name_set=True, host_if_name="dup0"
        )
        r = vpp.api.tap_create_v3(
            host_namespace_set=True, host_namespace=ns, host_if_name_set=True, host_if_name="dup0"
        )
        assert r.retval == -145, "the name is taken in that netns"
        assert len(s.state.taps) == 1
        vpp.disconnect()


def test_af_packet_needs_the_host_interface(real: Simulator) -> None:
    name = f"vsv{secrets.token_hex(3)}"
    vpp = connect(real)
    assert vpp.api.af_packet_create_v3(host_if_name=name).retval == -11
    with IPRoute() as ipr:
        ipr.link("add", ifname=name, kind="veth", peer=f"{name}p")
        try:
            mac = links(None)[name].get_attr("IFLA_ADDRESS")
            r = vpp.api.af_packet_create_v3(host_if_name=name)
            assert r.retval == 0
            (d,) = vpp.api.sw_interface_dump(sw_if_index=r.sw_if_index)
            assert (d.interface_name, str(d.l2_address)) == (f"host-{name}", mac)
        finally:
            ipr.link("del", ifname=name)
    vpp.disconnect()


def test_record_mode_touches_nothing(tmp_path: Path, ns: str) -> None:
    with Simulator(tmp_path / "r.sock", devices="record") as s:
        vpp = connect(s)
        r = vpp.api.tap_create_v3(
            host_namespace_set=True, host_namespace=ns, host_if_name_set=True, host_if_name="eth9"
        )
        assert r.retval == 0 and not s.real_devices
        assert "eth9" not in links(ns)
        vpp.disconnect()


def test_unreachable_gateway_fails_like_vpps_netlink_call(real: Simulator, ns: str) -> None:
    """VPP adds the default route with a gateway and no device: the kernel refuses it."""
    vpp = connect(real)
    r = vpp.api.tap_create_v3(
        tap_flags=16,
        host_namespace_set=True,
        host_namespace=ns,
        host_if_name_set=True,
        host_if_name="eth0",
        host_ip4_prefix_set=True,
        host_ip4_prefix="10.20.0.5/32",
        host_ip4_gw_set=True,
        host_ip4_gw="169.254.0.1",
    )
    assert r.retval == -145
    assert "eth0" not in links(ns) and real.state.taps == {}
    vpp.disconnect()


def test_tap_joins_the_host_bridge(real: Simulator, ns: str) -> None:
    with IPRoute(netns=ns, flags=0) as ipr:
        ipr.link("add", ifname="br0", kind="bridge")
        (bridge,) = ipr.link_lookup(ifname="br0")
    vpp = connect(real)
    r = vpp.api.tap_create_v3(
        host_namespace_set=True,
        host_namespace=ns,
        host_if_name_set=True,
        host_if_name="tapbr",
        host_bridge_set=True,
        host_bridge="br0",
    )
    assert r.retval == 0
    assert links(ns)["tapbr"].get_attr("IFLA_MASTER") == bridge
    missing = vpp.api.tap_create_v3(
        host_namespace_set=True, host_namespace=ns, host_bridge_set=True, host_bridge="nobr"
    )
    assert missing.retval == -145
    vpp.disconnect()


def test_lcp_pair_creates_the_linux_side(real: Simulator, ns: str) -> None:
    vpp = connect(real)
    phy = vpp.api.tap_create_v3(use_random_mac=False, mac_address="02:00:00:00:11:22")
    r = vpp.api.lcp_itf_pair_add_del_v3(
        is_add=True, sw_if_index=phy.sw_if_index, host_if_name="uplink", host_if_type=0, netns=ns
    )
    assert r.retval == 0
    link = links(ns)["uplink"]
    assert (link["index"], link.get_attr("IFLA_ADDRESS")) == (r.vif_index, "02:00:00:00:11:22")
    assert vpp.api.lcp_itf_pair_add_del_v3(is_add=False, sw_if_index=phy.sw_if_index).retval == 0
    assert "uplink" not in links(ns)
    vpp.disconnect()
