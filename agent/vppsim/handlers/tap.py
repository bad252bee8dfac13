"""tapv2.api: virtio tap/tun interfaces with a real host-side device."""

from __future__ import annotations

import logging

from agent.vppsim.codec import Msg, mac_bytes
from agent.vppsim.errors import (
    INVALID_INTERFACE,
    INVALID_SW_IF_INDEX,
    NO_MATCHING_INTERFACE,
    SYSCALL_ERROR_1,
    UNSPECIFIED,
    UNSUPPORTED,
    ApiError,
)
from agent.vppsim.handlers.base import Ctx, dump, random_mac, reply
from agent.vppsim.netdev import TapSpec
from agent.vppsim.state import Tap
from agent.vppsim.state.interfaces import NO_INDEX

log = logging.getLogger(__name__)

TAP_FLAG_ATTACH = 8
TAP_FLAG_TUN = 16
TAP_MAX_INSTANCE = 1024


def create_tap(ctx: Ctx, msg: Msg, num_tx_queues: int) -> Msg:
    """tap_create_if: id check, vhost-net, host device, then the VPP interface."""
    taps = ctx.state.taps
    ids = ctx.state.tap_ids
    tap_id = msg["id"]
    if tap_id != NO_INDEX and tap_id in ids.used:
        raise ApiError(INVALID_INTERFACE, f"tap id {tap_id} already exists")
    if tap_id == NO_INDEX:
        tap_id = ids.alloc()
        ids.free(tap_id)  # only peeked: taken for real once the device exists
    if tap_id > TAP_MAX_INSTANCE:
        raise ApiError(UNSPECIFIED, "cannot find free interface id")
    flags = int(msg["tap_flags"])
    tun = bool(flags & TAP_FLAG_TUN)
    if flags & TAP_FLAG_ATTACH:
        if not msg["host_if_name_set"]:
            raise ApiError(NO_MATCHING_INTERFACE, "host_if_name is not provided")
        raise ApiError(UNSUPPORTED, "attaching to an existing host tap is not simulated")
    if not ctx.config.vhost_net:
        raise ApiError(SYSCALL_ERROR_1, "open '/dev/vhost-net': No such file or directory")
    prefix = "tun" if tun else "tap"
    host_name = msg["host_if_name"] if msg["host_if_name_set"] else f"{prefix}{tap_id}"
    host_mac = b""
    if not tun:
        host_mac = mac_bytes(msg["host_mac_addr"]) if msg["host_mac_addr_set"] else b""
        host_mac = host_mac if host_mac.strip(b"\0") else random_mac()
    spec = TapSpec(
        tun=tun,
        host_if_name=host_name,
        netns=msg["host_namespace"] if msg["host_namespace_set"] else None,
        mtu=msg["host_mtu_size"] if msg["host_mtu_set"] else None,
        mac=host_mac or None,
        ip4=msg["host_ip4_prefix"] if msg["host_ip4_prefix_set"] else None,
        ip6=msg["host_ip6_prefix"] if msg["host_ip6_prefix_set"] else None,
        gw4=msg["host_ip4_gw"] if msg["host_ip4_gw_set"] else None,
        gw6=msg["host_ip6_gw"] if msg["host_ip6_gw_set"] else None,
        bridge=msg["host_bridge"] if msg["host_bridge_set"] and not tun else None,
    )
    device = ctx.devices.create_tap(spec)
    ids.reserve(tap_id)
    mac = b""
    if not tun:
        mac = random_mac() if msg["use_random_mac"] else mac_bytes(msg["mac_address"])
    rx_queues = max(1, int(msg["num_rx_queues"]))
    iface = ctx.state.interfaces.add(
        f"{prefix}{tap_id}",
        "virtio",
        prefix,
        mac=mac.ljust(6, b"\0"),
        link_up=True,
        rx_queues=rx_queues,
    )
    iface.tag = msg.get("tag") or ""
    taps[iface.sw_if_index] = Tap(
        sw_if_index=iface.sw_if_index,
        id=tap_id,
        tun=tun,
        tap_flags=flags,
        tx_ring_sz=msg["tx_ring_sz"],
        rx_ring_sz=msg["rx_ring_sz"],
        num_rx_queues=rx_queues,
        num_tx_queues=max(1, num_tx_queues),
        host_if_name=host_name,
        host_namespace=spec.netns or "",
        host_bridge=spec.bridge or "",
        host_mtu_size=spec.mtu or 0,
        host_mac=host_mac,
        host_ip4=spec.ip4,
        host_ip6=spec.ip6,
        host_ip4_gw=spec.gw4,
        host_ip6_gw=spec.gw6,
        device=device,
    )
    return {"sw_if_index": iface.sw_if_index}


@reply("tap_create_v3", mutating=True)
def tap_create_v3(ctx: Ctx, msg: Msg) -> Msg:
    return create_tap(ctx, msg, int(msg["num_tx_queues"]))


@reply("tap_create_v2", mutating=True)
def tap_create_v2(ctx: Ctx, msg: Msg) -> Msg:
    return create_tap(ctx, msg, 1)


def delete_tap(ctx: Ctx, sw_if_index: int) -> None:
    tap = ctx.state.taps.pop(sw_if_index)
    ctx.state.tap_ids.free(tap.id)
    ctx.devices.delete(tap.device)
    iface = ctx.state.interfaces.get(sw_if_index)
    if iface is not None:
        ctx.state.interfaces.remove(iface)
        ctx.state.forget_interface(sw_if_index)


@reply("tap_delete_v2", mutating=True)
def tap_delete_v2(ctx: Ctx, msg: Msg) -> Msg:
    if msg["sw_if_index"] not in ctx.state.taps:
        raise ApiError(INVALID_SW_IF_INDEX, f"{msg['sw_if_index']} is not a tap")
    delete_tap(ctx, msg["sw_if_index"])
    return {}


@dump("sw_interface_tap_v2_dump")
def sw_interface_tap_v2_dump(ctx: Ctx, msg: Msg) -> list[Msg]:
    out = []
    for sw, tap in sorted(ctx.state.taps.items()):
        if msg["sw_if_index"] not in (NO_INDEX, sw):
            continue
        iface = ctx.state.interfaces.get(sw)
        out.append(
            {
                "sw_if_index": sw,
                "id": tap.id,
                "tx_ring_sz": tap.tx_ring_sz,
                "rx_ring_sz": tap.rx_ring_sz,
                "host_mtu_size": tap.host_mtu_size,
                "host_mac_addr": tap.host_mac,
                "host_ip4_prefix": tap.host_ip4,
                "host_ip6_prefix": tap.host_ip6,
                "tap_flags": tap.tap_flags,
                "dev_name": iface.name if iface is not None else "",
                "host_if_name": tap.host_if_name,
                "host_namespace": tap.host_namespace,
                "host_bridge": tap.host_bridge,
            }
        )
    return out
