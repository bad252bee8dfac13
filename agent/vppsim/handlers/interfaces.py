"""interface.api: flags, addresses, VRF binding, MTU, MAC, tags, rx mode, events."""

from __future__ import annotations

from agent.vppsim.codec import IPInterface, Msg, mac_bytes
from agent.vppsim.errors import (
    ADDRESS_FOUND_FOR_INTERFACE,
    ADDRESS_IN_USE,
    ADDRESS_LENGTH_MISMATCH,
    ADDRESS_NOT_FOUND_FOR_INTERFACE,
    DUPLICATE_IF_ADDRESS,
    INVALID_QUEUE,
    INVALID_REGISTRATION,
    INVALID_SW_IF_INDEX_2,
    INVALID_VALUE,
    NO_SUCH_FIB,
    UNSUPPORTED,
    ApiError,
)
from agent.vppsim.handlers.base import Ctx, dump, interface, reply
from agent.vppsim.state import Interface
from agent.vppsim.state.interfaces import IF_ADMIN_UP, NO_INDEX, RX_MODE_DEFAULT


def details(iface: Interface) -> Msg:
    return {
        "sw_if_index": iface.sw_if_index,
        "sup_sw_if_index": iface.sw_if_index,
        "l2_address": iface.mac,
        "flags": iface.flags,
        "type": 0,
        "link_mtu": iface.link_mtu,
        "mtu": iface.mtu,
        "interface_name": iface.name,
        "interface_dev_type": iface.dev_type,
        "tag": iface.tag,
    }


@dump("sw_interface_dump")
def sw_interface_dump(ctx: Ctx, msg: Msg) -> list[Msg]:
    """One interface by index, or all whose name contains the filter (case-insensitive)."""
    ifaces = ctx.state.interfaces
    if msg["sw_if_index"] != NO_INDEX:
        one = ifaces.get(msg["sw_if_index"])
        return [details(one)] if one is not None else []
    pattern = msg["name_filter"].lower() if msg["name_filter_valid"] else ""
    return [details(i) for i in ifaces if pattern in i.name.lower()]


@reply("sw_interface_set_flags", mutating=True)
def sw_interface_set_flags(ctx: Ctx, msg: Msg) -> Msg:
    """Only ADMIN_UP is honoured; link state follows from the driver."""
    iface = interface(ctx, msg["sw_if_index"])
    ctx.state.interfaces.set_admin(iface, bool(msg["flags"] & IF_ADMIN_UP))
    return {}


@reply("sw_interface_add_del_address", mutating=True)
def sw_interface_add_del_address(ctx: Ctx, msg: Msg) -> Msg:
    iface = interface(ctx, msg["sw_if_index"])
    if msg["del_all"]:
        iface.addresses.clear()
        return {}
    addr: IPInterface = msg["prefix"]
    if msg["is_add"]:
        check_new_address(ctx, iface, addr)
        iface.addresses.append(addr)
        return {}
    if addr not in iface.addresses:
        raise ApiError(ADDRESS_NOT_FOUND_FOR_INTERFACE, f"{addr} not on {iface.name}")
    iface.addresses.remove(addr)
    return {}


def check_new_address(ctx: Ctx, iface: Interface, addr: IPInterface) -> None:
    """ip4/ip6_add_del_interface_address: no overlap with any address in the same table."""
    if iface.sw_if_index == 0:
        raise ApiError(UNSUPPORTED, "local0 interface doesn't support IP addressing")
    plen = addr.network.prefixlen
    if plen == 0:
        raise ApiError(ADDRESS_LENGTH_MISMATCH, f"{addr}: zero prefix length")
    if addr in iface.addresses:
        raise ApiError(DUPLICATE_IF_ADDRESS, f"{addr} already on {iface.name}")
    is_ip6 = addr.version == 6
    table = iface.table(is_ip6)
    for other in ctx.state.interfaces:
        if other.table(is_ip6) != table:
            continue
        for x in other.addresses_of(is_ip6):
            if not (addr.ip in x.network or x.ip in addr.network):
                continue
            if other is iface and x.network.prefixlen == plen:
                continue  # an interface may have several addresses from one prefix
            code = DUPLICATE_IF_ADDRESS if is_ip6 else ADDRESS_IN_USE
            raise ApiError(code, f"{addr} conflicts with {x} on {other.name}")


@reply("sw_interface_set_table", mutating=True)
def sw_interface_set_table(ctx: Ctx, msg: Msg) -> Msg:
    iface = interface(ctx, msg["sw_if_index"])
    is_ip6 = bool(msg["is_ipv6"])
    if ctx.state.fib.table(is_ip6, msg["vrf_id"]) is None:
        raise ApiError(NO_SUCH_FIB, f"no IPv{6 if is_ip6 else 4} table {msg['vrf_id']}")
    if iface.addresses_of(is_ip6):
        raise ApiError(ADDRESS_FOUND_FOR_INTERFACE, f"{iface.name} has addresses")
    lender = ctx.state.interfaces.get(iface.unnumbered_from or NO_INDEX)
    if lender is not None and lender.addresses_of(is_ip6):
        # ip_table_bind honours unnumbered: the borrowed addresses count as the interface's
        raise ApiError(
            ADDRESS_FOUND_FOR_INTERFACE, f"{iface.name} borrows the addresses of {lender.name}"
        )
    if is_ip6:
        iface.table6 = msg["vrf_id"]
    else:
        iface.table4 = msg["vrf_id"]
    ctx.state.fib.collect(ctx.state.bound_tables())
    return {}


@reply("sw_interface_set_mtu", mutating=True)
def sw_interface_set_mtu(ctx: Ctx, msg: Msg) -> Msg:
    """Per protocol (L3, IP4, IP6, MPLS); 0 leaves that one unchanged."""
    iface = interface(ctx, msg["sw_if_index"])
    for i, value in enumerate(msg["mtu"]):
        if value:
            iface.mtu[i] = value
    return {}


@reply("sw_interface_set_mac_address", mutating=True)
def sw_interface_set_mac_address(ctx: Ctx, msg: Msg) -> Msg:
    iface = interface(ctx, msg["sw_if_index"])
    if iface.kind in ("local", "tun") or iface.mac == bytes(6):
        raise ApiError(UNSUPPORTED, f"{iface.name} has no MAC address")
    iface.mac = mac_bytes(msg["mac_address"]).ljust(6, b"\0")
    return {}


@reply("sw_interface_tag_add_del", mutating=True)
def sw_interface_tag_add_del(ctx: Ctx, msg: Msg) -> Msg:
    iface = interface(ctx, msg["sw_if_index"])
    if msg["is_add"]:
        if not msg["tag"]:
            raise ApiError(INVALID_VALUE, "empty tag")
        iface.tag = msg["tag"]
    else:
        iface.tag = ""
    return {}


@reply("sw_interface_set_rx_mode", mutating=True)
def sw_interface_set_rx_mode(ctx: Ctx, msg: Msg) -> Msg:
    iface = interface(ctx, msg["sw_if_index"])
    mode = int(msg["mode"])
    if not 1 <= mode <= RX_MODE_DEFAULT:
        raise ApiError(INVALID_VALUE, f"rx mode {mode}")
    if not iface.rx_modes:
        raise ApiError(UNSUPPORTED, f"{iface.name} has no rx queues")
    if msg["queue_id_valid"]:
        queue = msg["queue_id"]
        if queue >= len(iface.rx_modes):
            raise ApiError(INVALID_QUEUE, f"{iface.name} has no rx queue {queue}")
        iface.rx_modes[queue] = mode
    else:
        iface.rx_modes = [mode] * len(iface.rx_modes)
    return {}


@reply("sw_interface_set_unnumbered", mutating=True)
def sw_interface_set_unnumbered(ctx: Ctx, msg: Msg) -> Msg:
    """``sw_if_index`` lends its addresses to ``unnumbered_sw_if_index``.

    As in VPP's handler, the field names are "backwards": a bad borrower is
    INVALID_SW_IF_INDEX, a bad lender INVALID_SW_IF_INDEX_2, and the lender is
    only checked when adding; removing clears whatever the borrower used.
    """
    borrower = interface(ctx, msg["unnumbered_sw_if_index"])
    if msg["is_add"]:
        lender = interface(ctx, msg["sw_if_index"], INVALID_SW_IF_INDEX_2)
        borrower.unnumbered_from = lender.sw_if_index
    else:
        borrower.unnumbered_from = None
    return {}


@reply("want_interface_events", mutating=False)
def want_interface_events(ctx: Ctx, msg: Msg) -> Msg:
    """Subscription bookkeeping, not configuration: not counted as a mutation.

    Like VPP's want-events registrations, enabling twice or disabling when not
    subscribed is refused with INVALID_REGISTRATION.
    """
    if msg["enable_disable"]:
        changed = ctx.events.subscribe(ctx.client, msg["pid"])
    else:
        changed = ctx.events.unsubscribe(ctx.client)
    if not changed:
        raise ApiError(INVALID_REGISTRATION, "already (un)subscribed")
    return {}
