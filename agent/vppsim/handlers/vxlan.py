"""vxlan.api: VXLAN tunnels (``vxlan_tunnel<instance>``)."""

from __future__ import annotations

from agent.vppsim.codec import Msg
from agent.vppsim.errors import (
    INSTANCE_IN_USE,
    INVALID_VALUE,
    NO_SUCH_ENTRY,
    NO_SUCH_FIB,
    TUNNEL_EXIST,
    ApiError,
)
from agent.vppsim.handlers.base import Ctx, dump, interface, random_mac, reply
from agent.vppsim.state import VxlanTunnel
from agent.vppsim.state.interfaces import NO_INDEX

VXLAN_PORT = 4789
SAME_SRC_DST = -82


@reply("vxlan_add_del_tunnel_v3", mutating=True)
def vxlan_add_del_tunnel_v3(ctx: Ctx, msg: Msg) -> Msg:
    src, dst = msg["src_address"], msg["dst_address"]
    if src.version != dst.version:
        raise ApiError(INVALID_VALUE, "source and destination families differ")
    if src == dst:
        raise ApiError(SAME_SRC_DST, "source and destination are the same")
    is_ip6 = src.version == 6
    if ctx.state.fib.table(is_ip6, msg["encap_vrf_id"]) is None:
        raise ApiError(NO_SUCH_FIB, f"no encap table {msg['encap_vrf_id']}")
    if dst.is_multicast:
        interface(ctx, msg["mcast_sw_if_index"])
    tunnel = VxlanTunnel(
        sw_if_index=NO_INDEX,
        instance=msg["instance"],
        src=src,
        dst=dst,
        src_port=msg["src_port"] or VXLAN_PORT,
        dst_port=msg["dst_port"] or VXLAN_PORT,
        mcast_sw_if_index=msg["mcast_sw_if_index"],
        encap_vrf_id=msg["encap_vrf_id"],
        decap_next_index=msg["decap_next_index"],
        vni=msg["vni"],
        is_l3=bool(msg["is_l3"]),
    )
    tunnels = ctx.state.vxlan_tunnels
    existing = next((t for t in tunnels.values() if t.key == tunnel.key), None)
    if not msg["is_add"]:
        if existing is None:
            raise ApiError(NO_SUCH_ENTRY, "no such tunnel")
        del tunnels[existing.sw_if_index]
        ctx.state.vxlan_instances.free(existing.instance)
        iface = ctx.state.interfaces.get(existing.sw_if_index)
        if iface is not None:
            ctx.state.interfaces.remove(iface)
            ctx.state.forget_interface(existing.sw_if_index)
        return {"sw_if_index": existing.sw_if_index}
    if existing is not None:
        raise ApiError(TUNNEL_EXIST, "tunnel already exists")
    instances = ctx.state.vxlan_instances
    if tunnel.instance == NO_INDEX:
        tunnel.instance = instances.alloc()
    elif tunnel.instance in instances.used:
        raise ApiError(INSTANCE_IN_USE, f"vxlan instance {tunnel.instance} in use")
    else:
        instances.reserve(tunnel.instance)
    mac = bytes(6) if tunnel.is_l3 else random_mac()
    iface = ctx.state.interfaces.add(f"vxlan_tunnel{tunnel.instance}", "VXLAN", "vxlan", mac=mac)
    tunnel.sw_if_index = iface.sw_if_index
    tunnels[iface.sw_if_index] = tunnel
    return {"sw_if_index": iface.sw_if_index}


@dump("vxlan_tunnel_v2_dump")
def vxlan_tunnel_v2_dump(ctx: Ctx, msg: Msg) -> list[Msg]:
    """~0 lists every tunnel; any other index only that tunnel (none if it is not one)."""
    return [
        {
            "sw_if_index": t.sw_if_index,
            "instance": t.instance,
            "src_address": t.src,
            "dst_address": t.dst,
            "src_port": t.src_port,
            "dst_port": t.dst_port,
            "mcast_sw_if_index": t.mcast_sw_if_index,
            "encap_vrf_id": t.encap_vrf_id,
            "decap_next_index": t.decap_next_index,
            "vni": t.vni,
        }
        for sw, t in sorted(ctx.state.vxlan_tunnels.items())
        if msg["sw_if_index"] in (NO_INDEX, sw)
    ]
