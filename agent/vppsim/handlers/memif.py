"""memif.api: socket files and shared-memory interfaces (``memif<socket>/<id>``)."""

from __future__ import annotations

import os

from agent.vppsim.codec import Msg, mac_bytes
from agent.vppsim.errors import (
    ENTRY_ALREADY_EXISTS,
    INVALID_ARGUMENT,
    INVALID_SW_IF_INDEX,
    NO_SUCH_ENTRY,
    ApiError,
)
from agent.vppsim.handlers.base import Ctx, dump, random_mac, reply
from agent.vppsim.state import Memif
from agent.vppsim.state.interfaces import NO_INDEX

RUNTIME_DIR = "/run/vpp"
UNEXPECTED_INTF_STATE = -74
SUBIF_ALREADY_EXISTS = -68
MODE_IP = 1
ROLE_SLAVE = 1


# clib_socket's typed prefixes (clib_socket_prefix_is_valid): such names are kept as
# given, not placed in the runtime directory; "abstract:NAME,netns_name=PATH" is how
# a socket is put inside a pod's network namespace.
SOCKET_PREFIXES = ("abstract:", "unix:", "tcp:", "@")


@reply("memif_socket_filename_add_del_v2", mutating=True)
def memif_socket_filename_add_del_v2(ctx: Ctx, msg: Msg) -> Msg:
    """Socket id 0 is VPP's built-in default socket and cannot be changed."""
    sockets = ctx.state.memif_sockets
    sock_id = msg["socket_id"]
    if sock_id == 0:
        raise ApiError(INVALID_ARGUMENT, "socket id 0 is reserved")
    if not msg["is_add"]:
        if sock_id not in sockets:
            raise ApiError(NO_SUCH_ENTRY, f"no memif socket {sock_id}")
        if any(m.socket_id == sock_id for m in ctx.state.memifs.values()):
            raise ApiError(UNEXPECTED_INTF_STATE, f"memif socket {sock_id} in use")
        del sockets[sock_id]
        return {"socket_id": sock_id}
    filename = msg["socket_filename"]
    if not filename:
        raise ApiError(INVALID_ARGUMENT, "empty socket filename")
    if not filename.startswith(("/", *SOCKET_PREFIXES)):
        filename = os.path.join(RUNTIME_DIR, filename)
    if sock_id == NO_INDEX:
        sock_id = next(i for i in range(1, len(sockets) + 2) if i not in sockets)
    elif sock_id in sockets:
        if sockets[sock_id] == filename:
            return {"socket_id": sock_id}
        raise ApiError(ENTRY_ALREADY_EXISTS, f"memif socket {sock_id} exists")
    sockets[sock_id] = filename
    return {"socket_id": sock_id}


@reply("memif_create_v2", mutating=True)
def memif_create_v2(ctx: Ctx, msg: Msg) -> Msg:
    sock_id = msg["socket_id"]
    if sock_id not in ctx.state.memif_sockets:
        raise ApiError(INVALID_ARGUMENT, f"no memif socket {sock_id}")
    ring = msg["ring_size"] or 1024
    if ring & (ring - 1):
        raise ApiError(INVALID_ARGUMENT, f"ring size {ring} is not a power of 2")
    role = int(msg["role"])
    for m in ctx.state.memifs.values():
        if m.socket_id == sock_id and (m.id == msg["id"] or m.role != role):
            raise ApiError(SUBIF_ALREADY_EXISTS, f"memif {sock_id}/{msg['id']} conflicts")
    mode = int(msg["mode"])
    mac = b""
    if mode != MODE_IP:
        given = mac_bytes(msg["hw_addr"])
        mac = given if given.strip(b"\0") else random_mac()
    rxq = msg["rx_queues"] or 1
    iface = ctx.state.interfaces.add(
        f"memif{sock_id}/{msg['id']}",
        "memif",
        "memif",
        mac=mac.ljust(6, b"\0"),
        link_follows_admin=False,
        rx_queues=rxq,
    )
    ctx.state.memifs[iface.sw_if_index] = Memif(
        sw_if_index=iface.sw_if_index,
        socket_id=sock_id,
        id=msg["id"],
        role=role,
        mode=mode,
        rx_queues=rxq,
        tx_queues=msg["tx_queues"] or 1,
        ring_size=ring,
        buffer_size=msg["buffer_size"] or 2048,
        zero_copy=not msg["no_zero_copy"],
        use_dma=bool(msg["use_dma"]),
        secret=msg["secret"],
    )
    return {"sw_if_index": iface.sw_if_index}


@reply("memif_delete", mutating=True)
def memif_delete(ctx: Ctx, msg: Msg) -> Msg:
    sw = msg["sw_if_index"]
    if sw not in ctx.state.memifs:
        raise ApiError(INVALID_SW_IF_INDEX, f"{sw} is not a memif")
    del ctx.state.memifs[sw]
    iface = ctx.state.interfaces.get(sw)
    if iface is not None:
        ctx.state.interfaces.remove(iface)
        ctx.state.forget_interface(sw)
    return {}


@dump("memif_dump")
def memif_dump(ctx: Ctx, msg: Msg) -> list[Msg]:
    out = []
    for sw, m in sorted(ctx.state.memifs.items()):
        iface = ctx.state.interfaces.get(sw)
        if iface is None:
            continue
        out.append(
            {
                "sw_if_index": sw,
                "hw_addr": iface.mac,
                "id": m.id,
                "role": m.role,
                "mode": m.mode,
                "zero_copy": m.zero_copy,
                "socket_id": m.socket_id,
                "ring_size": m.ring_size,
                "buffer_size": m.buffer_size,
                "flags": iface.flags,
                "if_name": iface.name,
            }
        )
    return out


@dump("memif_socket_filename_dump")
def memif_socket_filename_dump(ctx: Ctx, msg: Msg) -> list[Msg]:
    return [
        {"socket_id": i, "socket_filename": f} for i, f in sorted(ctx.state.memif_sockets.items())
    ]
