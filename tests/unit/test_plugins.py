"""Plugins turn the cluster model into the desired VPP objects, purely."""

from __future__ import annotations

import ipaddress

import pytest

import plugins
from agent.model import (
    ClusterModel,
    ExtraMemif,
    InterfaceType,
    Network,
    Node,
    PodBlock,
    PodInterface,
    PodInterfaceKey,
    RxMode,
)
from agent.vppobjects import (
    AfPacket,
    Memif,
    MemifSocket,
    Route,
    RoutePath,
    TunTap,
    VrfTable,
)
from plugins import connectivity, pods

IF = ipaddress.ip_interface
NET = ipaddress.ip_network


def pod(name: str, *addresses: str, **kw: object) -> PodInterface:
    key = PodInterfaceKey("default", name, str(kw.pop("interface", "eth0")))
    return PodInterface(
        key=key,
        container_id=f"c-{name}",
        netns=f"/var/run/netns/{name}",
        host_interface_name=f"cali{name}",
        addresses=tuple(IF(a) for a in addresses),
        **kw,  # type: ignore[arg-type]
    )


NODES = [
    Node(
        "a",
        (IF("192.168.0.1/24"), IF("fd00::1/64")),
        (PodBlock(NET("10.244.1.0/26")), PodBlock(NET("fd10::100/122"))),
    ),
    Node(
        "b",
        (IF("192.168.0.2/24"),),
        (
            PodBlock(NET("10.244.2.0/26")),
            PodBlock(NET("fd10::200/122")),
            PodBlock(NET("10.50.2.0/26"), "blue"),
        ),
    ),
]
BLUE = Network("blue", 4001, (NET("10.50.0.0/16"),))


def model(*pods_: PodInterface) -> ClusterModel:
    return ClusterModel.build("a", nodes=NODES, networks=[BLUE], pod_interfaces=pods_)


def test_a_tun_pod_gets_a_tun_with_its_addresses_and_host_routes() -> None:
    p = pod("web", "10.244.1.2/32", "fd10::102/128", mtu=1400, rx_mode=RxMode.POLLING)
    objs = list(pods.render(model(p)))
    tun = objs[0]
    assert isinstance(tun, TunTap)
    assert (tun.name, tun.host_if_name, tun.host_netns, tun.tun) == (
        "pod/default/web/eth0",
        "eth0",
        "/var/run/netns/web",
        True,
    )
    assert (str(tun.host_ip4), str(tun.host_ip6), tun.host_mtu) == (
        "10.244.1.2/32",
        "fd10::102/128",
        1400,
    )
    assert tun.gso and tun.csum_offload
    assert (tun.settings.mtu, tun.settings.rx_mode, tun.settings.vrf4) == (1400, "polling", 0)
    assert objs[1:] == [
        Route(0, NET("10.244.1.2/32"), (RoutePath(interface=tun.name),)),
        Route(0, NET("fd10::102/128"), (RoutePath(interface=tun.name),)),
    ]


def test_a_pod_on_a_network_lives_in_that_networks_vrf() -> None:
    p = pod(
        "fw", "10.50.1.5/32", interface="net1", network="blue", interface_type=InterfaceType.TAP
    )
    objs = list(pods.render(model(p)))
    assert objs[:2] == [VrfTable(4001, False), VrfTable(4001, True)]
    tap = objs[2]
    assert isinstance(tap, TunTap) and not tap.tun and tap.host_if_name == "net1"
    assert (tap.settings.vrf4, tap.settings.vrf6) == (4001, 4001)
    # an L2 tap needs the pod address as next hop to resolve the pod's MAC
    assert objs[3] == Route(
        4001,
        NET("10.50.1.5/32"),
        (RoutePath(nh=ipaddress.ip_address("10.50.1.5"), interface=tap.name),),
    )


def test_memif_and_veth_pods_and_extra_memifs() -> None:
    m = pod(
        "dpdk",
        "10.244.1.7/32",
        interface_type=InterfaceType.MEMIF,
        rx_queues=2,
        queue_size=2048,
        extra_memifs=(ExtraMemif("fast", rx_queues=4, queue_size=4096),),
    )
    v = pod("old", "10.244.1.8/32", interface_type=InterfaceType.VETH)
    objs = plugins.merge([*pods.render(model(m, v))])
    sock = objs["memif-socket pod/default/dpdk/eth0"]
    assert sock == MemifSocket(
        "pod/default/dpdk/eth0", "abstract:vpp/memif-eth0,netns_name=/var/run/netns/dpdk"
    )
    main = objs["interface pod/default/dpdk/eth0"]
    assert isinstance(main, Memif) and (main.rx_queues, main.ring_size) == (2, 2048)
    extra = objs["interface pod/default/dpdk/eth0/fast"]
    assert isinstance(extra, Memif) and (extra.rx_queues, extra.ring_size) == (4, 4096)
    assert objs["memif-socket pod/default/dpdk/eth0/fast"].path.startswith(  # type: ignore[union-attr]
        "abstract:vpp/memif-fast,"
    )
    veth = objs["interface pod/default/old/eth0"]
    assert isinstance(veth, AfPacket) and veth.host_if_name == "caliold"


def test_connectivity_routes_remote_default_blocks_via_the_node_address() -> None:
    routes = list(connectivity.render(model()))
    assert routes == [
        Route(0, NET("10.244.2.0/26"), (RoutePath(nh=ipaddress.ip_address("192.168.0.2")),)),
    ]  # node b has no IPv6 address: its IPv6 block is unreachable; blue is not the default


def test_conflicting_objects_for_one_key_are_refused() -> None:
    a = Route(0, NET("10.0.0.0/8"), (RoutePath(nh=ipaddress.ip_address("1.1.1.1")),))
    b = Route(0, NET("10.0.0.0/8"), (RoutePath(nh=ipaddress.ip_address("2.2.2.2")),))
    with pytest.raises(plugins.RenderError, match="conflicting desired objects for route 0"):
        plugins.merge([a, b])
    assert plugins.merge([a, a]) == {a.key: a}


def test_a_pod_on_an_unknown_network_is_left_out_not_fatal() -> None:
    ok = pod("web", "10.244.1.2/32")
    lost = pod("fw", "10.60.0.5/32", interface="net1", network="green")  # no such network
    desired = plugins.render(model(ok, lost))
    assert "interface pod/default/web/eth0" in desired
    assert not any("pod/default/fw" in key for key in desired)
