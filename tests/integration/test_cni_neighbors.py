"""Ethernet pods (tap, veth) over the real CNI protocol: the pod side gets the MAC the CNI
chose, VPP gets it as a static neighbour, and every pod interface has IP enabled."""

from __future__ import annotations

import pytest

from agent.cni import add_request
from agent.cni import annotations as ann
from agent.cni.nsnetlink import netlink_in
from agent.model import PodInterfaceKey, ethernet_mac
from agent.vpp import af_packet, interfaces, ip, tap
from plugins.ipenable import LOOPBACK_ADDRESS
from tests.integration.cni_fixtures import CniEnv, NetnsFactory, cni, links, pod_netns

__all__ = ["cni", "pod_netns"]

pytestmark = pytest.mark.root


def vpp_neighbors(env: CniEnv) -> set[tuple[int, str, str]]:
    return {
        (n.sw_if_index, str(n.ip), n.mac)
        for ip6 in (False, True)
        for n in env.conn.dump(ip.dump_neighbors(ip6))
        if n.static
    }


def ip_enabled_with_the_loopback(env: CniEnv, sw_if_index: int) -> bool:
    iface = env.sim.state.interfaces.get(sw_if_index)
    assert iface is not None and iface.unnumbered_from is not None
    lender = env.sim.state.interfaces.get(iface.unnumbered_from)
    assert lender is not None and lender.kind == "loopback"
    assert lender.addresses == [LOOPBACK_ADDRESS] and lender.table4 == iface.table4
    return iface.ip_enabled(False) and iface.ip_enabled(True)


def test_a_tap_pod_has_the_chosen_mac_and_vpp_knows_it(
    cni: CniEnv, pod_netns: NetnsFactory
) -> None:
    ns = pod_netns()
    reply = cni.client.add(
        add_request(
            netns=ns,
            namespace="demo",
            pod="l2-1",
            addresses=["10.244.1.21/32", "fd00:10:244:1::15/128"],
            annotations={ann.INTERFACE_TYPE: "tap"},
        )
    )
    assert reply.successful, reply.error_message
    mac = ethernet_mac(PodInterfaceKey("demo", "l2-1", "eth0"))
    assert links(ns)["eth0"].mac == reply.container_mac == mac
    (t,) = cni.conn.dump(tap.dump())
    assert vpp_neighbors(cni) == {
        (t.sw_if_index, "10.244.1.21", mac),
        (t.sw_if_index, "fd00:10:244:1::15", mac),
    }
    assert ip_enabled_with_the_loopback(cni, t.sw_if_index)
    assert cni.client.delete(ns).successful
    assert vpp_neighbors(cni) == set()


def test_a_veth_pod_end_is_given_the_chosen_mac_even_if_the_pair_existed(
    cni: CniEnv, pod_netns: NetnsFactory
) -> None:
    ns = pod_netns()
    request = add_request(
        netns=ns,
        namespace="demo",
        pod="l2-2",
        addresses=["10.244.1.22/32"],
        annotations={ann.INTERFACE_TYPE: "veth"},
    )
    first = cni.client.add(request)
    assert first.successful, first.error_message
    # something changed the pod end's MAC; a repeated ADD puts the chosen one back
    with netlink_in(ns) as ipr:
        (idx,) = ipr.link_lookup(ifname="eth0")
        ipr.link("set", index=idx, address="02:00:00:00:99:99")
    assert links(ns)["eth0"].mac == "02:00:00:00:99:99"
    again = cni.client.add(request)
    assert again.successful, again.error_message
    mac = ethernet_mac(PodInterfaceKey("demo", "l2-2", "eth0"))
    assert links(ns)["eth0"].mac == again.container_mac == mac
    (afp,) = cni.conn.dump(af_packet.dump())
    assert vpp_neighbors(cni) == {(afp.sw_if_index, "10.244.1.22", mac)}
    (vpp_side,) = cni.conn.dump(interfaces.dump(afp.sw_if_index))
    assert vpp_side.mac != mac  # VPP's own side has its own MAC (the pod's gateway)
    assert ip_enabled_with_the_loopback(cni, afp.sw_if_index)
    assert cni.client.delete(ns).successful


def test_tun_pods_have_ip_enabled_and_no_neighbour(cni: CniEnv, pod_netns: NetnsFactory) -> None:
    ns = pod_netns()
    reply = cni.client.add(
        add_request(netns=ns, namespace="demo", pod="l3-1", addresses=["10.244.1.23/32"])
    )
    assert reply.successful, reply.error_message
    (t,) = cni.conn.dump(tap.dump())
    assert t.tun and ip_enabled_with_the_loopback(cni, t.sw_if_index)
    assert vpp_neighbors(cni) == set()
