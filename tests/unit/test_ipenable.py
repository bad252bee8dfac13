"""IP enabling (one loopback per VRF, the rest unnumbered to it) and L2 pods' neighbours."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import plugins
from agent.model import (
    DEFAULT_NETWORK,
    ClusterModel,
    InterfaceType,
    Network,
    Node,
    PodBlock,
    PodInterface,
    PodInterfaceKey,
)
from agent.vppobjects import (
    INTERFACE_TYPES,
    AfPacket,
    Interface,
    InterfaceAddress,
    InterfaceSettings,
    Loopback,
    Neighbor,
    TunTap,
    VppName,
    VppObject,
    Vxlan,
)
from plugins import ipenable, pods

IF = ipaddress.ip_interface
IP = ipaddress.ip_address
NET = ipaddress.ip_network
MAC = "02:FE:00:00:00:0A"


def pod(
    name: str, network: str = "", kind: InterfaceType = InterfaceType.TUN, **kw: object
) -> PodInterface:
    host = 5 + sum(map(ord, name)) % 200
    address = f"10.50.1.{host}/32" if network else f"10.244.1.{host}/32"
    return PodInterface(
        key=PodInterfaceKey("default", name, "net1" if network else "eth0"),
        container_id=f"c-{name}",
        netns=f"/var/run/netns/{name}",
        host_interface_name=f"cali{name}",
        addresses=(IF(address), IF(f"fd10::{host}/128")) if not network else (IF(address),),
        network=network or DEFAULT_NETWORK,
        interface_type=kind,
        **kw,  # type: ignore[arg-type]
    )


NODES = [
    Node("a", (IF("192.168.0.1/24"),), (PodBlock(NET("10.244.1.0/26")),)),
    Node(
        "b",
        (IF("192.168.0.2/24"),),
        (PodBlock(NET("10.244.2.0/26")), PodBlock(NET("10.50.2.0/26"), "blue")),
    ),
]
BLUE = Network("blue", 4001, (NET("10.50.0.0/16"),))


def model(*pods_: PodInterface) -> ClusterModel:
    return ClusterModel.build("a", nodes=NODES, networks=[BLUE], pod_interfaces=pods_)


def interfaces(desired: dict[str, VppObject]) -> list[Interface]:
    return [o for o in desired.values() if isinstance(o, INTERFACE_TYPES)]


def test_every_interface_borrows_the_address_of_its_vrfs_loopback() -> None:
    """The invariant, over a node with default and secondary pods of every kind and tunnels."""
    desired = plugins.render(
        model(
            pod("tun", mtu=1400),
            pod("tap", kind=InterfaceType.TAP, mac=MAC),
            pod("veth", kind=InterfaceType.VETH, mac=MAC),
            pod("mem", "blue", InterfaceType.MEMIF),
            pod("blue", "blue", InterfaceType.TAP, mac=MAC),
        )
    )
    assert any(isinstance(o, Vxlan) for o in desired.values())  # the tunnel to b, in blue
    loopbacks = {o.name: o for o in desired.values() if isinstance(o, Loopback)}
    assert set(loopbacks) == {"loopback/vrf-0", "loopback/vrf-4001"}
    for obj in interfaces(desired):
        if isinstance(obj, Loopback):
            table = obj.settings.vrf4
            assert obj.settings == InterfaceSettings(admin_up=True, vrf4=table, vrf6=table)
            address = InterfaceAddress(obj.name, ipenable.LOOPBACK_ADDRESS)
            assert desired[address.key] == address
            continue
        lender = loopbacks[str(obj.settings.unnumbered_from)]
        assert lender.settings.vrf4 == obj.settings.vrf4 == obj.settings.vrf6, obj


def test_no_interface_no_loopback() -> None:
    alone = ClusterModel.build("a", nodes=NODES[:1], networks=[BLUE])  # a VRF, no tunnel
    assert not [o for o in plugins.render(alone).values() if isinstance(o, Loopback)]


def test_interfaces_that_have_ip_or_cannot_share_one_loopback_are_left_alone() -> None:
    own = TunTap("own", "eth0", "/ns", settings=InterfaceSettings(vrf4=3, vrf6=3))
    addressed = InterfaceAddress("own", IF("10.9.0.1/24"))
    chosen = AfPacket(
        "chosen", "veth1", settings=InterfaceSettings(unnumbered_from=VppName("uplink"))
    )
    split = TunTap("split", "eth0", "/ns2", settings=InterfaceSettings(vrf4=3, vrf6=4))
    out = list(ipenable.apply([own, addressed, chosen, split]))
    assert out == [own, addressed, chosen, split]  # no loopback is needed either


def test_loopbacks_come_after_the_objects_and_once_per_table() -> None:
    a = TunTap("a", "eth0", "/a", settings=InterfaceSettings(vrf4=7, vrf6=7))
    b = replace(a, name="b", host_netns="/b")
    out = list(ipenable.apply([a, b]))
    assert [o.key for o in out] == [
        "interface a",
        "interface b",
        "interface loopback/vrf-7",
        "address loopback/vrf-7 169.254.1.1/32",
    ]
    assert all(o.settings.unnumbered_from == "loopback/vrf-7" for o in out[:2])  # type: ignore[union-attr]


def test_l2_pods_get_a_neighbour_per_address_and_a_tap_is_made_with_that_mac() -> None:
    tap = pod("tap", kind=InterfaceType.TAP, mac=MAC)
    objs = list(pods.render_pod(model(tap), tap))
    assert [o for o in objs if isinstance(o, Neighbor)] == [
        Neighbor("pod/default/tap/eth0", address.ip, MAC.lower()) for address in tap.addresses
    ]
    (made,) = [o for o in objs if isinstance(o, TunTap)]
    assert made.host_mac == MAC and not made.tun
    veth = pod("veth", kind=InterfaceType.VETH, mac=MAC)
    assert len([o for o in pods.render_pod(model(veth), veth) if isinstance(o, Neighbor)]) == 2


def test_no_neighbour_without_a_mac_nor_for_l3_interfaces() -> None:
    for p in (
        pod("old-tap", kind=InterfaceType.TAP),  # recorded before vppnet kept the MAC
        pod("tun", mac=MAC),
        pod("mem", "blue", InterfaceType.MEMIF, mac=MAC),
    ):
        objs = list(pods.render_pod(model(p), p))
        assert not [o for o in objs if isinstance(o, Neighbor)], p.key
        assert all(o.host_mac is None for o in objs if isinstance(o, TunTap))
