"""Uplinks created through a native driver plugin's API: af_xdp, rdma and avf.

The other uplink drivers are either af_packet (its own module) or come from
VPP's startup.conf (dpdk, and DPDK's virtio and vmxnet3 PMDs) and have no
create message. Each driver's messages are listed separately so that the
start-up check only requires the plugin of the driver actually configured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from agent.vpp.request import Request, command, returning_sw_if_index

AF_XDP_MESSAGES = ("af_xdp_create_v3", "af_xdp_delete")
RDMA_MESSAGES = ("rdma_create_v5", "rdma_delete")
AVF_MESSAGES = ("avf_create", "avf_delete")
MESSAGES = AF_XDP_MESSAGES + RDMA_MESSAGES + AVF_MESSAGES

AF_XDP_ALL_QUEUES = 0xFFFF


class AfXdpMode(IntEnum):
    AUTO = 0
    COPY = 1
    ZERO_COPY = 2


class RdmaMode(IntEnum):
    AUTO = 0
    IBV = 1
    DV = 2


@dataclass(frozen=True, slots=True)
class AfXdpCreate:
    host_if: str
    name: str = ""
    rx_queues: int = 1
    rx_queue_size: int = 0  # 0: VPP's default
    tx_queue_size: int = 0
    mode: AfXdpMode = AfXdpMode.AUTO
    no_syscall_lock: bool = False
    prog: str = ""  # eBPF program path; empty: VPP's built-in redirect-everything program
    netns: str = ""


def af_xdp_create(spec: AfXdpCreate, what: str = "") -> Request[int]:
    return returning_sw_if_index(
        "af_xdp_create_v3",
        what,
        host_if=spec.host_if,
        name=spec.name,
        rxq_num=spec.rx_queues,
        rxq_size=spec.rx_queue_size,
        txq_size=spec.tx_queue_size,
        mode=int(spec.mode),
        flags=1 if spec.no_syscall_lock else 0,
        prog=spec.prog,
        netns=spec.netns,
    )


def af_xdp_delete(sw_if_index: int, what: str = "") -> Request[None]:
    return command("af_xdp_delete", what, sw_if_index=sw_if_index)


@dataclass(frozen=True, slots=True)
class RdmaCreate:
    host_if: str
    name: str = ""
    rx_queues: int = 1
    rx_queue_size: int = 1024
    tx_queue_size: int = 1024
    mode: RdmaMode = RdmaMode.AUTO
    no_multi_seg: bool = False
    max_pktlen: int = 0


def rdma_create(spec: RdmaCreate, what: str = "") -> Request[int]:
    return returning_sw_if_index(
        "rdma_create_v5",
        what,
        host_if=spec.host_if,
        name=spec.name,
        rxq_num=spec.rx_queues,
        rxq_size=spec.rx_queue_size,
        txq_size=spec.tx_queue_size,
        mode=int(spec.mode),
        no_multi_seg=spec.no_multi_seg,
        max_pktlen=spec.max_pktlen,
    )


def rdma_delete(sw_if_index: int, what: str = "") -> Request[None]:
    return command("rdma_delete", what, sw_if_index=sw_if_index)


_PCI = re.compile(r"^([0-9a-fA-F]{4}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$")


def pci_address_u32(address: str) -> int:
    """VPP's ``vlib_pci_addr_t.as_u32`` of ``dddd:bb:ss.f``, as the avf API wants it."""
    m = _PCI.match(address)
    if m is None:
        raise ValueError(f"not a PCI address (dddd:bb:ss.f): {address!r}")
    domain, bus, slot, function = (int(g, 16) for g in m.groups())
    if slot > 0x1F:
        raise ValueError(f"PCI slot out of range in {address!r}")
    return domain | bus << 16 | slot << 24 | function << 29


@dataclass(frozen=True, slots=True)
class AvfCreate:
    pci_address: str
    rx_queues: int = 1
    rx_queue_size: int = 0
    tx_queue_size: int = 0


def avf_create(spec: AvfCreate, what: str = "") -> Request[int]:
    return returning_sw_if_index(
        "avf_create",
        what,
        pci_addr=pci_address_u32(spec.pci_address),
        enable_elog=0,
        rxq_num=spec.rx_queues,
        rxq_size=spec.rx_queue_size,
        txq_size=spec.tx_queue_size,
    )


def avf_delete(sw_if_index: int, what: str = "") -> Request[None]:
    return command("avf_delete", what, sw_if_index=sw_if_index)
