"""Calico policy as Felix delivers it: policies, profiles and their rules.

Felix has already resolved selectors into IP sets and named ports into IP-and-port
sets, so a rule only ever refers to sets by id; the policy plugin never evaluates a
label selector. Direction words are the endpoint's: ingress is traffic *to* the pod.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Final

from agent.model.base import DEFAULT_NETWORK, IPNetwork, PortRange


class RuleAction(StrEnum):
    """Rule actions in Felix's lower-case spelling; ``pass`` hands over to the next tier."""

    ALLOW = "allow"
    DENY = "deny"
    PASS = "pass"
    LOG = "log"


class IpVersion(IntEnum):
    V4 = 4
    V6 = 6


PROTOCOL_NUMBERS: Final = MappingProxyType(
    {"icmp": 1, "tcp": 6, "udp": 17, "icmpv6": 58, "sctp": 132, "udplite": 136}
)
"""The protocol names Calico accepts in rules (compared case-insensitively)."""

PORT_PROTOCOLS: Final = frozenset({6, 17, 132, 136})
"""Protocols whose rules may match ports (Calico rejects ports on any other)."""

ICMP_PROTOCOLS: Final = MappingProxyType({1: IpVersion.V4, 58: IpVersion.V6})
"""Protocols whose rules may match ICMP type/code, with the IP version each implies."""

IpProtocol = int | str
"""A rule protocol: an IANA number, or one of :data:`PROTOCOL_NUMBERS`' names in lower case."""


def protocol_number(protocol: IpProtocol) -> int:
    """The IANA number of a rule protocol; raises ``ValueError`` for an unknown name."""
    if isinstance(protocol, int):
        return protocol
    try:
        return PROTOCOL_NUMBERS[protocol.lower()]
    except KeyError:
        raise ValueError(f"unknown protocol name {protocol!r}") from None


@dataclass(frozen=True, slots=True, order=True)
class PolicyId:
    """Identity of a policy: tier and name, plus namespace and kind for Felix >= 3.32.

    Felix 3.32 replaced ``PolicyID{tier, name}`` with ``{name, namespace, kind}``; keying
    on the whole tuple keeps two same-named policies of different namespaces apart
    whichever Felix we talk to.
    """

    tier: str
    name: str
    namespace: str = ""
    kind: str = ""

    def __str__(self) -> str:
        scoped = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.tier}/{scoped}"


@dataclass(frozen=True, slots=True)
class IcmpMatch:
    """An ICMP type, optionally narrowed to one code."""

    type: int
    code: int | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """One Calico rule. Every match field must hold for the rule to match.

    List fields are OR-ed within themselves (any listed net, any listed port); ``not_*``
    fields exclude. ``network`` carries calico-vpp's multinet rule annotation: the rule
    applies to the pod's interfaces in that network only; the default network's
    interfaces when empty.
    """

    action: RuleAction
    ip_version: IpVersion | None = None
    protocol: IpProtocol | None = None
    not_protocol: IpProtocol | None = None
    src_nets: tuple[IPNetwork, ...] = ()
    not_src_nets: tuple[IPNetwork, ...] = ()
    dst_nets: tuple[IPNetwork, ...] = ()
    not_dst_nets: tuple[IPNetwork, ...] = ()
    src_ports: tuple[PortRange, ...] = ()
    not_src_ports: tuple[PortRange, ...] = ()
    dst_ports: tuple[PortRange, ...] = ()
    not_dst_ports: tuple[PortRange, ...] = ()
    src_named_port_ip_set_ids: tuple[str, ...] = ()
    not_src_named_port_ip_set_ids: tuple[str, ...] = ()
    dst_named_port_ip_set_ids: tuple[str, ...] = ()
    not_dst_named_port_ip_set_ids: tuple[str, ...] = ()
    src_ip_set_ids: tuple[str, ...] = ()
    not_src_ip_set_ids: tuple[str, ...] = ()
    dst_ip_set_ids: tuple[str, ...] = ()
    not_dst_ip_set_ids: tuple[str, ...] = ()
    dst_ip_port_set_ids: tuple[str, ...] = ()
    icmp: IcmpMatch | None = None
    not_icmp: IcmpMatch | None = None
    network: str = DEFAULT_NETWORK

    @property
    def ip_set_ids(self) -> frozenset[str]:
        """Every IP set the rule refers to, so the plugin can reference-count sets."""
        return frozenset(
            self.src_named_port_ip_set_ids
            + self.not_src_named_port_ip_set_ids
            + self.dst_named_port_ip_set_ids
            + self.not_dst_named_port_ip_set_ids
            + self.src_ip_set_ids
            + self.not_src_ip_set_ids
            + self.dst_ip_set_ids
            + self.not_dst_ip_set_ids
            + self.dst_ip_port_set_ids
        )


@dataclass(frozen=True, slots=True)
class Policy:
    """An active Calico (Global)NetworkPolicy.

    ``order`` only documents Calico's ordering: the evaluation order an endpoint uses
    comes from its :class:`~agent.model.pods.PolicyAssignment`, as Felix computes it.
    """

    id: PolicyId
    ingress_rules: tuple[Rule, ...] = ()
    egress_rules: tuple[Rule, ...] = ()
    order: float | None = None
    pre_dnat: bool = False
    untracked: bool = False


@dataclass(frozen=True, slots=True)
class Profile:
    """An active Calico profile (``kns.<namespace>``, ``ksa.<namespace>.<account>``...).

    Profiles are evaluated after all tiers, when no policy decided.
    """

    id: str
    ingress_rules: tuple[Rule, ...] = ()
    egress_rules: tuple[Rule, ...] = ()
