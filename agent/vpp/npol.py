"""npol: VPP's network-policy plugin built for Calico (IP sets, rules, policies).

npol offers no dump messages: VPP hands back numeric ids at creation and
the caller must keep them (the policy work records them in its own index).
Rules are matched per interface in the order of ``configure_policies``:
rx policies, then tx policies, then profiles, each with a default action.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from agent.vpp.convert import IPAddress, IPNetwork
from agent.vpp.errors import VppApiError
from agent.vpp.request import Request, command

MESSAGES = (
    "npol_get_version",
    "npol_ipset_create",
    "npol_ipset_add_del_members",
    "npol_ipset_delete",
    "npol_rule_create",
    "npol_rule_update",
    "npol_rule_delete",
    "npol_policy_create",
    "npol_policy_update",
    "npol_policy_delete",
    "npol_configure_policies",
)


class IpsetType(IntEnum):
    IP = 0
    IP_AND_PORT = 1
    NET = 2


class Action(IntEnum):
    ALLOW = 0
    DENY = 1
    LOG = 2
    PASS = 3


class EntryType(IntEnum):
    CIDR = 0
    PORT_RANGE = 1
    PORT_IP_SET = 2
    IP_SET = 3


class Default(IntEnum):
    ALLOW = 0
    DENY = 1
    PASS = 2


class FilterType(IntEnum):
    NONE = 0
    ICMP_TYPE = 1
    ICMP_CODE = 2
    L4_PROTO = 3


@dataclass(frozen=True, slots=True)
class Member:
    """An IP set member: an address, a prefix, or (address, protocol, port)."""

    address: IPAddress | None = None
    prefix: IPNetwork | None = None
    proto: int = 0
    port: int = 0

    def encode(self) -> dict[str, Any]:
        if self.prefix is not None:
            return {"val": {"prefix": self.prefix}}
        if self.port:
            return {
                "val": {
                    "tuple": {"address": self.address, "l4_proto": self.proto, "port": self.port}
                }
            }
        return {"val": {"address": self.address}}


@dataclass(frozen=True, slots=True)
class Filter:
    type: FilterType
    value: int
    should_match: bool = True


@dataclass(frozen=True, slots=True)
class Match:
    """One rule entry: a CIDR, a port range or an IP set, on source or destination."""

    type: EntryType
    is_src: bool
    is_not: bool = False
    cidr: IPNetwork | None = None
    port_start: int = 0
    port_end: int = 0
    set_id: int = 0

    def encode(self) -> dict[str, Any]:
        if self.type == EntryType.CIDR:
            data: dict[str, Any] = {"cidr": self.cidr}
        elif self.type == EntryType.PORT_RANGE:
            data = {"port_range": {"start": self.port_start, "end": self.port_end}}
        else:
            data = {"set_id": {"set_id": self.set_id}}
        return {"is_src": self.is_src, "is_not": self.is_not, "type": int(self.type), "data": data}


@dataclass(frozen=True, slots=True)
class Rule:
    action: Action
    filters: tuple[Filter, ...] = ()
    matches: tuple[Match, ...] = field(default_factory=tuple)

    def encode(self) -> dict[str, Any]:
        if len(self.filters) > 3:
            raise ValueError("npol rules take at most 3 filters")
        filters = [
            {"value": f.value, "type": int(f.type), "should_match": int(f.should_match)}
            for f in self.filters
        ]
        filters += [{"value": 0, "type": int(FilterType.NONE), "should_match": 0}] * (
            3 - len(filters)
        )
        return {
            "action": int(self.action),
            "filters": filters,
            "num_entries": len(self.matches),
            "matches": [m.encode() for m in self.matches],
        }


def get_version() -> Request[tuple[int, int]]:
    return Request("npol_get_version", {}, lambda r: (int(r.major), int(r.minor)))


def create_ipset(set_type: IpsetType) -> Request[int]:
    return Request("npol_ipset_create", {"type": int(set_type)}, lambda r: int(r.set_id))


def ipset_members(set_id: int, members: tuple[Member, ...], is_add: bool) -> Request[None]:
    return command(
        "npol_ipset_add_del_members",
        set_id=set_id,
        is_add=is_add,
        len=len(members),
        members=[m.encode() for m in members],
    )


def delete_ipset(set_id: int) -> Request[None]:
    return command("npol_ipset_delete", set_id=set_id)


def create_rule(rule: Rule) -> Request[int]:
    return Request("npol_rule_create", {"rule": rule.encode()}, lambda r: int(r.rule_id))


def update_rule(rule_id: int, rule: Rule) -> Request[None]:
    return command("npol_rule_update", rule_id=rule_id, rule=rule.encode())


def delete_rule(rule_id: int) -> Request[None]:
    return command("npol_rule_delete", rule_id=rule_id)


def _items(inbound: tuple[int, ...], outbound: tuple[int, ...]) -> list[dict[str, Any]]:
    return [{"is_inbound": True, "rule_id": r} for r in inbound] + [
        {"is_inbound": False, "rule_id": r} for r in outbound
    ]


def create_policy(inbound: tuple[int, ...], outbound: tuple[int, ...]) -> Request[int]:
    items = _items(inbound, outbound)
    return Request(
        "npol_policy_create", {"num_items": len(items), "rules": items}, lambda r: int(r.policy_id)
    )


def update_policy(
    policy_id: int, inbound: tuple[int, ...], outbound: tuple[int, ...]
) -> Request[None]:
    items = _items(inbound, outbound)
    return command("npol_policy_update", policy_id=policy_id, num_items=len(items), rules=items)


def delete_policy(policy_id: int) -> Request[None]:
    return command("npol_policy_delete", policy_id=policy_id)


@dataclass(frozen=True, slots=True)
class InterfacePolicies:
    """What applies to one interface, in evaluation order."""

    rx_policies: tuple[int, ...] = ()
    tx_policies: tuple[int, ...] = ()
    profiles: tuple[int, ...] = ()
    policy_default_rx: Default = Default.DENY
    policy_default_tx: Default = Default.DENY
    profile_default_rx: Default = Default.ALLOW
    profile_default_tx: Default = Default.ALLOW
    invert_rx_tx: bool = False


def configure_policies(sw_if_index: int, p: InterfacePolicies) -> Request[None]:
    ids = [*p.rx_policies, *p.tx_policies, *p.profiles]
    return command(
        "npol_configure_policies",
        sw_if_index=sw_if_index,
        num_rx_policies=len(p.rx_policies),
        num_tx_policies=len(p.tx_policies),
        total_ids=len(ids),
        invert_rx_tx=int(p.invert_rx_tx),
        policy_default_rx=int(p.policy_default_rx),
        policy_default_tx=int(p.policy_default_tx),
        profile_default_rx=int(p.profile_default_rx),
        profile_default_tx=int(p.profile_default_tx),
        policy_ids=ids,
    )


def ipset_exists(set_id: int) -> Request[None]:
    """Add nothing to a set: fails (NO_SUCH_ENTRY) once the set is gone, e.g. VPP restarted.

    npol has no dumps; this is the cheapest question that tells whether a set id
    vppnet recorded still exists, without changing anything.
    """
    return command(
        "npol_ipset_add_del_members", "probe", set_id=set_id, is_add=True, len=0, members=[]
    )


NO_SUCH_ENTRY = -6


def deny_everything(sw_if_index: int, why: str) -> Request[None]:
    """Bind an interface to no policy with deny defaults: fail closed while ``why`` holds.

    VPP applies it, but the request reports failure (NO_SUCH_ENTRY, with ``why``),
    so whoever sent it retries the real binding later instead of taking this one
    for it: an interface whose policies could not be made denies all meanwhile.
    """

    def parse(_reply: Any) -> None:
        raise VppApiError("npol_configure_policies", NO_SUCH_ENTRY, f"denying everything: {why}")

    deny = InterfacePolicies(
        policy_default_rx=Default.DENY,
        policy_default_tx=Default.DENY,
        profile_default_rx=Default.DENY,
        profile_default_tx=Default.DENY,
    )
    bound = configure_policies(sw_if_index, deny)
    return Request(bound.msg, bound.args, parse, bound.what)
