"""The cluster model's helpers, invariants and purity."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv6Interface,
    ip_address,
    ip_interface,
    ip_network,
)

import pytest

from agent.model import (
    DEFAULT_NETWORK,
    DEFAULT_VRF_TABLE_ID,
    ClusterModel,
    EndpointPort,
    IpPool,
    IpPortMember,
    L4Protocol,
    NadRef,
    Network,
    Node,
    PodBlock,
    PodInterface,
    PodInterfaceKey,
    PolicyId,
    PortRange,
    Rule,
    RuleAction,
    ServiceEndpoint,
    ServicePort,
    host_prefix,
    prefix_contains,
    prefixes_overlap,
    protocol_number,
)

NODE_A = Node(
    name="node-a",
    addresses=(ip_interface("192.168.0.1/24"), ip_interface("fd00::1/64")),
    pod_blocks=(
        PodBlock(ip_network("10.0.1.0/26")),
        PodBlock(ip_network("172.19.1.0/26"), "blue"),
    ),
    uplink_interface="eth1",
)
NODE_B = Node(name="node-b", addresses=(ip_interface("192.168.0.2/24"),))
NODE_C = Node(name="node-c", addresses=(ip_interface("192.168.1.3/24"),))
DEFAULT_POOL = IpPool("default", ip_network("10.0.0.0/16"), 26, nat_outgoing=True)
NARROW_POOL = IpPool("narrow", ip_network("10.0.5.0/24"), 26)
BLUE = Network("blue", 4001, (ip_network("172.19.0.0/16"),), attachments=(NadRef("demo", "blue"),))
RED = Network("red", 4002, (ip_network("172.21.0.0/16"),), table_id=7)


def _pod(pod: str, interface: str = "eth0", network: str = DEFAULT_NETWORK) -> PodInterface:
    return PodInterface(
        key=PodInterfaceKey("demo", pod, interface),
        container_id=f"id-{pod}",
        netns=f"/var/run/netns/{pod}",
        host_interface_name=f"cali{pod}{interface}",
        addresses=(ip_interface("10.0.1.1/32"),),
        network=network,
    )


MODEL = ClusterModel.build(
    "node-a",
    nodes=[NODE_C, NODE_A, NODE_B],
    pools=[DEFAULT_POOL, NARROW_POOL],
    networks=[BLUE, RED],
    pod_interfaces=[_pod("web"), _pod("router"), _pod("router", "net1", "blue")],
)


def test_local_and_remote_nodes() -> None:
    assert MODEL.local_node is NODE_A
    assert [node.name for node in MODEL.remote_nodes] == ["node-b", "node-c"]


def test_missing_local_node_is_a_lookup_error_naming_it() -> None:
    with pytest.raises(LookupError, match="'node-z'"):
        _ = dataclasses.replace(MODEL, local_node_name="node-z").local_node


def test_node_addresses_by_family() -> None:
    assert NODE_A.ipv4_address == IPv4Interface("192.168.0.1/24")
    assert NODE_A.ipv6_address == IPv6Interface("fd00::1/64")
    assert NODE_A.address_for(6) == IPv6Interface("fd00::1/64")
    assert NODE_B.ipv6_address is None
    assert NODE_A.blocks() == (ip_network("10.0.1.0/26"),)
    assert NODE_A.blocks("blue") == (ip_network("172.19.1.0/26"),)
    assert NODE_A.blocks("red") == ()


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (ip_address("10.0.1.7"), "default"),
        (ip_interface("10.0.5.7/32"), "narrow"),
        (ip_network("10.0.5.128/26"), "narrow"),
        (ip_network("10.0.0.0/16"), "default"),
        (ip_network("10.0.0.0/8"), None),
        (ip_address("fd00::7"), None),
        (ip_address("172.19.1.1"), None),
    ],
)
def test_pool_containing_prefers_the_most_specific_pool(
    item: IPv4Address | IPv4Interface, expected: str | None
) -> None:
    pool = MODEL.pool_containing(item)
    assert (pool.name if pool else None) == expected


def test_pool_contains_addresses_interfaces_and_prefixes_of_its_family_only() -> None:
    assert DEFAULT_POOL.contains(ip_address("10.0.9.9"))
    assert DEFAULT_POOL.contains(ip_interface("10.0.9.9/24"))
    assert not DEFAULT_POOL.contains(ip_network("10.0.0.0/15"))
    assert not DEFAULT_POOL.contains(ip_address("::a00:1"))
    assert DEFAULT_POOL.version == 4


def test_vrf_table_ids() -> None:
    assert BLUE.vrf_table_id == 4001
    assert RED.vrf_table_id == 7
    assert MODEL.vrf_table_id(DEFAULT_NETWORK) == DEFAULT_VRF_TABLE_ID == 0
    assert MODEL.vrf_table_id("red") == 7
    with pytest.raises(KeyError):
        MODEL.vrf_table_id("green")


def test_network_of_a_pod_interface() -> None:
    net1 = PodInterfaceKey("demo", "router", "net1")
    assert MODEL.network_of(net1) is BLUE
    assert MODEL.network_of(PodInterfaceKey("demo", "router", "eth0")) is None
    assert MODEL.vrf_table_id_of(net1) == 4001
    assert MODEL.vrf_table_id_of(MODEL.pod_interfaces[net1]) == 4001


def test_attachment_and_pod_lookups() -> None:
    assert MODEL.network_for_attachment(NadRef("demo", "blue")) is BLUE
    assert MODEL.network_for_attachment(NadRef("other", "blue")) is None
    assert [str(p.key) for p in MODEL.pod_interfaces_in(DEFAULT_NETWORK)] == [
        "demo/router/eth0",
        "demo/web/eth0",
    ]
    assert [p.key.interface for p in MODEL.pod_interfaces_of("demo", "router")] == ["eth0", "net1"]
    assert PodInterfaceKey("demo", "web", "eth0").workload_id == "demo/web"


def test_build_refuses_duplicate_keys() -> None:
    with pytest.raises(ValueError, match="duplicate node node-a"):
        ClusterModel.build("node-a", nodes=[NODE_A, NODE_A])


def test_model_is_immutable_even_through_its_source_dicts() -> None:
    nodes = {"node-a": NODE_A}
    model = ClusterModel("node-a", nodes=nodes)
    nodes["node-b"] = NODE_B
    assert list(model.nodes) == ["node-a"]
    with pytest.raises(TypeError):
        model.nodes["node-b"] = NODE_B  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.local_node_name = "node-b"  # type: ignore[misc]
    assert model == ClusterModel("node-a", nodes={"node-a": NODE_A})


def test_prefix_helpers_never_mix_families() -> None:
    assert prefix_contains(ip_network("10.0.0.0/8"), ip_network("10.1.0.0/16"))
    assert not prefix_contains(ip_network("10.1.0.0/16"), ip_network("10.0.0.0/8"))
    assert not prefix_contains(ip_network("::/0"), ip_network("10.0.0.0/8"))
    assert prefixes_overlap(ip_network("10.1.0.0/16"), ip_network("10.0.0.0/8"))
    assert not prefixes_overlap(ip_network("10.0.0.0/16"), ip_network("10.1.0.0/16"))
    assert host_prefix(ip_address("fd00::1")) == ip_network("fd00::1/128")


def test_ports_and_protocols() -> None:
    assert str(PortRange(80, 80)) == "80"
    assert str(PortRange(8000, 8080)) == "8000:8080"
    assert 8050 in PortRange(8000, 8080)
    assert protocol_number("TCP") == 6
    assert protocol_number(47) == 47
    with pytest.raises(ValueError, match="unknown protocol"):
        protocol_number("gre")


def test_policy_vocabulary() -> None:
    assert str(PolicyId("default", "allow", "demo")) == "default/demo/allow"
    assert str(PolicyId("security", "deny-all")) == "security/deny-all"
    rule = Rule(RuleAction.ALLOW, src_ip_set_ids=("a",), dst_ip_port_set_ids=("b", "a"))
    assert rule.ip_set_ids == {"a", "b"}
    member = IpPortMember(ip_address("10.0.0.1"), L4Protocol.TCP, 8080)
    assert str(member) == "10.0.0.1,tcp:8080"


def test_endpoint_port_for_a_service_port_matches_name_and_protocol() -> None:
    endpoint = ServiceEndpoint(
        addresses=(ip_address("10.0.1.1"),),
        ports=(EndpointPort(8080, L4Protocol.TCP, "http"), EndpointPort(53, L4Protocol.UDP, "dns")),
    )
    assert endpoint.port_for(ServicePort(80, "web", L4Protocol.TCP, "http")) == 8080
    assert endpoint.port_for(ServicePort(53, 53, L4Protocol.TCP, "dns")) is None


def test_model_imports_no_validation_or_io_library() -> None:
    probe = (
        "import sys, agent.model; "
        "bad = {'pydantic', 'yaml', 'vpp_papi', 'pyroute2', 'agent.scenario'} & set(sys.modules); "
        "print(sorted(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
