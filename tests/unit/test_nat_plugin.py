"""The NAT plugin: SNAT for natOutgoing pools, hairpin, hostPorts, the cnat feature."""

from __future__ import annotations

import ipaddress

from agent.model import (
    ClusterModel,
    HostPort,
    IpPool,
    L4Protocol,
    Network,
    Node,
    PodInterface,
    PodInterfaceKey,
)
from agent.vppobjects import (
    Backend,
    CnatFeature,
    CnatTranslation,
    SnatAddresses,
    SnatExclude,
    SnatInterface,
    SnatPolicy,
    VppName,
    VppObject,
)
from plugins import nat

IP = ipaddress.ip_address
IF = ipaddress.ip_interface
NET = ipaddress.ip_network

NODE = Node("a", (IF("192.168.0.1/24"), IF("fd00::1/64")))


def pod(name: str, *addresses: str, network: str = "", **kw: object) -> PodInterface:
    return PodInterface(
        PodInterfaceKey("default", name, "eth0" if not network else "net1"),
        name,
        f"/var/run/netns/{name}",
        f"cali{name}",
        tuple(IF(a) for a in addresses),
        network=network,
        **kw,  # type: ignore[arg-type]
    )


def render(model: ClusterModel, settings: nat.NatSettings | None = None) -> set[VppObject]:
    return set(nat.render(model, settings))


def test_snat_for_nat_outgoing_pools_per_family_and_pod_table_for_all() -> None:
    model = ClusterModel.build(
        "a",
        nodes=[NODE],
        pools=[
            IpPool("masq", NET("10.0.0.0/16"), 26, nat_outgoing=True),
            IpPool("plain", NET("10.1.0.0/16"), 26),
            IpPool("v6", NET("fd10::/64"), 122, nat_outgoing=True),
        ],
        networks=[Network("blue", 56, (NET("172.19.0.0/16"),))],
        pod_interfaces=[
            pod("masq", "10.0.0.5/32", "fd10::5/128"),
            pod("plain", "10.1.0.5/32"),
            pod("blue", "172.19.0.5/32", network="blue"),
        ],
    )
    got = render(model, nat.NatSettings(uplink_interface="eth0", host_interface="tun0"))
    assert SnatAddresses(IP("192.168.0.1"), IP("fd00::1")) in got  # type: ignore[arg-type]
    assert SnatPolicy("k8s") in got
    excluded = {o.prefix for o in got if isinstance(o, SnatExclude)}
    assert excluded == {
        NET("10.0.0.0/16"),
        NET("10.1.0.0/16"),
        NET("fd10::/64"),
        NET("172.19.0.0/16"),
    }
    tables = {(o.interface, o.table) for o in got if isinstance(o, SnatInterface)}
    assert tables == {
        ("pod/default/masq/eth0", "pod"),
        ("pod/default/masq/eth0", "include-v4"),
        ("pod/default/masq/eth0", "include-v6"),
        ("pod/default/plain/eth0", "pod"),
        ("pod/default/blue/net1", "pod"),
        (VppName("tun0"), "host"),
    }
    features = {o.interface for o in got if isinstance(o, CnatFeature)}
    assert features == {
        "pod/default/masq/eth0",
        "pod/default/plain/eth0",
        "pod/default/blue/net1",
        VppName("eth0"),
        VppName("tun0"),
    }


def test_no_node_address_means_no_snat_but_features_stay() -> None:
    model = ClusterModel.build("a", pod_interfaces=[pod("x", "10.0.0.5/32")])
    got = render(model)
    assert got == {CnatFeature("pod/default/x/eth0")}


def test_v6_pods_are_not_snatted_without_a_v6_node_address() -> None:
    model = ClusterModel.build(
        "a",
        nodes=[Node("a", (IF("192.168.0.1/24"),))],
        pools=[IpPool("v6", NET("fd10::/64"), 122, nat_outgoing=True)],
        pod_interfaces=[pod("x", "fd10::5/128")],
    )
    tables = {o.table for o in render(model) if isinstance(o, SnatInterface)}
    assert tables == {"pod"}


def test_host_ports_from_every_node_address_or_the_host_ip() -> None:
    ports = (
        HostPort(L4Protocol.TCP, 80, 8080),
        HostPort(L4Protocol.UDP, 53, 5353, IP("192.168.0.1")),
        HostPort(L4Protocol.TCP, 443, 8443, IP("0.0.0.0")),
    )
    model = ClusterModel.build(
        "a",
        nodes=[NODE],
        pod_interfaces=[
            pod("web", "10.0.0.5/32", "fd10::5/128", host_ports=ports),
            pod("xlate", "10.0.0.6/32", host_ports=(HostPort(L4Protocol.TCP, 81, 8080),)),
            pod(
                "blue",
                "172.19.0.5/32",
                network="blue",
                host_ports=(HostPort(L4Protocol.TCP, 1, 9),),
            ),
        ],
    )
    got = {o.key: o for o in render(model) if isinstance(o, CnatTranslation)}
    assert set(got) == {
        "cnat TCP 192.168.0.1 8080",
        "cnat TCP fd00::1 8080",
        "cnat UDP 192.168.0.1 5353",
        "cnat TCP 192.168.0.1 8443",
        "cnat TCP fd00::1 8443",
    }
    web = got["cnat TCP 192.168.0.1 8080"]
    assert web.backends == (Backend(IP("10.0.0.5"), 80),) and web.is_real_ip
    assert got["cnat TCP fd00::1 8080"].backends == (Backend(IP("fd10::5"), 80),)
