"""nat44_ed.api: the NAT44 endpoint-dependent plugin (natOutgoing SNAT, hostPorts)."""

from __future__ import annotations

import ipaddress

from agent.vppsim.codec import Msg
from agent.vppsim.errors import (
    FEATURE_ALREADY_DISABLED,
    FEATURE_ALREADY_ENABLED,
    INVALID_VALUE,
    NO_SUCH_ENTRY,
    UNSUPPORTED,
    VALUE_EXIST,
    ApiError,
)
from agent.vppsim.handlers.base import Ctx, dump, interface, reply
from agent.vppsim.state import Nat44

NAT_IS_OUTSIDE = 16
NAT_IS_INSIDE = 32
MAX_RANGE = 65536  # bounds the work one request can cause


def _enabled(ctx: Ctx) -> Nat44:
    nat = ctx.state.nat44
    if not nat.enabled:
        raise ApiError(UNSUPPORTED, "nat44 is disabled")
    return nat


@reply("nat44_ed_plugin_enable_disable", mutating=True)
def nat44_ed_plugin_enable_disable(ctx: Ctx, msg: Msg) -> Msg:
    """Disabling drops every interface, address and session, as nat44_ed_plugin_disable does."""
    nat = ctx.state.nat44
    if msg["enable"]:
        if nat.enabled:
            raise ApiError(FEATURE_ALREADY_ENABLED, "nat44 already enabled")
        ctx.state.nat44 = Nat44(
            enabled=True,
            inside_vrf=msg["inside_vrf"],
            outside_vrf=msg["outside_vrf"],
            sessions=msg["sessions"],
            session_memory=msg["session_memory"],
            flags=int(msg["flags"]),
        )
        return {}
    if not nat.enabled:
        raise ApiError(FEATURE_ALREADY_DISABLED, "nat44 already disabled")
    ctx.state.nat44 = Nat44()
    return {}


@reply("nat44_interface_add_del_feature", mutating=True)
def nat44_interface_add_del_feature(ctx: Ctx, msg: Msg) -> Msg:
    """One side per call (inside if the INSIDE flag is set); an interface may be both."""
    nat = _enabled(ctx)
    iface = interface(ctx, msg["sw_if_index"])
    side = NAT_IS_INSIDE if int(msg["flags"]) & NAT_IS_INSIDE else NAT_IS_OUTSIDE
    current = nat.interfaces.get(iface.sw_if_index, 0)
    if msg["is_add"]:
        if current & side:
            raise ApiError(VALUE_EXIST, f"{iface.name} already a nat44 interface")
        nat.interfaces[iface.sw_if_index] = current | side
        return {}
    if not current & side:
        raise ApiError(NO_SUCH_ENTRY, f"{iface.name} is not a nat44 interface")
    if current & ~side:
        nat.interfaces[iface.sw_if_index] = current & ~side
    else:
        del nat.interfaces[iface.sw_if_index]
    return {}


@reply("nat44_add_del_interface_addr", mutating=True)
def nat44_add_del_interface_addr(ctx: Ctx, msg: Msg) -> Msg:
    nat = _enabled(ctx)
    iface = interface(ctx, msg["sw_if_index"])
    if msg["is_add"]:
        if iface.sw_if_index in nat.interface_addrs:
            raise ApiError(VALUE_EXIST, f"{iface.name} already resolves nat44 addresses")
        nat.interface_addrs[iface.sw_if_index] = int(msg["flags"])
        return {}
    if nat.interface_addrs.pop(iface.sw_if_index, None) is None:
        raise ApiError(NO_SUCH_ENTRY, f"{iface.name} does not resolve nat44 addresses")
    return {}


@reply("nat44_add_del_address_range", mutating=True)
def nat44_add_del_address_range(ctx: Ctx, msg: Msg) -> Msg:
    """Validated as a whole first, so a failing range changes nothing (VPP stops midway)."""
    nat = _enabled(ctx)
    first, last = int(msg["first_ip_address"]), int(msg["last_ip_address"])
    if last < first:
        raise ApiError(INVALID_VALUE, "last address before first")
    if last - first >= MAX_RANGE:
        raise ApiError(INVALID_VALUE, f"more than {MAX_RANGE} addresses in one range")
    addrs = [ipaddress.IPv4Address(a) for a in range(first, last + 1)]
    if msg["is_add"]:
        if any(a in nat.addresses for a in addrs):
            raise ApiError(VALUE_EXIST, "nat44 address already exists")
        for a in addrs:
            nat.addresses[a] = (msg["vrf_id"], int(msg["flags"]))
        return {}
    if any(a not in nat.addresses for a in addrs):
        raise ApiError(NO_SUCH_ENTRY, "nat44 address does not exist")
    for a in addrs:
        del nat.addresses[a]
    return {}


@dump("nat44_interface_dump")
def nat44_interface_dump(ctx: Ctx, msg: Msg) -> list[Msg]:
    nat = ctx.state.nat44
    return [{"flags": f, "sw_if_index": sw} for sw, f in sorted(nat.interfaces.items())]


@dump("nat44_interface_addr_dump")
def nat44_interface_addr_dump(ctx: Ctx, msg: Msg) -> list[Msg]:
    nat = ctx.state.nat44
    return [{"sw_if_index": sw, "flags": f} for sw, f in sorted(nat.interface_addrs.items())]
