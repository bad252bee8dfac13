"""memif: shared-memory packet interfaces for pods that consume packets in user space.

A memif interface hangs off a socket file registered with VPP under a
numeric socket id; VPP is the master (server) and the pod's DPDK, libmemif
or VPP connects as the slave.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from agent.vpp.convert import mac_text
from agent.vpp.interfaces import IfStatus
from agent.vpp.request import Dump, Request, command, returning_sw_if_index

MESSAGES = (
    "memif_socket_filename_add_del_v2",
    "memif_socket_filename_dump",
    "memif_create_v2",
    "memif_delete",
    "memif_dump",
)

AUTO_SOCKET_ID = 0xFFFFFFFF


class MemifRole(IntEnum):
    MASTER = 0
    SLAVE = 1


class MemifMode(IntEnum):
    ETHERNET = 0
    IP = 1
    PUNT_INJECT = 2


def add_socket(path: str, socket_id: int = AUTO_SOCKET_ID, what: str = "") -> Request[int]:
    """Register a socket file; VPP picks the id when ``socket_id`` is AUTO (returned)."""
    return Request(
        "memif_socket_filename_add_del_v2",
        {"is_add": True, "socket_id": socket_id, "socket_filename": path},
        lambda r: int(r.socket_id),
        what,
    )


def del_socket(socket_id: int, what: str = "") -> Request[None]:
    return command(
        "memif_socket_filename_add_del_v2",
        what,
        is_add=False,
        socket_id=socket_id,
        socket_filename="",
    )


@dataclass(frozen=True, slots=True)
class MemifSocket:
    socket_id: int
    path: str


def _socket(d: Any) -> MemifSocket:
    return MemifSocket(int(d.socket_id), str(d.socket_filename))


def dump_sockets() -> Dump[MemifSocket]:
    return Dump("memif_socket_filename_dump", {}, _socket)


@dataclass(frozen=True, slots=True)
class MemifCreate:
    socket_id: int
    memif_id: int = 0
    role: MemifRole = MemifRole.MASTER
    mode: MemifMode = MemifMode.IP
    rx_queues: int = 1
    tx_queues: int = 1
    ring_size: int = 1024
    buffer_size: int = 2048
    mac: str | None = None
    secret: str = ""
    zero_copy: bool = True


def create(spec: MemifCreate, what: str = "") -> Request[int]:
    return returning_sw_if_index(
        "memif_create_v2",
        what,
        role=int(spec.role),
        mode=int(spec.mode),
        rx_queues=spec.rx_queues,
        tx_queues=spec.tx_queues,
        id=spec.memif_id,
        socket_id=spec.socket_id,
        ring_size=spec.ring_size,
        buffer_size=spec.buffer_size,
        no_zero_copy=not spec.zero_copy,
        use_dma=False,
        hw_addr=spec.mac or "00:00:00:00:00:00",
        secret=spec.secret,
    )


def delete(sw_if_index: int, what: str = "") -> Request[None]:
    return command("memif_delete", what, sw_if_index=sw_if_index)


@dataclass(frozen=True, slots=True)
class Memif:
    sw_if_index: int
    name: str
    memif_id: int
    socket_id: int
    role: MemifRole
    mode: MemifMode
    ring_size: int
    buffer_size: int
    zero_copy: bool
    mac: str
    admin_up: bool
    link_up: bool


def _memif(d: Any) -> Memif:
    flags = int(d.flags)
    return Memif(
        sw_if_index=int(d.sw_if_index),
        name=str(d.if_name),
        memif_id=int(d.id),
        socket_id=int(d.socket_id),
        role=MemifRole(int(d.role)),
        mode=MemifMode(int(d.mode)),
        ring_size=int(d.ring_size),
        buffer_size=int(d.buffer_size),
        zero_copy=bool(d.zero_copy),
        mac=mac_text(d.hw_addr),
        admin_up=bool(flags & IfStatus.ADMIN_UP),
        link_up=bool(flags & IfStatus.LINK_UP),
    )


def dump() -> Dump[Memif]:
    return Dump("memif_dump", {}, _memif)
