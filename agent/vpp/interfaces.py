"""Interfaces: dump, admin state, MTU, MAC, addresses, VRF binding, tags, rx mode, unnumbered.

VPP keeps no dump of an interface's VRF binding, rx mode or unnumbered
source among the v26.06 messages vppnet uses; callers that need those keep
their own record of what they applied (see agent.reconcile.index).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Any

from agent.vpp.convert import IPInterface, interface, mac_text
from agent.vpp.request import ANY_INTERFACE, Dump, Request, command, returning_sw_if_index

MESSAGES = (
    "sw_interface_dump",
    "sw_interface_set_flags",
    "sw_interface_set_mtu",
    "sw_interface_set_mac_address",
    "sw_interface_add_del_address",
    "sw_interface_set_table",
    "sw_interface_tag_add_del",
    "sw_interface_set_rx_mode",
    "sw_interface_set_unnumbered",
    "create_loopback",
    "delete_loopback",
    "ip_address_dump",
    "want_interface_events",
)


class IfStatus(IntFlag):
    ADMIN_UP = 1
    LINK_UP = 2


class RxMode(IntEnum):
    POLLING = 1
    INTERRUPT = 2
    ADAPTIVE = 3
    DEFAULT = 4


@dataclass(frozen=True, slots=True)
class Interface:
    sw_if_index: int
    name: str
    dev_type: str
    tag: str
    mac: str
    admin_up: bool
    link_up: bool
    link_mtu: int
    mtu: tuple[int, int, int, int]  # indexed by mtu_proto: L3, IP4, IP6, MPLS
    sup_sw_if_index: int


@dataclass(frozen=True, slots=True)
class InterfaceAddress:
    sw_if_index: int
    prefix: IPInterface


def _interface(d: Any) -> Interface:
    flags = int(d.flags)
    mtu = tuple(int(m) for m in d.mtu)
    return Interface(
        sw_if_index=int(d.sw_if_index),
        name=str(d.interface_name),
        dev_type=str(d.interface_dev_type),
        tag=str(d.tag),
        mac=mac_text(d.l2_address),
        admin_up=bool(flags & IfStatus.ADMIN_UP),
        link_up=bool(flags & IfStatus.LINK_UP),
        link_mtu=int(d.link_mtu),
        mtu=(mtu[0], mtu[1], mtu[2], mtu[3]),
        sup_sw_if_index=int(d.sup_sw_if_index),
    )


def dump(sw_if_index: int = ANY_INTERFACE, name_filter: str | None = None) -> Dump[Interface]:
    args: dict[str, Any] = {"sw_if_index": sw_if_index}
    if name_filter:
        args.update(name_filter_valid=True, name_filter=name_filter)
    return Dump("sw_interface_dump", args, _interface)


def set_admin(sw_if_index: int, up: bool, what: str = "") -> Request[None]:
    flags = int(IfStatus.ADMIN_UP) if up else 0
    return command("sw_interface_set_flags", what, sw_if_index=sw_if_index, flags=flags)


def set_mtu(
    sw_if_index: int, *, l3: int = 0, ip4: int = 0, ip6: int = 0, mpls: int = 0, what: str = ""
) -> Request[None]:
    """Per-protocol MTU; 0 leaves that protocol's MTU unchanged."""
    return command("sw_interface_set_mtu", what, sw_if_index=sw_if_index, mtu=[l3, ip4, ip6, mpls])


def set_mac(sw_if_index: int, mac: str, what: str = "") -> Request[None]:
    return command("sw_interface_set_mac_address", what, sw_if_index=sw_if_index, mac_address=mac)


def add_address(sw_if_index: int, prefix: IPInterface, what: str = "") -> Request[None]:
    return command(
        "sw_interface_add_del_address", what, sw_if_index=sw_if_index, is_add=True, prefix=prefix
    )


def del_address(sw_if_index: int, prefix: IPInterface, what: str = "") -> Request[None]:
    return command(
        "sw_interface_add_del_address", what, sw_if_index=sw_if_index, is_add=False, prefix=prefix
    )


def del_all_addresses(sw_if_index: int, what: str = "") -> Request[None]:
    return command(
        "sw_interface_add_del_address", what, sw_if_index=sw_if_index, is_add=False, del_all=True
    )


def _address(d: Any) -> InterfaceAddress:
    return InterfaceAddress(int(d.sw_if_index), interface(d.prefix))


def dump_addresses(sw_if_index: int, ip6: bool) -> Dump[InterfaceAddress]:
    return Dump("ip_address_dump", {"sw_if_index": sw_if_index, "is_ipv6": ip6}, _address)


def set_table(sw_if_index: int, table_id: int, ip6: bool, what: str = "") -> Request[None]:
    """Bind to a VRF; VPP refuses while the interface has an address of that family."""
    return command(
        "sw_interface_set_table", what, sw_if_index=sw_if_index, is_ipv6=ip6, vrf_id=table_id
    )


def set_tag(sw_if_index: int, tag: str, what: str = "") -> Request[None]:
    return command("sw_interface_tag_add_del", what, is_add=True, sw_if_index=sw_if_index, tag=tag)


def adopt(sw_if_index: int, tag: str, what: str = "") -> Request[int]:
    """Tag an existing interface, answering its index as a create would.

    For an interface vppnet created but could not tag (the agent was killed
    between the two calls): VPP refuses a second tunnel or af_packet with the
    same identity, so the only way on is to take the first one back.
    """
    args = {"is_add": True, "sw_if_index": sw_if_index, "tag": tag}
    return Request("sw_interface_tag_add_del", args, lambda _reply: sw_if_index, what)


def clear_tag(sw_if_index: int, what: str = "") -> Request[None]:
    return command("sw_interface_tag_add_del", what, is_add=False, sw_if_index=sw_if_index)


def set_rx_mode(
    sw_if_index: int, mode: RxMode, queue_id: int | None = None, what: str = ""
) -> Request[None]:
    """Set the rx mode of one queue, or of every queue when ``queue_id`` is None."""
    return command(
        "sw_interface_set_rx_mode",
        what,
        sw_if_index=sw_if_index,
        queue_id_valid=queue_id is not None,
        queue_id=queue_id or 0,
        mode=int(mode),
    )


def set_unnumbered(borrower: int, owner: int, is_add: bool = True, what: str = "") -> Request[None]:
    """Let ``borrower`` use the addresses of ``owner`` (VPP: unnumbered ... use owner)."""
    return command(
        "sw_interface_set_unnumbered",
        what,
        sw_if_index=owner,
        unnumbered_sw_if_index=borrower,
        is_add=is_add,
    )


ZERO_MAC = "00:00:00:00:00:00"


def create_loopback(mac: str | None = None, what: str = "") -> Request[int]:
    """A loopback interface (VPP names it ``loop<N>``); a zero MAC lets VPP pick one."""
    return returning_sw_if_index("create_loopback", what, mac_address=mac or ZERO_MAC)


def delete_loopback(sw_if_index: int, what: str = "") -> Request[None]:
    return command("delete_loopback", what, sw_if_index=sw_if_index)


@dataclass(frozen=True, slots=True)
class InterfaceEvent:
    sw_if_index: int
    admin_up: bool
    link_up: bool
    deleted: bool


def interface_event(msg: Any) -> InterfaceEvent:
    """Type an ``sw_interface_event`` delivered to an event callback."""
    flags = int(msg.flags)
    return InterfaceEvent(
        sw_if_index=int(msg.sw_if_index),
        admin_up=bool(flags & IfStatus.ADMIN_UP),
        link_up=bool(flags & IfStatus.LINK_UP),
        deleted=bool(msg.deleted),
    )
