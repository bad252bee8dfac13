"""memclnt and vpe: the connection handshake, liveness and version queries."""

from __future__ import annotations

from agent.vppsim.codec import Msg
from agent.vppsim.handlers.base import Ctx, reply

BUILD_DATE = "2026-06-24T09:00:00"
BUILD_DIRECTORY = "/w/workspace/vpp-merge-2606-ubuntu2404-x86_64"


@reply("sockclnt_create", mutating=False)
def sockclnt_create(ctx: Ctx, msg: Msg) -> Msg:
    """The registration exists from accept(); this names it and hands out the table."""
    ctx.client.name = msg["name"]
    table = [{"index": i, "name": name} for i, name in ctx.schema.message_table()]
    return {
        "client_index": 0,
        "response": 0,
        "index": ctx.client.client_index,
        "message_table": table,
    }


@reply("sockclnt_delete", mutating=False)
def sockclnt_delete(ctx: Ctx, msg: Msg) -> Msg:
    """VPP answers response=1 (not 0) and then frees the registration and its socket."""
    target = ctx.clients.find(msg["index"])
    if target is None:
        return {"response": -1}
    if target is ctx.client:
        target.close_after_reply()
    else:
        ctx.clients.drop(target)
    return {"response": 1}


@reply("control_ping", mutating=False)
def control_ping(ctx: Ctx, msg: Msg) -> Msg:
    return {"client_index": ctx.client.client_index, "vpe_pid": ctx.config.pid}


@reply("memclnt_keepalive", mutating=False)
def memclnt_keepalive(ctx: Ctx, msg: Msg) -> Msg:
    return {}


@reply("get_first_msg_id", mutating=False)
def get_first_msg_id(ctx: Ctx, msg: Msg) -> Msg:
    """Plugins register their id range as ``<module>_<file crc>``; unknown -> -1, 0xffff."""
    for mod in ctx.schema.modules.values():
        if msg["name"] == f"{mod.name}_{mod.crc.removeprefix('0x')}":
            return {"first_msg_id": mod.first_id}
    return {"retval": -1, "first_msg_id": 0xFFFF}


@reply("api_versions", mutating=False)
def api_versions(ctx: Ctx, msg: Msg) -> Msg:
    versions = [
        {"major": m.version[0], "minor": m.version[1], "patch": m.version[2], "name": m.name}
        for m in ctx.schema.modules.values()
    ]
    return {"api_versions": versions}


@reply("get_api_json", mutating=False)
def get_api_json(ctx: Ctx, msg: Msg) -> Msg:
    """What papi's bootstrapapi mode loads: every module's JSON in one array."""
    return {"json": "[" + ",".join(t.strip() for t in ctx.schema.json_texts) + "]"}


@reply("show_version", mutating=False)
def show_version(ctx: Ctx, msg: Msg) -> Msg:
    return {
        "program": "vpe",
        "version": ctx.config.version,
        "build_date": BUILD_DATE,
        "build_directory": BUILD_DIRECTORY,
    }
