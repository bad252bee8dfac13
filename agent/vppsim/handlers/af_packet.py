"""af_packet.api: VPP interfaces on top of an existing host interface (``host-<name>``)."""

from __future__ import annotations

from agent.vppsim.codec import Msg, mac_bytes
from agent.vppsim.errors import IF_ALREADY_EXISTS, INVALID_VALUE, SYSCALL_ERROR_1, ApiError
from agent.vppsim.handlers.base import Ctx, dump, random_mac, reply
from agent.vppsim.state import AfPacket

MODE_IP = 2


@reply("af_packet_create_v3", mutating=True)
def af_packet_create_v3(ctx: Ctx, msg: Msg) -> Msg:
    name = msg["host_if_name"]
    if not name:
        raise ApiError(INVALID_VALUE, "empty host_if_name")
    if any(a.host_if_name == name for a in ctx.state.af_packet.values()):
        raise ApiError(IF_ALREADY_EXISTS, f"af_packet on {name} already exists")
    host_mac = ctx.devices.host_interface_mac(name)
    if host_mac is None:
        raise ApiError(SYSCALL_ERROR_1, f"host interface {name} does not exist")
    mode = int(msg["mode"]) or 1
    mac = b""
    if mode != MODE_IP:
        given = mac_bytes(msg["hw_addr"])
        if msg["use_random_hw_addr"]:
            mac = random_mac()
        elif given.strip(b"\0"):
            mac = given
        else:
            mac = host_mac if host_mac.strip(b"\0") else random_mac()
    rxq = max(1, int(msg["num_rx_queues"]))
    iface = ctx.state.interfaces.add(
        f"host-{name}",
        "af_packet",
        "af_packet",
        mac=mac.ljust(6, b"\0"),
        link_up=True,
        rx_queues=rxq,
    )
    ctx.state.af_packet[iface.sw_if_index] = AfPacket(
        iface.sw_if_index, name, mode, int(msg["flags"]), rxq, max(1, int(msg["num_tx_queues"]))
    )
    return {"sw_if_index": iface.sw_if_index}


@reply("af_packet_delete", mutating=True)
def af_packet_delete(ctx: Ctx, msg: Msg) -> Msg:
    """af_packet_delete_if answers SYSCALL_ERROR_1 for an unknown host interface."""
    sw = next(
        (s for s, a in ctx.state.af_packet.items() if a.host_if_name == msg["host_if_name"]), None
    )
    if sw is None:
        raise ApiError(SYSCALL_ERROR_1, f"no af_packet on {msg['host_if_name']}")
    del ctx.state.af_packet[sw]
    iface = ctx.state.interfaces.get(sw)
    if iface is not None:
        ctx.state.interfaces.remove(iface)
        ctx.state.forget_interface(sw)
    return {}


@dump("af_packet_dump")
def af_packet_dump(ctx: Ctx, msg: Msg) -> list[Msg]:
    return [
        {"sw_if_index": sw, "host_if_name": a.host_if_name}
        for sw, a in sorted(ctx.state.af_packet.items())
    ]
