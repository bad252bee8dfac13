"""The scenario format: the example, every validation rule, and properties under fuzzing."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from ipaddress import ip_address, ip_interface, ip_network
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.model import (
    DEFAULT_NETWORK,
    ClusterModel,
    EncapMode,
    InterfaceType,
    IpSetType,
    L4Protocol,
    LbType,
    MemifMode,
    MemifRole,
    PodInterfaceKey,
    PolicyId,
    PortRange,
    RuleAction,
    RxMode,
    ServiceKey,
    ServiceType,
    SessionAffinity,
    SteeredPorts,
    TrafficPolicy,
)
from agent.scenario import ScenarioError, dump_scenario, load_scenario, parse_scenario

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cluster.yaml"
Doc = dict[str, Any]


def base() -> Doc:
    """A small valid scenario that each case breaks in exactly one way."""
    return {
        "localNode": "node-a",
        "nodes": [
            {
                "name": "node-a",
                "addresses": ["192.168.0.1/24"],
                "podBlocks": [
                    {"cidr": "10.0.1.0/26"},
                    {"cidr": "172.19.1.0/26", "network": "blue"},
                ],
            },
            {
                "name": "node-b",
                "addresses": ["192.168.0.2/24"],
                "podBlocks": [{"cidr": "10.0.2.0/26"}],
            },
        ],
        "pools": [{"name": "default", "cidr": "10.0.0.0/16"}],
        "networks": [
            {
                "name": "blue",
                "vni": 4001,
                "ranges": ["172.19.0.0/16"],
                "attachments": ["demo/blue-net"],
            }
        ],
        "pods": [
            {
                "namespace": "demo",
                "name": "a",
                "netns": "/var/run/netns/a",
                "interfaces": [{"addresses": ["10.0.1.1"]}],
            },
            {
                "namespace": "demo",
                "name": "b",
                "netns": "/var/run/netns/b",
                "interfaces": [
                    {"addresses": ["10.0.1.2"]},
                    {"name": "net1", "network": "blue", "addresses": ["172.19.1.2"]},
                ],
            },
        ],
        "services": [
            {
                "namespace": "demo",
                "name": "web",
                "clusterIPs": ["10.96.0.1"],
                "ports": [{"port": 80}],
                "endpoints": [{"addresses": ["10.0.1.1"], "node": "node-a"}],
            }
        ],
        "policies": [
            {
                "namespace": "demo",
                "name": "allow",
                "ingress": [{"action": "allow", "srcIpSetIds": ["s:x"]}],
            }
        ],
        "profiles": [{"id": "kns.demo"}],
        "ipSets": [{"id": "s:x", "type": "net", "members": ["10.0.0.0/16"]}],
    }


def parse(doc: object, source: str = "cluster.yaml") -> ClusterModel:
    return parse_scenario(yaml.safe_dump(doc, sort_keys=False), source)


def problems_of(doc: object) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse(doc)
    return str(caught.value).splitlines()


# ---------------------------------------------------------------- the example


def test_example_loads_into_the_expected_model() -> None:
    model = load_scenario(EXAMPLE)
    assert model.local_node_name == "node-a"
    assert model.local_node.uplink_interface == "eth1"
    assert [n.name for n in model.remote_nodes] == ["node-b", "node-c"]
    assert model.local_node.blocks("blue") == (
        ip_network("172.19.1.0/26"),
        ip_network("fd00:172:19:1::/120"),
    )
    pool = model.pools["default-ipv4"]
    assert (pool.vxlan_mode, pool.ipip_mode, pool.nat_outgoing) == (
        EncapMode.CROSS_SUBNET,
        EncapMode.NEVER,
        True,
    )
    assert model.pools["default-ipv6"].block_size == 122
    assert {n: (net.vni, net.vrf_table_id) for n, net in model.networks.items()} == {
        "blue": (4001, 4001),
        "red": (4002, 1002),
    }
    assert len(model.pod_interfaces) == 8


def test_example_pods_carry_their_interface_settings() -> None:
    model = load_scenario(EXAMPLE)
    web = model.pod_interfaces[PodInterfaceKey("demo", "web-1", "eth0")]
    assert web.addresses == (ip_interface("10.244.1.10/32"), ip_interface("fd00:10:244:1::a/128"))
    assert web.routes == (ip_network("0.0.0.0/0"), ip_network("::/0"))
    assert (web.interface_type, web.mtu, web.netns) == (
        InterfaceType.TUN,
        1450,
        "/var/run/netns/demo-web-1",
    )
    assert web.policy.tiers[0].ingress_policies == (PolicyId("default", "allow-web", "demo"),)
    assert web.policy.profile_ids == ("kns.demo",)
    net2 = PodInterfaceKey("demo", "router-1", "net2")
    assert model.network_of(net2) == model.networks["red"]
    assert model.vrf_table_id_of(net2) == 1002
    assert model.pod_interfaces[net2].routes == (ip_network("172.21.0.0/16"),)
    tap = model.pod_interfaces[PodInterfaceKey("demo", "dpdk-app-1", "eth0")]
    assert (tap.interface_type, tap.rx_queues, tap.rx_mode, tap.queue_size) == (
        InterfaceType.TAP,
        4,
        RxMode.POLLING,
        2048,
    )
    memif = model.pod_interfaces[PodInterfaceKey("demo", "pktgen-1", "eth0")].extra_memifs[0]
    assert (memif.name, memif.rx_queues, memif.role, memif.mode) == (
        "memif0",
        2,
        MemifRole.MASTER,
        MemifMode.IP,
    )
    assert memif.steered_ports == (SteeredPorts(L4Protocol.UDP, PortRange(4444, 20000)),)
    nf = model.pod_interfaces[PodInterfaceKey("demo", "nf-1", "memif1")]
    assert (nf.interface_type, nf.network) == (InterfaceType.MEMIF, "red")


def test_example_services_and_policy() -> None:
    model = load_scenario(EXAMPLE)
    web = model.services[ServiceKey("demo", "web")]
    assert web.cluster_ips == (ip_address("10.96.0.10"), ip_address("fd00:10:96::a"))
    assert web.ports[0].target_port == 8080
    assert web.endpoints[0].port_for(web.ports[0]) == 8080
    terminating = web.endpoints[3]
    assert (terminating.ready, terminating.serving, terminating.terminating) == (False, True, True)
    public = model.services[ServiceKey("demo", "web-public")]
    assert public.service_type is ServiceType.LOAD_BALANCER
    assert public.session_affinity is SessionAffinity.CLIENT_IP
    assert public.session_affinity_timeout == 600
    assert public.external_traffic_policy is TrafficPolicy.LOCAL
    assert public.lb_type is LbType.MAGLEV
    assert model.services[ServiceKey("demo", "blue-dns")].network == "blue"
    policy = model.policies[PolicyId("default", "allow-web", "demo")]
    assert policy.ingress_rules[0].dst_ports == (PortRange(8080, 8080),)
    assert policy.ingress_rules[0].action is RuleAction.ALLOW
    assert policy.ingress_rules[2].network == "blue"
    assert model.ip_sets["s:frontends"].type is IpSetType.NET


def test_example_round_trips_through_dump() -> None:
    model = load_scenario(EXAMPLE)
    assert parse_scenario(dump_scenario(model), "dump.yaml") == model


def test_defaults_fill_a_minimal_scenario() -> None:
    model = parse(base())
    a = model.pod_interfaces[PodInterfaceKey("demo", "a", "eth0")]
    assert (a.interface_type, a.mtu, a.rx_queues, a.tx_queues, a.queue_size, a.rx_mode) == (
        InterfaceType.TUN,
        1450,
        1,
        1,
        1024,
        RxMode.DEFAULT,
    )
    # Calico's veth name for eth0: "cali" + 11 hex digits of SHA-1("<namespace>.<pod>")
    assert a.host_interface_name == "cali" + hashlib.sha1(b"demo.a").hexdigest()[:11]
    net1 = model.pod_interfaces[PodInterfaceKey("demo", "b", "net1")]
    assert net1.host_interface_name.startswith("cali") and len(net1.host_interface_name) == 15
    assert net1.routes == (ip_network("172.19.0.0/16"),)
    assert len(a.container_id) == 64
    assert a.network == DEFAULT_NETWORK
    assert model.pools["default"].block_size == 26
    service = model.services[ServiceKey("demo", "web")]
    assert service.ports[0].target_port == 80
    assert service.endpoints[0].ports[0].port == 80


# ---------------------------------------------------------------- each rule, with its path


def _set(path: str, value: object) -> Callable[[Doc], None]:
    """A mutation setting ``path`` (dotted, with [i] indexes) to ``value``; None deletes."""

    def apply(doc: Doc) -> None:
        parts: list[str | int] = []
        for piece in path.replace("]", "").replace("[", ".").split("."):
            parts.append(int(piece) if piece.isdigit() else piece)
        target: Any = doc
        for part in parts[:-1]:
            target = target[part]
        if value is None:
            del target[parts[-1]]
        elif isinstance(target, list) and parts[-1] == len(target):
            target.append(value)
        else:
            target[parts[-1]] = value

    return apply


CASES: list[tuple[Callable[[Doc], None], str]] = [
    (
        _set("pools[0].natOutgoin", True),
        "pools[0].natOutgoin: unknown field (did you mean 'natOutgoing'?)",
    ),
    (
        _set("pools[0].natOutgoing", "yes"),
        "pools[0].natOutgoing: expected true or false, got 'yes'",
    ),
    (_set("networks[0].vni", "4001"), "networks[0].vni: expected an integer, got '4001'"),
    (_set("nodes[0].addresses", None), "nodes[0].addresses: required field is missing"),
    (_set("nodes", {"name": "x"}), "nodes: expected a list, got a mapping"),
    (
        _set("pods[0].interfaces[0].type", "vhost"),
        "pods[0].interfaces[0].type: must be 'tun', 'tap', 'memif' or 'veth', got 'vhost'",
    ),
    (
        _set("pools[0].cidr", "10.0.0.1/16"),
        "pools[0].cidr: '10.0.0.1/16' has host bits set (the prefix is 10.0.0.0/16)",
    ),
    (
        _set("pools[0].cidr", "x" * 300),
        "pools[0].cidr: " + repr("x" * 300)[:57] + "... is not a valid CIDR",
    ),
    (_set("nodes[0].addresses", []), "nodes[0].addresses: needs at least 1 item(s), got 0"),
    (
        _set("pods[0].interfaces[0].mtu", 100000),
        "pods[0].interfaces[0].mtu: must be at most 9216, got 100000",
    ),
    (
        _set("pods[0].interfaces[0].rxQueue", 2),
        "pods[0].interfaces[0].rxQueue: unknown field (did you mean 'rxQueues'?)",
    ),
    (
        _set("services[0].clusterIps", []),
        "services[0].clusterIps: unknown field (did you mean 'clusterIPs'?)",
    ),
    (
        _set("nodes[0].pod blocks", []),
        "nodes[0]['pod blocks']: unknown field (did you mean 'podBlocks'?)",
    ),
    (
        _set("pools[0].cidr", "10.0.0.0"),
        "pools[0].cidr: '10.0.0.0' needs its prefix length (e.g. 10.0.0.0/24)",
    ),
    (
        _set("services[0].clusterIPs[0]", "10.96.0.300"),
        "services[0].clusterIPs[0]: '10.96.0.300' is not a valid IP address",
    ),
    (
        _set("nodes[0].addresses[0]", "192.168.0.1"),
        "nodes[0].addresses[0]: '192.168.0.1' needs its prefix length (e.g. 192.168.0.1/24)",
    ),
    (
        _set("pools[1]", {"name": "wide", "cidr": "10.0.0.0/8"}),
        "pools[1].cidr: 10.0.0.0/8 overlaps pool 'default' (10.0.0.0/16)",
    ),
    (
        _set("networks[1]", {"name": "red", "vni": 4002, "ranges": ["172.19.128.0/17"]}),
        "networks[1].ranges[0]: 172.19.128.0/17 overlaps network 'blue' (172.19.0.0/16)",
    ),
    (
        _set("networks[1]", {"name": "red", "vni": 4002, "ranges": ["10.0.128.0/17"]}),
        "networks[1].ranges[0]: 10.0.128.0/17 overlaps pool 'default' (10.0.0.0/16)",
    ),
    (
        _set("networks[0].ranges[1]", "172.20.0.0/16"),
        "networks[0].ranges[1]: a network has at most one range per IP family",
    ),
    (
        _set("nodes[1].podBlocks[0].cidr", "10.0.1.0/26"),
        "nodes[1].podBlocks[0].cidr: 10.0.1.0/26 overlaps block 10.0.1.0/26 of node 'node-a'",
    ),
    (
        _set("nodes[1].podBlocks[0].cidr", "10.1.0.0/26"),
        "nodes[1].podBlocks[0].cidr: 10.1.0.0/26 is outside every pool of the default network",
    ),
    (
        _set("nodes[0].podBlocks[1].cidr", "172.20.0.0/26"),
        "nodes[0].podBlocks[1].cidr: 172.20.0.0/26 is outside the ranges of network 'blue'",
    ),
    (
        _set("pools[1]", {"name": "blue-pool", "cidr": "10.1.0.0/16", "network": "blue"}),
        "pools[1].cidr: 10.1.0.0/16 is outside the ranges of network 'blue'",
    ),
    (_set("localNode", "node-z"), "localNode: unknown node 'node-z' (not among nodes)"),
    (
        _set("pods[1].interfaces[1].network", "red"),
        "pods[1].interfaces[1].network: unknown network 'red'",
    ),
    (_set("pools[0].network", "red"), "pools[0].network: unknown network 'red'"),
    (
        _set("services[0].endpoints[0].node", "node-z"),
        "services[0].endpoints[0].node: unknown node 'node-z'",
    ),
    (
        _set(
            "networks[1]",
            {
                "name": "red",
                "vni": 4002,
                "ranges": ["172.21.0.0/16"],
                "attachments": ["demo/blue-net"],
            },
        ),
        "networks[1].attachments[0]: NAD demo/blue-net is already mapped to network 'blue'",
    ),
    (
        _set("networks[0].attachments[0]", "blue-net"),
        "networks[0].attachments[0]: 'blue-net' must be namespace/name",
    ),
    (
        _set("nodes[1].name", "node-a"),
        "nodes[1].name: duplicate node 'node-a' (first at nodes[0].name)",
    ),
    (
        _set("pools[1]", {"name": "default", "cidr": "10.1.0.0/16"}),
        "pools[1].name: duplicate pool 'default' (first at pools[0].name)",
    ),
    (_set("pods[1].name", "a"), "pods[1].name: duplicate pod demo/a (first at pods[0].name)"),
    (
        _set("pods[1].interfaces[1].name", "eth0"),
        "pods[1].interfaces[1].name: duplicate interface name 'eth0' (first at "
        "pods[1].interfaces[0].name)",
    ),
    (
        _set("pods[1].netns", "/var/run/netns/a"),
        "pods[1].netns: duplicate netns '/var/run/netns/a' (first at pods[0].netns)",
    ),
    (
        _set("services[1]", {"namespace": "demo", "name": "web"}),
        "services[1].name: duplicate service demo/web (first at services[0].name)",
    ),
    (
        _set("policies[1]", {"namespace": "demo", "name": "allow"}),
        "policies[1].name: duplicate policy 'demo/allow' in tier 'default' (first at "
        "policies[0].name)",
    ),
    (
        _set("profiles[1]", {"id": "kns.demo"}),
        "profiles[1].id: duplicate profile 'kns.demo' (first at profiles[0].id)",
    ),
    (
        _set("ipSets[1]", {"id": "s:x", "type": "ip"}),
        "ipSets[1].id: duplicate IP set 's:x' (first at ipSets[0].id)",
    ),
    (
        _set("pods[1].interfaces[0].addresses[0]", "10.0.1.1"),
        "pods[1].interfaces[0].addresses[0]: 10.0.1.1 is already used by demo/a eth0",
    ),
    (_set("networks[0].vni", 0), "networks[0].vni: VNI 0 is out of range 1..16777215 (24 bits)"),
    (
        _set("networks[0].vni", 16777216),
        "networks[0].vni: VNI 16777216 is out of range 1..16777215 (24 bits)",
    ),
    (
        _set("networks[1]", {"name": "red", "vni": 4001, "ranges": ["172.21.0.0/16"]}),
        "networks[1].vni: VNI 4001 is already used by network 'blue'",
    ),
    (
        _set(
            "networks[1]",
            {"name": "red", "vni": 4002, "vrfTableId": 4001, "ranges": ["172.21.0.0/16"]},
        ),
        "networks[1].vrfTableId: VRF table 4001 is already used by network 'blue'",
    ),
    (
        _set("pods[0].interfaces[0].addresses[0]", "10.0.2.5"),
        "pods[0].interfaces[0].addresses[0]: 10.0.2.5 is not in any pod block of node 'node-a' "
        "for the default network",
    ),
    (
        _set("pods[1].interfaces[1].addresses[0]", "172.19.2.5"),
        "pods[1].interfaces[1].addresses[0]: 172.19.2.5 is not in any pod block of node "
        "'node-a' for network 'blue'",
    ),
    (
        _set("pools[0].blockSize", 12),
        "pools[0].blockSize: block size 12 is out of range 20..32 for an IPv4 pool",
    ),
    (
        _set("pools[1]", {"name": "v6", "cidr": "fd00::/48", "ipipMode": "Always"}),
        "pools[1].ipipMode: IPIP carries IPv4 only; use vxlanMode for IPv6",
    ),
    (
        _set("pods[0].interfaces[0].routes", ["fd00::/64"]),
        "pods[0].interfaces[0].routes[0]: fd00::/64 needs an IPv6 address on the interface",
    ),
    (
        _set("pods[0].interfaces[0].name", "a-very-long-name0"),
        "pods[0].interfaces[0].name: interface name 'a-very-long-name0' must have 1 to 15 "
        "characters",
    ),
    (_set("pods[0].netns", "netns/a"), "pods[0].netns: netns 'netns/a' must be an absolute path"),
    (
        _set("pods[0].interfaces[0].queueSize", 1000),
        "pods[0].interfaces[0].queueSize: queue size 1000 must be a power of two between 64 and "
        "32768",
    ),
    (
        _set("services[0].type", "NodePort"),
        "services[0].ports[0].nodePort: required for a NodePort service",
    ),
    (
        _set("services[0].ports[0].nodePort", 30080),
        "services[0].ports[0].nodePort: only NodePort and LoadBalancer services have node ports",
    ),
    (
        _set("services[0].sessionAffinityTimeout", 60),
        "services[0].sessionAffinityTimeout: needs sessionAffinity ClientIP",
    ),
    (
        _set("services[0].ports[0].targetPort", "web"),
        "services[0].endpoints[0].ports: required: service port '' targets the named port 'web'",
    ),
    (
        _set("services[0].endpoints[0].ports", [{"name": "http", "port": 8080}]),
        "services[0].endpoints[0].ports[0].name: no TCP service port named 'http'",
    ),
    (
        _set(
            "pods[0].interfaces[0].policy",
            {"tiers": [{"name": "default", "ingress": ["demo/deny"]}]},
        ),
        "pods[0].interfaces[0].policy.tiers[0].ingress[0]: unknown policy 'demo/deny' in tier "
        "'default'",
    ),
    (
        _set("pods[0].interfaces[0].policy", {"profiles": ["kns.other"]}),
        "pods[0].interfaces[0].policy.profiles[0]: unknown profile 'kns.other'",
    ),
    (
        _set("policies[0].ingress[0].srcIpSetIds[0]", "s:y"),
        "policies[0].ingress[0].srcIpSetIds[0]: unknown IP set 's:y'",
    ),
    (
        _set("policies[0].ingress[0].dstIpPortSetIds", ["s:x"]),
        "policies[0].ingress[0].dstIpPortSetIds[0]: IP set 's:x' is net, expected ip-and-port",
    ),
    (
        _set("policies[0].ingress[0].dstPorts", [80]),
        "policies[0].ingress[0].dstPorts: ports need protocol tcp, udp, sctp or udplite",
    ),
    (
        _set("policies[0].ingress[0].dstPorts", ["90:80"]),
        "policies[0].ingress[0].dstPorts[0]: port range '90:80' ends before it starts",
    ),
    (
        _set("policies[0].ingress[0].icmp", {"type": 8}),
        "policies[0].ingress[0].icmp: ICMP matches need protocol icmp or icmpv6",
    ),
    (
        _set("policies[0].ingress[0].protocol", "gre"),
        "policies[0].ingress[0].protocol: unknown protocol 'gre' (known: icmp, tcp, udp, "
        "icmpv6, sctp, udplite, or a number)",
    ),
    (
        _set("policies[0].ingress[0].network", "red"),
        "policies[0].ingress[0].network: unknown network 'red'",
    ),
    (
        _set("ipSets[0].members[0]", "10.0.0.1/8"),
        "ipSets[0].members[0]: '10.0.0.1/8' has host bits set (the prefix is 10.0.0.0/8)",
    ),
    (
        _set("ipSets[0].type", "set"),
        "ipSets[0].type: must be 'ip', 'net' or 'ip-and-port', got 'set'",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), CASES)
def test_each_rule_reports_file_path_and_field(
    mutate: Callable[[Doc], None], expected: str | None
) -> None:
    doc = base()
    mutate(doc)
    assert f"cluster.yaml: {expected}" in problems_of(doc)


@pytest.mark.parametrize(
    "mutate",
    [
        _set("networks[1]", {"name": "red", "vni": 7, "ranges": ["172.21.0.0/16"]}),
        _set("pools[0].ipipMode", "Always"),
        _set("pools[1]", {"name": "blue-pool", "cidr": "172.19.0.0/17", "network": "blue"}),
        _set(
            "policies[0].ingress[0]",
            {"action": "deny", "protocol": "TCP", "dstPorts": ["80:90", 443]},
        ),
        _set("policies[0].ingress[0]", {"action": "allow", "protocol": 58, "icmp": {"type": 128}}),
        _set("pods[0].interfaces[0].hostInterfaceName", "vpp-tun-1"),
    ],
)
def test_near_misses_are_valid(mutate: Callable[[Doc], None]) -> None:
    doc = base()
    mutate(doc)
    parse(doc)


def test_base_scenario_is_valid() -> None:
    model = parse(base())
    assert set(model.nodes) == {"node-a", "node-b"}


def test_all_problems_are_reported_at_once() -> None:
    doc = base()
    doc["pods"][1]["interfaces"][1]["network"] = "red"
    doc["localNode"] = "node-z"
    doc["networks"][0]["vni"] = 0
    assert len(problems_of(doc)) == 1  # type errors stop before cross-checks
    doc["networks"][0]["vni"] = 1
    assert problems_of(doc) == [
        "cluster.yaml: localNode: unknown node 'node-z' (not among nodes)",
        "cluster.yaml: pods[1].interfaces[1].network: unknown network 'red'",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "localNode: a\nnodes: [\n",
            "cluster.yaml: line 3, column 1: expected the node content, but found '<stream end>'",
        ),
        (
            "localNode: a\nlocalNode: b\n",
            "cluster.yaml: line 2, column 1: duplicate key 'localNode' (first given on line 1)",
        ),
        ("", "cluster.yaml: (document): the scenario is empty"),
        ("- a\n", "cluster.yaml: (document): expected a mapping, got a list"),
        ("localNode: a\nnodez: []\n", "cluster.yaml: nodez: unknown field (did you mean 'nodes'?)"),
        ("localNode: a\n", "cluster.yaml: nodes: required field is missing"),
        (
            "localNode: a\nnodes: []\nflavour: x\n",
            "cluster.yaml: flavour: unknown field (known fields: localNode, nodes, pools, "
            "networks, pods, services, policies, profiles, ipSets)",
        ),
        (
            "localNode: a\nx: !!int 0x1F\n",
            "cluster.yaml: line 2, column 4: cannot read this tag:yaml.org,2002:int value: "
            "invalid literal for int() with base 10: '0x1F'",
        ),
    ],
)
def test_document_level_problems(text: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "cluster.yaml")
    assert expected in str(caught.value).splitlines()


def test_yaml_1_1_surprises_are_not_applied() -> None:
    doc = base()
    doc["policies"][0]["ingress"][0].update({"protocol": "tcp", "dstPorts": ["10:20"]})
    text = yaml.safe_dump(doc).replace("'10:20'", "10:20")
    model = parse_scenario(text, "cluster.yaml")
    assert model.policies[PolicyId("default", "allow", "demo")].ingress_rules[0].dst_ports == (
        PortRange(10, 20),
    )
    with pytest.raises(
        ScenarioError, match=r"pools\[0\]\.natOutgoing: expected true or false, got 'no'"
    ):
        parse_scenario(
            yaml.safe_dump(base()).replace("name: default\n", "name: default\n  natOutgoing: no\n"),
            "c",
        )


def test_load_scenario_names_the_file_as_given(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text("localNode: a\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.source == str(path)
    assert str(caught.value) == f"{path}: nodes: required field is missing"
    assert caught.value.problems[0].path == "nodes"
    with pytest.raises(ScenarioError, match="cannot read: No such file or directory"):
        load_scenario(tmp_path / "missing.yaml")
    (tmp_path / "latin1.yaml").write_bytes(b"localNode: \xe9\n")
    with pytest.raises(ScenarioError, match=r"\(file\): not UTF-8 text"):
        load_scenario(tmp_path / "latin1.yaml")


# ---------------------------------------------------------------- properties


@st.composite
def scenarios(draw: st.DrawFn) -> Doc:
    """Random valid scenarios: a consistent address plan, then pods drawn from it."""
    node_count = draw(st.integers(1, 4))
    nodes = [f"node-{i}" for i in range(node_count)]
    local = draw(st.sampled_from(nodes))
    dual = draw(st.booleans())
    pools: list[Doc] = [
        {
            "name": "pool-v4",
            "cidr": "10.0.0.0/16",
            "blockSize": 24,
            "vxlanMode": draw(st.sampled_from(["Never", "Always", "CrossSubnet"])),
            "natOutgoing": draw(st.booleans()),
        }
    ]
    if dual:
        pools.append({"name": "pool-v6", "cidr": "fd00::/48", "disabled": draw(st.booleans())})
    vnis = draw(st.lists(st.integers(1, 2**24 - 1), min_size=0, max_size=2, unique=True))
    networks = [
        {
            "name": f"net-{i}",
            "vni": vni,
            "ranges": [f"172.{16 + i}.0.0/16"],
            "attachments": [f"demo/nad-{i}"],
        }
        for i, vni in enumerate(vnis)
    ]
    node_docs = []
    for j, name in enumerate(nodes):
        blocks: list[Doc] = [{"cidr": f"10.0.{j}.0/24"}]
        if dual:
            blocks.append({"cidr": f"fd00:0:0:{j}::/122"})
        blocks += [
            {"cidr": f"172.{16 + i}.{j}.0/24", "network": f"net-{i}"} for i in range(len(networks))
        ]
        addresses = [f"192.168.{draw(st.integers(0, 1))}.{j + 1}/24"]
        node_docs.append({"name": name, "addresses": addresses, "podBlocks": blocks})
    local_index = nodes.index(local)
    hosts = iter(draw(st.lists(st.integers(1, 60), min_size=12, max_size=12, unique=True)))
    pods = []
    for p in range(draw(st.integers(0, 4))):
        interfaces = []
        for k in range(draw(st.integers(1, 1 + len(networks)))):
            network = "" if k == 0 else f"net-{k - 1}"
            host = next(hosts)
            addresses = [
                f"10.0.{local_index}.{host}" if k == 0 else f"172.{15 + k}.{local_index}.{host}"
            ]
            if k == 0 and dual and draw(st.booleans()):
                addresses.append(f"fd00:0:0:{local_index}::{host:x}")
            interfaces.append(
                {
                    "name": "eth0" if k == 0 else f"net{k}",
                    "network": network,
                    "type": draw(st.sampled_from(["tun", "tap", "memif", "veth"])),
                    "addresses": addresses,
                    "rxQueues": draw(st.integers(1, 64)),
                    "queueSize": 2 ** draw(st.integers(6, 15)),
                    "rxMode": draw(
                        st.sampled_from(["default", "interrupt", "polling", "adaptive"])
                    ),
                }
            )
        pods.append(
            {
                "namespace": "demo",
                "name": f"pod-{p}",
                "netns": f"/var/run/netns/pod-{p}",
                "interfaces": interfaces,
            }
        )
    services = [
        {
            "namespace": "demo",
            "name": f"svc-{s}",
            "type": "NodePort",
            "clusterIPs": [f"10.96.0.{s + 1}"],
            "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30000 + s}],
            "endpoints": [
                {"addresses": [f"10.0.{e}.200"], "node": nodes[e]} for e in range(node_count)
            ],
        }
        for s in range(draw(st.integers(0, 2)))
    ]
    return {
        "localNode": local,
        "nodes": node_docs,
        "pools": pools,
        "networks": networks,
        "pods": pods,
        "services": services,
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_random_valid_scenarios_load_and_round_trip(doc: Doc) -> None:
    model = parse(doc)
    assert set(model.nodes) == {n["name"] for n in doc["nodes"]}
    assert len(model.pod_interfaces) == sum(len(p["interfaces"]) for p in doc["pods"])
    for pod in doc["pods"]:
        for interface in pod["interfaces"]:
            built = model.pod_interfaces[PodInterfaceKey("demo", pod["name"], interface["name"])]
            assert built.ip_addresses == tuple(ip_address(a) for a in interface["addresses"])
            assert model.vrf_table_id_of(built) == (
                0 if not interface["network"] else model.networks[interface["network"]].vni
            )
    assert parse_scenario(dump_scenario(model), "dump.yaml") == model


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [leaf for value in node.values() for leaf in _leaves(value)]
    if isinstance(node, list):
        return [leaf for value in node for leaf in _leaves(value)]
    return [node]


def _mutate(data: st.DataObject, node: Any, leaves: list[Any]) -> Any:
    """One random edit somewhere in the document: replace with junk or with another value
    of the document (which keeps types right and stresses cross-checks), delete, add or
    duplicate."""
    if isinstance(node, dict) and node and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(node)))
        node[key] = _mutate(data, node[key], leaves)
        return node
    if isinstance(node, list) and node and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(node) - 1))
        node[index] = _mutate(data, node[index], leaves)
        return node
    action = data.draw(st.sampled_from(["replace", "swap", "delete", "add", "duplicate"]))
    if action == "delete" and isinstance(node, dict) and node:
        del node[data.draw(st.sampled_from(sorted(node)))]
    elif action == "add" and isinstance(node, dict):
        node[data.draw(st.text(max_size=10))] = data.draw(JUNK)
    elif action == "duplicate" and isinstance(node, list) and node:
        node.append(copy.deepcopy(data.draw(st.sampled_from(node))))
    elif action == "swap" and leaves:
        return data.draw(st.sampled_from(leaves))
    else:
        return data.draw(JUNK)
    return node


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.data())
def test_random_mutations_raise_nothing_but_scenario_errors(doc: Doc, data: st.DataObject) -> None:
    leaves = _leaves(doc)
    for _ in range(data.draw(st.integers(1, 4))):
        doc = _mutate(data, doc, leaves)
    try:
        parse(doc)
    except ScenarioError as error:
        assert error.problems
        assert all(line.startswith("cluster.yaml: ") for line in str(error).split("\n"))


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.data())
def test_random_text_edits_raise_nothing_but_scenario_errors(doc: Doc, data: st.DataObject) -> None:
    text = yaml.safe_dump(doc)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 5)))
    text = text[:start] + data.draw(st.text(max_size=5)) + text[end:]
    try:
        parse_scenario(text, "cluster.yaml")
    except ScenarioError as error:
        assert error.problems
