"""ip.api: tables, routes, interface address dumps, punt redirects."""

from __future__ import annotations

from agent.vppsim.codec import IPNetwork, Msg
from agent.vppsim.errors import (
    INVALID_SW_IF_INDEX,
    NO_PATHS_IN_ROUTE,
    NO_SUCH_FIB,
    ApiError,
)
from agent.vppsim.handlers.base import Ctx, dump, interface, reply
from agent.vppsim.state import Table
from agent.vppsim.state.fib import PATH_NORMAL, PROTO_IP4, PROTO_IP6, make_path
from agent.vppsim.state.interfaces import NO_INDEX
from agent.vppsim.state.objects import PuntRedirect


def _table_add_del(ctx: Ctx, table: Msg, is_add: bool) -> Msg:
    """Always retval 0 in v26.06: adding is idempotent, deleting a missing table a no-op."""
    fib = ctx.state.fib
    is_ip6 = bool(table["is_ip6"])
    if is_add:
        fib.add_table(is_ip6, table["table_id"], table["name"])
    else:
        bound = (is_ip6, table["table_id"]) in ctx.state.bound_tables()
        fib.delete_table(is_ip6, table["table_id"], bound)
    return {}


@reply("ip_table_add_del", mutating=True)
def ip_table_add_del(ctx: Ctx, msg: Msg) -> Msg:
    return _table_add_del(ctx, msg["table"], bool(msg["is_add"]))


@reply("ip_table_add_del_v2", mutating=True)
def ip_table_add_del_v2(ctx: Ctx, msg: Msg) -> Msg:
    return _table_add_del(ctx, msg["table"], bool(msg["is_add"]))


@dump("ip_table_dump")
def ip_table_dump(ctx: Ctx, msg: Msg) -> list[Msg]:
    tables = sorted(ctx.state.fib.tables.values(), key=lambda t: (t.is_ip6, t.table_id))
    return [{"table": {"table_id": t.table_id, "is_ip6": t.is_ip6, "name": t.name}} for t in tables]


def _check_paths(ctx: Ctx, paths: list[Msg]) -> list[Msg]:
    """fib_api_path_decode: interfaces must exist, a lookup table must exist."""
    out = []
    for p in paths:
        sw = p["sw_if_index"]
        if sw != NO_INDEX:
            interface(ctx, sw, INVALID_SW_IF_INDEX)
        elif (
            p["type"] == PATH_NORMAL
            and p["proto"] in (PROTO_IP4, PROTO_IP6)
            and ctx.state.fib.table(p["proto"] == PROTO_IP6, p["table_id"]) is None
        ):
            raise ApiError(NO_SUCH_FIB, f"next-hop table {p['table_id']} does not exist")
        # without labels the 16 empty label entries are dropped: keeps 10k routes small
        out.append(p if p.get("n_labels") else {k: v for k, v in p.items() if k != "label_stack"})
    return out


@reply("ip_route_add_del", mutating=True)
def ip_route_add_del(ctx: Ctx, msg: Msg) -> Msg:
    """Replace the route's paths, or add/remove paths with is_multipath (fib_api_route_add_del)."""
    route = msg["route"]
    prefix: IPNetwork = route["prefix"]
    fib = ctx.state.fib
    table = fib.table(prefix.version == 6, route["table_id"])
    if table is None:
        raise ApiError(NO_SUCH_FIB, f"no table {route['table_id']} for {prefix}")
    paths = _check_paths(ctx, route["paths"])
    is_add = bool(msg["is_add"])
    if msg["is_multipath"]:
        if not paths:
            raise ApiError(NO_PATHS_IN_ROUTE, "multipath update without paths")
        if is_add:
            return {"stats_index": fib.add_paths(table, prefix, paths).stats_index}
        fib.remove_paths(table, prefix, paths)
        return {}
    if is_add:
        if not paths:
            raise ApiError(NO_PATHS_IN_ROUTE, f"route {prefix} without paths")
        return {"stats_index": fib.replace_route(table, prefix, paths).stats_index}
    fib.delete_route(table, prefix)
    return {}


def route_details(ctx: Ctx, table: Table) -> list[Msg]:
    state = ctx.state
    neighbors = [
        (n.sw_if_index, n.ip)
        for n in state.neighbors.values()
        if n.ip.version == (6 if table.is_ip6 else 4)
        and not n.flags & 2
        and not n.ip.is_link_local
        and (iface := state.interfaces.get(n.sw_if_index)) is not None
        and iface.table(table.is_ip6) == table.table_id
    ]
    out = []
    for prefix, paths in state.fib.entries(table, state.interfaces, neighbors):
        out.append(
            {
                "route": {
                    "table_id": table.table_id,
                    "stats_index": state.fib.stats_index(table.is_ip6, table.table_id, prefix),
                    "prefix": prefix,
                    "paths": paths,
                }
            }
        )
    return out


@dump("ip_route_dump")
def ip_route_dump(ctx: Ctx, msg: Msg) -> list[Msg]:
    table = ctx.state.fib.table(bool(msg["table"]["is_ip6"]), msg["table"]["table_id"])
    return route_details(ctx, table) if table is not None else []


@dump("ip_address_dump")
def ip_address_dump(ctx: Ctx, msg: Msg) -> list[Msg]:
    iface = ctx.state.interfaces.get(msg["sw_if_index"])
    if iface is None:
        return []
    return [
        {"sw_if_index": iface.sw_if_index, "prefix": a}
        for a in iface.addresses_of(bool(msg["is_ipv6"]))
    ]


@reply("ip_punt_redirect", mutating=True)
def ip_punt_redirect(ctx: Ctx, msg: Msg) -> Msg:
    """One redirect per (rx interface or ~0 = any, family); adding replaces it."""
    punt = msg["punt"]
    rx, tx, nh = punt["rx_sw_if_index"], punt["tx_sw_if_index"], punt["nh"]
    key = (rx, nh.version == 6)
    if not msg["is_add"]:
        ctx.state.punt_redirects.pop(key, None)
        return {}
    if rx != NO_INDEX:
        interface(ctx, rx)
    interface(ctx, tx)
    ctx.state.punt_redirects[key] = PuntRedirect(rx, tx, nh)
    return {}


def _punts(ctx: Ctx, sw_if_index: int, is_ip6: bool) -> list[PuntRedirect]:
    return [
        p
        for (rx, v6), p in sorted(ctx.state.punt_redirects.items())
        if v6 == is_ip6 and sw_if_index in (NO_INDEX, rx)
    ]


@dump("ip_punt_redirect_dump")
def ip_punt_redirect_dump(ctx: Ctx, msg: Msg) -> list[Msg]:
    return [
        {
            "punt": {
                "rx_sw_if_index": p.rx_sw_if_index,
                "tx_sw_if_index": p.tx_sw_if_index,
                "nh": p.nh,
            }
        }
        for p in _punts(ctx, msg["sw_if_index"], bool(msg["is_ipv6"]))
    ]


@dump("ip_punt_redirect_v2_dump")
def ip_punt_redirect_v2_dump(ctx: Ctx, msg: Msg) -> list[Msg]:
    is_ip6 = msg["af"] == 1
    return [
        {
            "punt": {
                "rx_sw_if_index": p.rx_sw_if_index,
                "af": msg["af"],
                "paths": [make_path(PATH_NORMAL, is_ip6, p.tx_sw_if_index, p.nh)],
            }
        }
        for p in _punts(ctx, msg["sw_if_index"], is_ip6)
    ]
