"""npol.api: Calico policies as ipsets, rules and policies bound to interfaces.

npol has no dump messages, so the state keeps the requests in a readable
form (Python addresses, networks, tuples) for tests to inspect.
"""

from __future__ import annotations

from typing import Any

from agent.vppsim.codec import Msg, UnionValue
from agent.vppsim.errors import INVALID_SW_IF_INDEX, INVALID_VALUE, NO_SUCH_ENTRY, ApiError
from agent.vppsim.handlers.base import Ctx, interface, reply
from agent.vppsim.state import NpolInterfaceConfig, NpolIpset

IPSET_IP = 0
IPSET_IP_AND_PORT = 1
IPSET_NET = 2
ENTRY_CIDR = 0
ENTRY_PORT_RANGE = 1


def _member(set_type: int, val: UnionValue) -> object:
    if set_type == IPSET_IP:
        return val["address"]
    if set_type == IPSET_NET:
        return val["prefix"]
    t = val["tuple"]
    return (t["address"], t["l4_proto"], t["port"])


def _entry_data(entry: Msg) -> Any:
    data: UnionValue = entry["data"]
    if entry["type"] == ENTRY_CIDR:
        return data["cidr"]
    if entry["type"] == ENTRY_PORT_RANGE:
        r = data["port_range"]
        return (r["start"], r["end"])
    return data["set_id"]["set_id"]


def readable_rule(rule: Msg) -> Msg:
    return {
        "action": int(rule["action"]),
        "filters": [
            {"type": int(f["type"]), "value": f["value"], "should_match": f["should_match"]}
            for f in rule["filters"]
        ],
        "matches": [
            {
                "is_src": e["is_src"],
                "is_not": e["is_not"],
                "type": int(e["type"]),
                "data": _entry_data(e),
            }
            for e in rule["matches"]
        ],
    }


@reply("npol_get_version", mutating=False)
def npol_get_version(ctx: Ctx, msg: Msg) -> Msg:
    mod = ctx.schema.modules.get("npol")
    major, minor = (mod.version[0], mod.version[1]) if mod is not None else (0, 1)
    return {"major": major, "minor": minor}


@reply("npol_ipset_create", mutating=True)
def npol_ipset_create(ctx: Ctx, msg: Msg) -> Msg:
    set_type = int(msg["type"])
    if set_type > IPSET_NET:
        raise ApiError(INVALID_VALUE, f"ipset type {set_type}")
    npol = ctx.state.npol
    set_id = npol.ipset_ids.alloc()
    npol.ipsets[set_id] = NpolIpset(set_type)
    return {"set_id": set_id}


@reply("npol_ipset_add_del_members", mutating=True)
def npol_ipset_add_del_members(ctx: Ctx, msg: Msg) -> Msg:
    ipset = ctx.state.npol.ipsets.get(msg["set_id"])
    if ipset is None:
        raise ApiError(NO_SUCH_ENTRY, f"no ipset {msg['set_id']}")
    members = [_member(ipset.type, m["val"]) for m in msg["members"]]
    if msg["is_add"]:
        ipset.members.update(members)
    elif ipset.type == IPSET_IP_AND_PORT:
        for m in members:
            ipset.members = {x for x in ipset.members if not _vpp_ipport_equal(x, m)}
    else:
        ipset.members.difference_update(members)
    # Adding or removing nothing changes nothing: vppnet asks this to learn whether a set
    # still exists (after a VPP restart it does not), which must not count as a change.
    return {} if members else {"unchanged": True}


def _vpp_ipport_equal(x: Any, m: Any) -> bool:
    """Whether VPP v26.06 deletes ``x`` when asked to delete ``m`` from an IP-and-port set.

    ``npol_ipset_member_cmp`` returns ``port == port && proto == proto && addr != addr``
    where it means "different", so a delete removes every member whose port or protocol
    differs from ``m``'s, and every member with ``m``'s address. VPP is right: mirrored.
    """
    return not (x[2] == m[2] and x[1] == m[1] and x[0] != m[0])


@reply("npol_ipset_delete", mutating=True)
def npol_ipset_delete(ctx: Ctx, msg: Msg) -> Msg:
    npol = ctx.state.npol
    if npol.ipsets.pop(msg["set_id"], None) is None:
        raise ApiError(NO_SUCH_ENTRY, f"no ipset {msg['set_id']}")
    npol.ipset_ids.free(msg["set_id"])
    return {}


@reply("npol_rule_create", mutating=True)
def npol_rule_create(ctx: Ctx, msg: Msg) -> Msg:
    npol = ctx.state.npol
    rule = readable_rule(msg["rule"])
    rule_id = npol.rule_ids.alloc()
    npol.rules[rule_id] = rule
    return {"rule_id": rule_id}


@reply("npol_rule_update", mutating=True)
def npol_rule_update(ctx: Ctx, msg: Msg) -> Msg:
    npol = ctx.state.npol
    if msg["rule_id"] not in npol.rules:
        raise ApiError(NO_SUCH_ENTRY, f"no rule {msg['rule_id']}")
    npol.rules[msg["rule_id"]] = readable_rule(msg["rule"])
    return {}


@reply("npol_rule_delete", mutating=True)
def npol_rule_delete(ctx: Ctx, msg: Msg) -> Msg:
    npol = ctx.state.npol
    if npol.rules.pop(msg["rule_id"], None) is None:
        raise ApiError(NO_SUCH_ENTRY, f"no rule {msg['rule_id']}")
    npol.rule_ids.free(msg["rule_id"])
    return {}


def _policy_items(ctx: Ctx, msg: Msg) -> list[Msg]:
    items = [{"is_inbound": bool(r["is_inbound"]), "rule_id": r["rule_id"]} for r in msg["rules"]]
    for item in items:
        if item["rule_id"] not in ctx.state.npol.rules:
            raise ApiError(NO_SUCH_ENTRY, f"no rule {item['rule_id']}")
    return items


@reply("npol_policy_create", mutating=True)
def npol_policy_create(ctx: Ctx, msg: Msg) -> Msg:
    items = _policy_items(ctx, msg)
    npol = ctx.state.npol
    policy_id = npol.policy_ids.alloc()
    npol.policies[policy_id] = items
    return {"policy_id": policy_id}


@reply("npol_policy_update", mutating=True)
def npol_policy_update(ctx: Ctx, msg: Msg) -> Msg:
    npol = ctx.state.npol
    if msg["policy_id"] not in npol.policies:
        raise ApiError(NO_SUCH_ENTRY, f"no policy {msg['policy_id']}")
    npol.policies[msg["policy_id"]] = _policy_items(ctx, msg)
    return {}


@reply("npol_policy_delete", mutating=True)
def npol_policy_delete(ctx: Ctx, msg: Msg) -> Msg:
    npol = ctx.state.npol
    if npol.policies.pop(msg["policy_id"], None) is None:
        raise ApiError(NO_SUCH_ENTRY, f"no policy {msg['policy_id']}")
    npol.policy_ids.free(msg["policy_id"])
    return {}


@reply("npol_configure_policies", mutating=True)
def npol_configure_policies(ctx: Ctx, msg: Msg) -> Msg:
    """policy_ids = rx policies, then tx policies, then profiles (the rest)."""
    iface = interface(ctx, msg["sw_if_index"], INVALID_SW_IF_INDEX)
    ids: list[int] = list(msg["policy_ids"])
    n_rx, n_tx = msg["num_rx_policies"], msg["num_tx_policies"]
    if n_rx + n_tx > len(ids):
        raise ApiError(INVALID_VALUE, "more rx+tx policies than policy ids")
    for pid in ids:
        if pid not in ctx.state.npol.policies:
            raise ApiError(NO_SUCH_ENTRY, f"no policy {pid}")
    ctx.state.npol.interfaces[iface.sw_if_index] = NpolInterfaceConfig(
        rx_policies=ids[:n_rx],
        tx_policies=ids[n_rx : n_rx + n_tx],
        profiles=ids[n_rx + n_tx :],
        invert_rx_tx=bool(msg["invert_rx_tx"]),
        policy_default_rx=int(msg["policy_default_rx"]),
        policy_default_tx=int(msg["policy_default_tx"]),
        profile_default_rx=int(msg["profile_default_rx"]),
        profile_default_tx=int(msg["profile_default_tx"]),
    )
    return {}
