"""interface.api: loopback interfaces (``loop<instance>``), VPP's "ethernet simulated" device.

vppnet makes one per VRF and lends its address to the pod interfaces and
tunnels of that VRF (unnumbered), which is what turns IPv4 and IPv6 on for
them. Like VPP, the instance is the smallest free one, a zero MAC becomes
``de:ad:00:00:00:<instance>``, the link follows the admin state, and
``delete_loopback`` refuses an interface that is not a loopback.
"""

from __future__ import annotations

from agent.vppsim.codec import Msg, mac_bytes
from agent.vppsim.errors import INVALID_SW_IF_INDEX, ApiError
from agent.vppsim.handlers.base import Ctx, interface, reply

KIND = "loopback"
DEV_TYPE = "Loopback"  # the device class name VPP reports in interface_dev_type
NAME_PREFIX = "loop"


def _free_instance(ctx: Ctx) -> int:
    used = {int(i.name[len(NAME_PREFIX) :]) for i in ctx.state.interfaces if i.kind == KIND}
    return next(n for n in range(len(used) + 1) if n not in used)


@reply("create_loopback", mutating=True)
def create_loopback(ctx: Ctx, msg: Msg) -> Msg:
    instance = _free_instance(ctx)
    mac = mac_bytes(msg["mac_address"]).ljust(6, b"\0")
    if not mac.strip(b"\0"):
        mac = bytes([0xDE, 0xAD, 0, 0, 0, instance & 0xFF])
    iface = ctx.state.interfaces.add(f"{NAME_PREFIX}{instance}", DEV_TYPE, KIND, mac=mac)
    return {"sw_if_index": iface.sw_if_index}


@reply("delete_loopback", mutating=True)
def delete_loopback(ctx: Ctx, msg: Msg) -> Msg:
    iface = interface(ctx, msg["sw_if_index"])
    if iface.kind != KIND:
        raise ApiError(INVALID_SW_IF_INDEX, f"{iface.name} is not a loopback")
    ctx.state.interfaces.remove(iface)
    ctx.state.forget_interface(iface.sw_if_index)
    return {}
