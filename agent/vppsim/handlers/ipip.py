"""ipip.api: IP-in-IP tunnels (``ipip<instance>``), as VPP's ipip_api.c validates them.

A tunnel is keyed like VPP's tunnel database: transport family, mode, source,
destination and the FIB the outer packets are routed in. A second tunnel with
the same key is refused (VPP returns the existing one's index with the error);
deletion is by sw_if_index. The interface starts admin down with VPP's
default tunnel MTU of 9000, like every tunnel VPP registers.
"""

from __future__ import annotations

from agent.vppsim.codec import Msg
from agent.vppsim.errors import (
    IF_ALREADY_EXISTS,
    INSTANCE_IN_USE,
    INVALID_VALUE,
    NO_SUCH_ENTRY,
    NO_SUCH_FIB,
    ApiError,
)
from agent.vppsim.handlers.base import Ctx, dump, reply
from agent.vppsim.state.interfaces import NO_INDEX
from agent.vppsim.state.ipip import IpipTunnel

SAME_SRC_DST = -82
INVALID_PROTOCOL = -153
MODES = (0, 1)  # TUNNEL_API_MODE_P2P, TUNNEL_API_MODE_MP
FLAG_BITS = 0x3F  # every tunnel_encap_decap_flags bit VPP decodes


@reply("ipip_add_tunnel", mutating=True)
def ipip_add_tunnel(ctx: Ctx, msg: Msg) -> Msg:
    t = msg["tunnel"]
    src, dst = t["src"], t["dst"]
    if src.version != dst.version:
        raise ApiError(INVALID_PROTOCOL, "source and destination families differ")
    if src == dst:
        raise ApiError(SAME_SRC_DST, "source and destination are the same")
    if int(t["flags"]) & ~FLAG_BITS:
        raise ApiError(INVALID_VALUE, f"unknown encap/decap flags {int(t['flags']):#x}")
    if int(t["mode"]) not in MODES:
        raise ApiError(INVALID_VALUE, f"unknown tunnel mode {int(t['mode'])}")
    is_ip6 = src.version == 6
    if ctx.state.fib.table(is_ip6, t["table_id"]) is None:
        raise ApiError(NO_SUCH_FIB, f"no table {t['table_id']}")
    tunnel = IpipTunnel(
        sw_if_index=NO_INDEX,
        instance=t["instance"],
        src=src,
        dst=dst,
        table_id=t["table_id"],
        flags=int(t["flags"]),
        mode=int(t["mode"]),
        dscp=int(t["dscp"]),
    )
    tunnels = ctx.state.ipip_tunnels
    existing = next((x for x in tunnels.values() if x.key == tunnel.key), None)
    if existing is not None:
        raise ApiError(IF_ALREADY_EXISTS, f"tunnel exists as sw_if_index {existing.sw_if_index}")
    instances = ctx.state.ipip_instances
    if tunnel.instance == NO_INDEX:
        tunnel.instance = instances.alloc()
    elif tunnel.instance in instances.used:
        raise ApiError(INSTANCE_IN_USE, f"ipip instance {tunnel.instance} in use")
    else:
        instances.reserve(tunnel.instance)
    iface = ctx.state.interfaces.add(f"ipip{tunnel.instance}", "IPIP", "ipip")
    tunnel.sw_if_index = iface.sw_if_index
    tunnels[iface.sw_if_index] = tunnel
    return {"sw_if_index": iface.sw_if_index}


@reply("ipip_del_tunnel", mutating=True)
def ipip_del_tunnel(ctx: Ctx, msg: Msg) -> Msg:
    tunnel = ctx.state.ipip_tunnels.pop(msg["sw_if_index"], None)
    if tunnel is None:
        raise ApiError(NO_SUCH_ENTRY, f"no ipip tunnel {msg['sw_if_index']}")
    ctx.state.ipip_instances.free(tunnel.instance)
    iface = ctx.state.interfaces.get(tunnel.sw_if_index)
    if iface is not None:
        ctx.state.interfaces.remove(iface)
        ctx.state.forget_interface(tunnel.sw_if_index)
    return {}


@dump("ipip_tunnel_dump")
def ipip_tunnel_dump(ctx: Ctx, msg: Msg) -> list[Msg]:
    """~0 lists every tunnel; any other index only that tunnel (none if it is not one)."""
    return [
        {
            "tunnel": {
                "instance": t.instance,
                "src": t.src,
                "dst": t.dst,
                "sw_if_index": t.sw_if_index,
                "table_id": t.table_id,
                "flags": t.flags,
                "mode": t.mode,
                "dscp": t.dscp,
            }
        }
        for sw, t in sorted(ctx.state.ipip_tunnels.items())
        if msg["sw_if_index"] in (NO_INDEX, sw)
    ]
