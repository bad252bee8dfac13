"""ip_neighbor.api: static ARP/ND entries (each also installs a /32 or /128 adj-fib)."""

from __future__ import annotations

import ipaddress
import time

from agent.vppsim.codec import Msg, mac_bytes
from agent.vppsim.errors import NO_SUCH_ENTRY, ApiError
from agent.vppsim.handlers.base import Ctx, dump, interface, reply
from agent.vppsim.state import Neighbor
from agent.vppsim.state.interfaces import NO_INDEX


@reply("ip_neighbor_add_del", mutating=True)
def ip_neighbor_add_del(ctx: Ctx, msg: Msg) -> Msg:
    n = msg["neighbor"]
    iface = interface(ctx, n["sw_if_index"])
    ip = n["ip_address"]
    key = (iface.sw_if_index, ip)
    neighbors = ctx.state.neighbors
    if not msg["is_add"]:
        if neighbors.pop(key, None) is None:
            raise ApiError(NO_SUCH_ENTRY, f"no neighbor {ip} on {iface.name}")
        return {}
    is_ip6 = ip.version == 6
    stats = ctx.state.fib.stats_index(is_ip6, iface.table(is_ip6), ipaddress.ip_network(ip))
    neighbors[key] = Neighbor(
        iface.sw_if_index, ip, mac_bytes(n["mac_address"]), int(n["flags"]), stats, time.monotonic()
    )
    return {"stats_index": stats}


@dump("ip_neighbor_dump")
def ip_neighbor_dump(ctx: Ctx, msg: Msg) -> list[Msg]:
    version = 6 if msg["af"] == 1 else 4
    now = time.monotonic()
    selected = [
        n
        for n in ctx.state.neighbors.values()
        if n.ip.version == version and msg["sw_if_index"] in (NO_INDEX, n.sw_if_index)
    ]
    selected.sort(key=lambda n: (n.sw_if_index, n.ip))
    return [
        {
            "age": now - n.updated,
            "neighbor": {
                "sw_if_index": n.sw_if_index,
                "flags": n.flags,
                "mac_address": n.mac,
                "ip_address": n.ip,
            },
        }
        for n in selected
    ]
