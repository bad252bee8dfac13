"""TUN/TAP interfaces (VPP's tap plugin, virtio backed; needs /dev/vhost-net on the node).

Pod and host interfaces are created with the host side already in its
network namespace, under its final name, with its MTU and addresses, so a
pod never sees a half-configured device.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag
from typing import Any

from agent.vpp.convert import IPAddress, IPInterface, interface, mac_text
from agent.vpp.request import ANY_INTERFACE, Dump, Request, command, returning_sw_if_index

MESSAGES = ("tap_create_v3", "tap_delete_v2", "sw_interface_tap_v2_dump")

AUTO_ID = 0xFFFFFFFF


class TapFlags(IntFlag):
    GSO = 1
    CSUM_OFFLOAD = 2
    PERSIST = 4
    ATTACH = 8
    TUN = 16
    GRO_COALESCE = 32
    PACKED = 64
    IN_ORDER = 128
    CONSISTENT_QP = 256


@dataclass(frozen=True, slots=True)
class TapCreate:
    """Everything ``tap_create_v3`` can set; None leaves a value to VPP."""

    tun: bool = True
    host_if_name: str | None = None
    host_namespace: str | None = None
    host_mtu: int | None = None
    host_mac: str | None = None
    host_ip4_prefix: IPInterface | None = None
    host_ip6_prefix: IPInterface | None = None
    host_ip4_gw: IPAddress | None = None
    host_ip6_gw: IPAddress | None = None
    mac: str | None = None
    rx_queues: int = 1
    tx_queues: int = 1
    rx_ring_size: int = 256
    tx_ring_size: int = 256
    gso: bool = False
    csum_offload: bool = False
    tap_id: int = AUTO_ID
    tag: str = ""

    @property
    def flags(self) -> TapFlags:
        flags = TapFlags(0)
        if self.tun:
            flags |= TapFlags.TUN
        if self.gso:
            flags |= TapFlags.GSO
        if self.csum_offload:
            flags |= TapFlags.CSUM_OFFLOAD
        return flags


def create(spec: TapCreate, what: str = "") -> Request[int]:
    args: dict[str, Any] = {
        "id": spec.tap_id,
        "use_random_mac": spec.mac is None,
        "num_rx_queues": spec.rx_queues,
        "num_tx_queues": spec.tx_queues,
        "rx_ring_sz": spec.rx_ring_size,
        "tx_ring_sz": spec.tx_ring_size,
        "tap_flags": int(spec.flags),
        "tag": spec.tag,
    }
    if spec.mac is not None:
        args["mac_address"] = spec.mac
    optional = (
        ("host_if_name", spec.host_if_name),
        ("host_namespace", spec.host_namespace),
        ("host_mtu", spec.host_mtu),
        ("host_mac_addr", spec.host_mac),
        ("host_ip4_prefix", spec.host_ip4_prefix),
        ("host_ip6_prefix", spec.host_ip6_prefix),
        ("host_ip4_gw", spec.host_ip4_gw),
        ("host_ip6_gw", spec.host_ip6_gw),
    )
    for field, value in optional:
        if value is not None:
            name = "host_mtu_size" if field == "host_mtu" else field
            args[name] = value
            args[f"{field}_set"] = True
    return returning_sw_if_index("tap_create_v3", what, **args)


def delete(sw_if_index: int, what: str = "") -> Request[None]:
    return command("tap_delete_v2", what, sw_if_index=sw_if_index)


@dataclass(frozen=True, slots=True)
class Tap:
    sw_if_index: int
    tap_id: int
    dev_name: str
    host_if_name: str
    host_namespace: str
    host_mtu: int
    host_mac: str
    host_ip4_prefix: IPInterface | None
    host_ip6_prefix: IPInterface | None
    flags: TapFlags
    rx_ring_size: int
    tx_ring_size: int

    @property
    def tun(self) -> bool:
        return bool(self.flags & TapFlags.TUN)


def _optional_prefix(value: Any) -> IPInterface | None:
    prefix = interface(value)
    return None if int(prefix.ip) == 0 and prefix.network.prefixlen == 0 else prefix


def _tap(d: Any) -> Tap:
    return Tap(
        sw_if_index=int(d.sw_if_index),
        tap_id=int(d.id),
        dev_name=str(d.dev_name),
        host_if_name=str(d.host_if_name),
        host_namespace=str(d.host_namespace),
        host_mtu=int(d.host_mtu_size),
        host_mac=mac_text(d.host_mac_addr),
        host_ip4_prefix=_optional_prefix(d.host_ip4_prefix),
        host_ip6_prefix=_optional_prefix(d.host_ip6_prefix),
        flags=TapFlags(int(d.tap_flags)),
        rx_ring_size=int(d.rx_ring_sz),
        tx_ring_size=int(d.tx_ring_sz),
    )


def dump(sw_if_index: int = ANY_INTERFACE) -> Dump[Tap]:
    return Dump("sw_interface_tap_v2_dump", {"sw_if_index": sw_if_index}, _tap)
