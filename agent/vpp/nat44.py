"""nat44-ed: endpoint-dependent NAT44 (SNAT of pod traffic leaving the cluster).

Only the address pool and the inside/outside interface roles are needed:
vppnet source-NATs pods in natOutgoing pools to the node's address, and
does destination NAT (services, hostPorts) with cnat.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag
from typing import Any

from agent.vpp.convert import IPv4Address
from agent.vpp.request import Dump, Request, command

MESSAGES = (
    "nat44_ed_plugin_enable_disable",
    "nat44_interface_add_del_feature",
    "nat44_interface_dump",
    "nat44_add_del_interface_addr",
    "nat44_interface_addr_dump",
    "nat44_add_del_address_range",
)


class NatConfigFlags(IntFlag):
    NONE = 0
    TWICE_NAT = 1
    SELF_TWICE_NAT = 2
    OUT2IN_ONLY = 4
    ADDR_ONLY = 8
    OUTSIDE = 16
    INSIDE = 32
    STATIC = 64
    EXT_HOST_VALID = 128


class Nat44ConfigFlags(IntFlag):
    ENDPOINT_INDEPENDENT = 0
    ENDPOINT_DEPENDENT = 1
    STATIC_MAPPING_ONLY = 2
    CONNECTION_TRACKING = 4
    OUT2IN_DPO = 8


ENDPOINT_INDEPENDENT = Nat44ConfigFlags(0)


@dataclass(frozen=True, slots=True)
class Nat44Config:
    inside_vrf: int = 0
    outside_vrf: int = 0
    sessions: int = 0  # 0: VPP's default
    session_memory: int = 0
    flags: Nat44ConfigFlags = ENDPOINT_INDEPENDENT


def enable(config: Nat44Config) -> Request[None]:
    return command(
        "nat44_ed_plugin_enable_disable",
        inside_vrf=config.inside_vrf,
        outside_vrf=config.outside_vrf,
        sessions=config.sessions,
        session_memory=config.session_memory,
        enable=True,
        flags=int(config.flags),
    )


def disable() -> Request[None]:
    return command("nat44_ed_plugin_enable_disable", enable=False)


def interface_feature(sw_if_index: int, inside: bool, is_add: bool) -> Request[None]:
    flags = NatConfigFlags.INSIDE if inside else NatConfigFlags.OUTSIDE
    return command(
        "nat44_interface_add_del_feature", is_add=is_add, flags=int(flags), sw_if_index=sw_if_index
    )


def interface_address(sw_if_index: int, is_add: bool, twice_nat: bool = False) -> Request[None]:
    """Use the interface's own address(es) as NAT pool addresses."""
    flags = NatConfigFlags.TWICE_NAT if twice_nat else NatConfigFlags.NONE
    return command(
        "nat44_add_del_interface_addr", is_add=is_add, sw_if_index=sw_if_index, flags=int(flags)
    )


def address_range(
    first: IPv4Address, last: IPv4Address, is_add: bool, vrf_id: int = 0xFFFFFFFF
) -> Request[None]:
    return command(
        "nat44_add_del_address_range",
        first_ip_address=first,
        last_ip_address=last,
        vrf_id=vrf_id,
        is_add=is_add,
        flags=0,
    )


@dataclass(frozen=True, slots=True)
class NatInterface:
    sw_if_index: int
    flags: NatConfigFlags

    @property
    def inside(self) -> bool:
        return bool(self.flags & NatConfigFlags.INSIDE)

    @property
    def outside(self) -> bool:
        return bool(self.flags & NatConfigFlags.OUTSIDE)


def _nat_interface(d: Any) -> NatInterface:
    return NatInterface(int(d.sw_if_index), NatConfigFlags(int(d.flags)))


def dump_interfaces() -> Dump[NatInterface]:
    return Dump("nat44_interface_dump", {}, _nat_interface)


def dump_interface_addresses() -> Dump[NatInterface]:
    return Dump("nat44_interface_addr_dump", {}, _nat_interface)
