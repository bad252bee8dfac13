"""af_packet interfaces: VPP attached to an existing Linux interface (uplink or veth end).

This is the driver that works everywhere, including kernels without
/dev/vhost-net where the tap driver cannot run; VPP names the interface
``host-<linux name>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Any

from agent.vpp.request import Dump, Request, command, returning_sw_if_index

MESSAGES = ("af_packet_create_v3", "af_packet_delete", "af_packet_dump")


class AfPacketMode(IntEnum):
    ETHERNET = 1
    IP = 2


class AfPacketFlags(IntFlag):
    QDISC_BYPASS = 1
    CKSUM_GSO = 2
    VERSION_2 = 8


NO_FLAGS = AfPacketFlags(0)


@dataclass(frozen=True, slots=True)
class AfPacketCreate:
    host_if_name: str
    mode: AfPacketMode = AfPacketMode.ETHERNET
    mac: str | None = None
    rx_queues: int = 1
    tx_queues: int = 1
    rx_frame_size: int = 0  # 0: VPP's default
    tx_frame_size: int = 0
    rx_frames_per_block: int = 0
    tx_frames_per_block: int = 0
    flags: AfPacketFlags = NO_FLAGS


def create(spec: AfPacketCreate, what: str = "") -> Request[int]:
    return returning_sw_if_index(
        "af_packet_create_v3",
        what,
        mode=int(spec.mode),
        hw_addr=spec.mac or "00:00:00:00:00:00",
        use_random_hw_addr=spec.mac is None,
        host_if_name=spec.host_if_name,
        rx_frame_size=spec.rx_frame_size,
        tx_frame_size=spec.tx_frame_size,
        rx_frames_per_block=spec.rx_frames_per_block,
        tx_frames_per_block=spec.tx_frames_per_block,
        flags=int(spec.flags),
        num_rx_queues=spec.rx_queues,
        num_tx_queues=spec.tx_queues,
    )


def delete(host_if_name: str, what: str = "") -> Request[None]:
    return command("af_packet_delete", what, host_if_name=host_if_name)


@dataclass(frozen=True, slots=True)
class AfPacket:
    sw_if_index: int
    host_if_name: str


def _af_packet(d: Any) -> AfPacket:
    return AfPacket(int(d.sw_if_index), str(d.host_if_name))


def dump() -> Dump[AfPacket]:
    return Dump("af_packet_dump", {}, _af_packet)
