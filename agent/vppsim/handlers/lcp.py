"""lcp.api (linux-cp): mirror a VPP interface into Linux through a tap pair."""

from __future__ import annotations

from agent.vppsim.codec import Msg
from agent.vppsim.errors import INVALID_SW_IF_INDEX, INVALID_VALUE, VALUE_EXIST, ApiError
from agent.vppsim.handlers.base import Ctx, cursor, interface, reply
from agent.vppsim.handlers.tap import delete_tap
from agent.vppsim.netdev import TapSpec
from agent.vppsim.state import LcpPair, Tap
from agent.vppsim.state.interfaces import NO_INDEX

HOST_TUN = 1
PAGE = 1000
EAGAIN = -165


def _pair_add_del(ctx: Ctx, msg: Msg) -> LcpPair | None:
    """lcp_itf_pair_create: a tap in VPP whose Linux side carries the phy's name and MAC."""
    phy = interface(ctx, msg["sw_if_index"])
    lcp = ctx.state.lcp
    if not msg["is_add"]:
        pair = lcp.pairs.pop(phy.sw_if_index, None)
        if pair is None:
            raise ApiError(INVALID_SW_IF_INDEX, f"{phy.name} has no linux-cp pair")
        if pair.host_sw_if_index in ctx.state.taps:
            delete_tap(ctx, pair.host_sw_if_index)
        return None
    if phy.sw_if_index in lcp.pairs:
        raise ApiError(VALUE_EXIST, f"{phy.name} already has a linux-cp pair")
    name = msg["host_if_name"]
    if not name:
        raise ApiError(INVALID_VALUE, "empty host_if_name")
    tun = int(msg["host_if_type"]) == HOST_TUN
    netns = msg["netns"] or lcp.default_ns or None
    spec = TapSpec(tun, name, netns, None, None if tun else phy.mac, None, None, None, None)
    device = ctx.devices.create_tap(spec)
    tap_id = ctx.state.tap_ids.alloc()
    kind = "tun" if tun else "tap"
    host = ctx.state.interfaces.add(
        f"{kind}{tap_id}",
        "virtio",
        kind,
        mac=bytes(6) if tun else phy.mac,
        link_up=True,
        rx_queues=1,
    )
    ctx.state.taps[host.sw_if_index] = Tap(
        sw_if_index=host.sw_if_index,
        id=tap_id,
        tun=tun,
        tap_flags=16 if tun else 0,
        tx_ring_sz=256,
        rx_ring_sz=256,
        num_rx_queues=1,
        num_tx_queues=1,
        host_if_name=name,
        host_namespace=netns or "",
        host_bridge="",
        host_mtu_size=0,
        host_mac=b"" if tun else phy.mac,
        host_ip4=None,
        host_ip6=None,
        host_ip4_gw=None,
        host_ip6_gw=None,
        device=device,
    )
    pair = LcpPair(
        phy.sw_if_index,
        host.sw_if_index,
        device.ifindex if device else 0,
        name,
        int(msg["host_if_type"]),
        netns or "",
    )
    lcp.pairs[phy.sw_if_index] = pair
    return pair


@reply("lcp_itf_pair_add_del", mutating=True)
def lcp_itf_pair_add_del(ctx: Ctx, msg: Msg) -> Msg:
    _pair_add_del(ctx, msg)
    return {}


@reply("lcp_itf_pair_add_del_v2", mutating=True)
def lcp_itf_pair_add_del_v2(ctx: Ctx, msg: Msg) -> Msg:
    pair = _pair_add_del(ctx, msg)
    return {"host_sw_if_index": pair.host_sw_if_index if pair else NO_INDEX}


@reply("lcp_itf_pair_add_del_v3", mutating=True)
def lcp_itf_pair_add_del_v3(ctx: Ctx, msg: Msg) -> Msg:
    pair = _pair_add_del(ctx, msg)
    if pair is None:
        return {"vif_index": NO_INDEX, "host_sw_if_index": NO_INDEX}
    return {"vif_index": pair.vif_index, "host_sw_if_index": pair.host_sw_if_index}


@cursor("lcp_itf_pair_get")
def lcp_itf_pair_get(ctx: Ctx, msg: Msg) -> tuple[Msg, list[Msg]]:
    """Pages of PAGE pairs; EAGAIN with the next cursor until the last page (cursor ~0)."""
    pairs = [p for _, p in sorted(ctx.state.lcp.pairs.items())]
    start = msg["cursor"] if msg["cursor"] != NO_INDEX else len(pairs)
    page = pairs[start : start + PAGE]
    details = [
        {
            "phy_sw_if_index": p.phy_sw_if_index,
            "host_sw_if_index": p.host_sw_if_index,
            "vif_index": p.vif_index,
            "host_if_name": p.host_if_name,
            "host_if_type": p.host_if_type,
            "netns": p.netns,
        }
        for p in page
    ]
    if start + PAGE < len(pairs):
        return {"retval": EAGAIN, "cursor": start + PAGE}, details
    return {"cursor": NO_INDEX}, details


@reply("lcp_default_ns_set", mutating=True)
def lcp_default_ns_set(ctx: Ctx, msg: Msg) -> Msg:
    ctx.state.lcp.default_ns = msg["netns"]
    return {}


@reply("lcp_default_ns_get", mutating=False)
def lcp_default_ns_get(ctx: Ctx, msg: Msg) -> Msg:
    return {"netns": ctx.state.lcp.default_ns}
