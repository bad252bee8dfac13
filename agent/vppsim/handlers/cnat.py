"""cnat.api: service translations (load balancing) and source-NAT policy."""

from __future__ import annotations

from agent.vppsim.codec import Msg
from agent.vppsim.errors import FEATURE_DISABLED, INVALID_VALUE, NO_SUCH_ENTRY, ApiError
from agent.vppsim.handlers.base import Ctx, dump, interface, reply
from agent.vppsim.state import CnatTranslation
from agent.vppsim.state.interfaces import NO_INDEX

SNAT_TABLES = 4  # INCLUDE_V4, INCLUDE_V6, POD, HOST
SNAT_POLICIES = 4  # NONE, IF_PFX, K8S, DNAT


def _vip_key(vip: Msg, ip_proto: int) -> tuple[object, int, int]:
    """A translation is identified by its VIP (address or interface+family), port and protocol."""
    where: object = vip["addr"]
    if vip["sw_if_index"] != NO_INDEX:
        where = (vip["sw_if_index"], vip["if_af"])
    return (where, vip["port"], ip_proto)


@reply("cnat_translation_update", mutating=True)
def cnat_translation_update(ctx: Ctx, msg: Msg) -> Msg:
    """Same VIP+port+proto -> same id (paths replaced); ids are pool indexes, reused when freed."""
    cnat = ctx.state.cnat
    t = msg["translation"]
    key = _vip_key(t["vip"], int(t["ip_proto"]))
    tid = cnat.by_key.get(key)
    if tid is None:
        tid = cnat.ids.alloc()
        cnat.by_key[key] = tid
    cnat.translations[tid] = CnatTranslation(
        id=tid,
        vip=t["vip"],
        ip_proto=int(t["ip_proto"]),
        is_real_ip=t["is_real_ip"],
        flags=t["flags"],
        lb_type=int(t["lb_type"]),
        flow_hash_config=int(t["flow_hash_config"]),
        paths=list(t["paths"]),
    )
    return {"id": tid}


@reply("cnat_translation_del", mutating=True)
def cnat_translation_del(ctx: Ctx, msg: Msg) -> Msg:
    cnat = ctx.state.cnat
    t = cnat.translations.pop(msg["id"], None)
    if t is None:
        raise ApiError(NO_SUCH_ENTRY, f"no cnat translation {msg['id']}")
    cnat.by_key.pop(_vip_key(t.vip, t.ip_proto), None)
    cnat.ids.free(t.id)
    return {}


@dump("cnat_translation_dump")
def cnat_translation_dump(ctx: Ctx, msg: Msg) -> list[Msg]:
    """Like VPP's cnat_translation_send_details: is_real_ip, flags and the flow hash are
    write-only (the details leave them zero)."""
    return [
        {
            "translation": {
                "vip": t.vip,
                "id": t.id,
                "ip_proto": t.ip_proto,
                "is_real_ip": 0,
                "flags": 0,
                "lb_type": t.lb_type,
                "flow_hash_config": 0,
                "paths": t.paths,
            }
        }
        for _, t in sorted(ctx.state.cnat.translations.items())
    ]


@reply("cnat_session_purge", mutating=True)
def cnat_session_purge(ctx: Ctx, msg: Msg) -> Msg:
    ctx.state.cnat.session_purges += 1
    return {}


def _need_entry(ctx: Ctx, what: str) -> None:
    """VPP v26.06 keeps the SNAT policy, tables and prefixes on its default SNAT entry.

    Without one, add_del_if answers FEATURE_DISABLED, and set_snat_policy and the
    exclude-prefix call dereference NULL and crash VPP: the simulator refuses them with
    FEATURE_DISABLED so that a test of such a call order fails loudly.
    """
    if not ctx.state.cnat.snat_entry:
        raise ApiError(FEATURE_DISABLED, f"{what}: no default SNAT entry (VPP v26.06 crashes)")


@reply("cnat_set_snat_addresses", mutating=True)
def cnat_set_snat_addresses(ctx: Ctx, msg: Msg) -> Msg:
    """All-zero addresses and no interface remove the default entry and what lives on it."""
    cnat = ctx.state.cnat
    cnat.snat_ip4 = msg["snat_ip4"]
    cnat.snat_ip6 = msg["snat_ip6"]
    cnat.snat_sw_if_index = msg["sw_if_index"]
    empty = not int(msg["snat_ip4"]) and not int(msg["snat_ip6"])
    if empty and msg["sw_if_index"] == NO_INDEX:
        cnat.snat_entry = False
        cnat.snat_policy = 0
        cnat.policy_interfaces.clear()
        cnat.exclude_prefixes.clear()
    else:
        cnat.snat_entry = True
    return {}


@reply("cnat_get_snat_addresses", mutating=False)
def cnat_get_snat_addresses(ctx: Ctx, msg: Msg) -> Msg:
    cnat = ctx.state.cnat
    if not cnat.snat_entry:
        raise ApiError(FEATURE_DISABLED, "no default SNAT entry")
    return {
        "id": 0,
        "snat_ip4": cnat.snat_ip4,
        "snat_ip6": cnat.snat_ip6,
        "sw_if_index": cnat.snat_sw_if_index,
    }


@reply("cnat_snat_policy_add_del_exclude_pfx", mutating=True)
def cnat_snat_policy_add_del_exclude_pfx(ctx: Ctx, msg: Msg) -> Msg:
    _need_entry(ctx, "cnat_snat_policy_add_del_exclude_pfx")
    prefixes = ctx.state.cnat.exclude_prefixes
    if msg["is_add"]:
        prefixes.add(msg["prefix"])
    else:
        prefixes.discard(msg["prefix"])
    return {}


@reply("cnat_snat_policy_add_del_if", mutating=True)
def cnat_snat_policy_add_del_if(ctx: Ctx, msg: Msg) -> Msg:
    iface = interface(ctx, msg["sw_if_index"])
    _need_entry(ctx, "cnat_snat_policy_add_del_if")
    table = int(msg["table"])
    if table >= SNAT_TABLES:
        raise ApiError(INVALID_VALUE, f"snat policy table {table}")
    members = ctx.state.cnat.policy_interfaces.setdefault(table, set())
    if msg["is_add"]:
        members.add(iface.sw_if_index)
    else:
        members.discard(iface.sw_if_index)
    return {}


@reply("cnat_set_snat_policy", mutating=True)
def cnat_set_snat_policy(ctx: Ctx, msg: Msg) -> Msg:
    _need_entry(ctx, "cnat_set_snat_policy")
    policy = int(msg["policy"])
    if policy >= SNAT_POLICIES:
        raise ApiError(INVALID_VALUE, f"snat policy {policy}")
    ctx.state.cnat.snat_policy = policy
    return {}


@reply("feature_cnat_enable_disable", mutating=True)
def feature_cnat_enable_disable(ctx: Ctx, msg: Msg) -> Msg:
    iface = interface(ctx, msg["sw_if_index"])
    if msg["enable_disable"]:
        ctx.state.cnat.enabled_interfaces.add(iface.sw_if_index)
    else:
        ctx.state.cnat.enabled_interfaces.discard(iface.sw_if_index)
    return {}
