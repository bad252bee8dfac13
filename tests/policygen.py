"""Random Calico policy models and packets (hypothesis strategies) for the policy oracle tests.

Small domains on purpose, so that random rules and random packets meet often:
a handful of addresses (IPv4 and IPv6), prefixes, ports, IP sets of each type,
and rules using every field Felix sends (nets and not-nets, ports, named ports,
IP sets and not-IP sets, service sets, protocols and not-protocols, ICMP type
and code, IP version, every action), in tiers that end in deny or pass, with
profiles, on three local pods.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import ip_address, ip_interface, ip_network
from typing import Any

from hypothesis import strategies as st

from agent.model import (
    ClusterModel,
    IcmpMatch,
    IpPortMember,
    IpSet,
    IpSetType,
    IpVersion,
    L4Protocol,
    PodInterface,
    PodInterfaceKey,
    Policy,
    PolicyAssignment,
    PolicyId,
    PortRange,
    Profile,
    Rule,
    RuleAction,
    TierAssignment,
    WorkloadEndpoint,
)
from plugins.policy_oracle import Packet

ADDRESSES = [ip_address(a) for a in ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.1.7", "10.9.0.1")]
ADDRESSES6 = [ip_address(a) for a in ("fd00::1", "fd00::2", "fd00:1::9")]
PREFIXES = [
    ip_network(p)
    for p in (
        "10.0.0.0/24",
        "10.0.0.1/32",
        "10.0.1.0/24",
        "0.0.0.0/0",
        "10.0.0.0/8",
        "fd00::/64",
        "fd00::1/128",
    )
]
PORTS = [53, 80, 85, 443, 1500]
RANGES = [PortRange(80, 80), PortRange(80, 90), PortRange(53, 53), PortRange(1000, 2000)]
POD_KEYS = [PodInterfaceKey("ns", f"p{i}", "eth0") for i in range(3)]
ADDR_SETS = ("s:a", "s:b", "s:c", "s:d")
PORT_SETS = ("n:http", "n:dns")


def _sets() -> st.SearchStrategy[list[IpSet]]:
    addr_set = st.tuples(
        st.sampled_from([IpSetType.NET, IpSetType.IP]),
        st.frozensets(st.sampled_from(ADDRESSES + ADDRESSES6), max_size=4),
        st.frozensets(st.sampled_from(PREFIXES), max_size=2),
    )
    member = st.builds(
        IpPortMember,
        st.sampled_from(ADDRESSES + ADDRESSES6),
        st.sampled_from([L4Protocol.TCP, L4Protocol.UDP]),
        st.sampled_from(PORTS),
    )
    port_set = st.frozensets(member, max_size=5)

    def build(
        addr: list[tuple[IpSetType, frozenset[Any], frozenset[Any]]], ports: list[frozenset[Any]]
    ) -> list[IpSet]:
        out = []
        for set_id, (kind, addresses, prefixes) in zip(ADDR_SETS, addr, strict=True):
            if kind is IpSetType.IP:
                out.append(IpSet(set_id, kind, frozenset(addresses)))
            else:
                members = {ip_network(a) for a in addresses} | set(prefixes)
                out.append(IpSet(set_id, kind, frozenset(members)))
        out += [IpSet(i, IpSetType.IP_AND_PORT, m) for i, m in zip(PORT_SETS, ports, strict=True)]
        return out

    return st.builds(
        build,
        st.lists(addr_set, min_size=len(ADDR_SETS), max_size=len(ADDR_SETS)),
        st.lists(port_set, min_size=len(PORT_SETS), max_size=len(PORT_SETS)),
    )


def _some(values: Sequence[Any], n: int = 2) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(st.sampled_from(values), max_size=n, unique=True).map(tuple)


FIELDS = (
    "ip_version",
    "not_protocol",
    "src_nets",
    "not_src_nets",
    "dst_nets",
    "not_dst_nets",
    "src_ports",
    "not_src_ports",
    "dst_ports",
    "not_dst_ports",
    "src_named_port_ip_set_ids",
    "not_src_named_port_ip_set_ids",
    "dst_named_port_ip_set_ids",
    "not_dst_named_port_ip_set_ids",
    "src_ip_set_ids",
    "not_src_ip_set_ids",
    "dst_ip_set_ids",
    "not_dst_ip_set_ids",
    "dst_ip_port_set_ids",
    "icmp",
    "not_icmp",
)


CORE = (
    "src_nets",
    "dst_nets",
    "src_ip_set_ids",
    "dst_ip_set_ids",
    "dst_ports",
    "dst_named_port_ip_set_ids",
)
WEIGHTED = FIELDS + CORE * 4  # the fields most rules use, and whose ANDs matter most


PROTOCOLS = (None, None, "tcp", "udp", 6, 17, "icmp", "icmpv6", 47)
FOCUS = (
    "src_nets",
    "dst_nets",
    "src_ip_set_ids",
    "dst_ip_set_ids",
    "dst_ports",
    "dst_named_port_ip_set_ids",
    "dst_ip_port_set_ids",
    "icmp",
    "not_icmp",
)
"""The fields whose combinations (an AND of two rules, an ICMP split) need most care."""


@st.composite
def rules(
    draw: st.DrawFn, fields: tuple[str, ...] = WEIGHTED, protocols: tuple[object, ...] = PROTOCOLS
) -> Rule:
    """A rule with a protocol (often) and one to three other match fields, so rules match often."""
    protocol = draw(st.sampled_from(protocols))
    ported = protocol in ("tcp", "udp", 6, 17)
    icmp = protocol in ("icmp", "icmpv6")
    icmp_match = st.builds(IcmpMatch, st.sampled_from([0, 8, 3]), st.sampled_from([None, 0, 1]))
    values: dict[str, object] = {}
    for name in draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True)):
        one = name.startswith("not_")
        if name == "ip_version":
            values[name] = draw(st.sampled_from([IpVersion.V4, IpVersion.V6]))
        elif name == "not_protocol":
            values[name] = draw(st.sampled_from(["udp", 6, "icmp"]))
        elif name.endswith("_nets"):
            values[name] = draw(_some(PREFIXES, 1 if one else 2))
        elif name.endswith("_ports") and ported:
            values[name] = draw(_some(RANGES, 1 if one else 2))
        elif "port_set" in name or "named_port" in name:
            values[name] = draw(_some(PORT_SETS, 1 if one else 2))
        elif name.endswith("ip_set_ids"):
            values[name] = draw(_some(ADDR_SETS, 1 if one else 2))
        elif name in ("icmp", "not_icmp") and icmp:
            values[name] = draw(icmp_match)
    action = draw(
        st.sampled_from(
            [RuleAction.ALLOW] * 3
            + [RuleAction.DENY] * 2
            + [RuleAction.PASS] * 3
            + [RuleAction.LOG]
        )
    )
    return Rule(action=action, protocol=protocol, **values)  # type: ignore[arg-type]


@st.composite
def models(draw: st.DrawFn, max_policies: int = 5) -> ClusterModel:
    """Three local pods, random policies in random tiers, random profiles."""
    n = draw(st.integers(1, max_policies))
    tier_names = ["t0", "t1", "t2"][: draw(st.sampled_from([1, 2, 2, 3, 3]))]
    policies = []
    tier_of = {}
    for i in range(n):
        tier = draw(st.sampled_from(tier_names))
        pid = PolicyId(tier, f"{tier}.pol{i}")
        tier_of[pid] = tier
        policies.append(
            Policy(
                pid,
                tuple(draw(st.lists(rules(), max_size=3))),
                tuple(draw(st.lists(rules(), max_size=3))),
            )
        )
    tail = st.sampled_from([(), (Rule(RuleAction.ALLOW),)])  # often a kns-like allow-all
    profiles = [
        Profile(
            f"prof{i}",
            tuple(draw(st.lists(rules(), max_size=2))) + draw(tail),
            tuple(draw(st.lists(rules(), max_size=2))) + draw(tail),
        )
        for i in range(2)
    ]
    defaults = {t: draw(st.sampled_from([RuleAction.DENY, RuleAction.PASS])) for t in tier_names}
    pods, endpoints = [], []
    for k, key in enumerate(POD_KEYS):
        addresses = [ip_interface(f"{ADDRESSES[k]}/32")]
        if k == 2:
            addresses.append(ip_interface(f"{ADDRESSES6[0]}/128"))
        spoof = tuple(draw(_some([ip_network("10.9.0.0/16"), ip_network("fd00:1::/64")], 1)))
        pods.append(
            PodInterface(
                key,
                key.pod,
                f"/var/run/netns/{key.pod}",
                f"cali{key.pod}",
                tuple(addresses),
                allowed_source_prefixes=spoof,
            )
        )
        ingress = [p.id for p in policies if draw(st.booleans())]
        egress = [p.id for p in policies if draw(st.booleans())]
        tiers = tuple(
            TierAssignment(
                t,
                tuple(p for p in ingress if tier_of[p] == t),
                tuple(p for p in egress if tier_of[p] == t),
                defaults[t],
            )
            for t in tier_names
            if any(tier_of[p] == t for p in ingress + egress)
        )
        profile_ids = tuple(
            draw(st.lists(st.sampled_from(["prof0", "prof1"]), max_size=2, unique=True))
        )
        endpoints.append(WorkloadEndpoint(key, PolicyAssignment(tiers, profile_ids)))
    return ClusterModel.build(
        "node-a",
        pod_interfaces=pods,
        policies=policies,
        profiles=profiles,
        ip_sets=draw(_sets()),
        workload_endpoints=endpoints,
    )


@st.composite
def packets(draw: st.DrawFn) -> Packet:
    v6 = draw(st.booleans()) and draw(st.booleans())
    pool = ADDRESSES6 if v6 else ADDRESSES
    proto = draw(st.sampled_from([6, 17, 6, 17, 58 if v6 else 1, 47]))
    return Packet(
        draw(st.sampled_from(pool)),
        draw(st.sampled_from(pool)),
        proto,
        draw(st.sampled_from(PORTS)),
        draw(st.sampled_from(PORTS)),
        draw(st.sampled_from([0, 8, 3])),
        draw(st.sampled_from([0, 1])),
    )
