"""af_xdp.api, rdma.api and avf.api: uplinks created by a native driver plugin.

VPP attaches these drivers to a NIC the kernel still knows (af_xdp, rdma:
by Linux interface name) or to a PCI function (avf). The simulator checks
what VPP checks before creating anything — the host interface or PCI device
exists, the NIC has the receive queues asked for, the NIC is not taken
twice — and then records an interface with VPP's naming. No packets move.
"""

from __future__ import annotations

from agent.vppsim.codec import Msg
from agent.vppsim.errors import IF_ALREADY_EXISTS, INVALID_INTERFACE, INVALID_VALUE, ApiError
from agent.vppsim.handlers.base import Ctx, random_mac, reply
from agent.vppsim.state import NativeUplink

ALL_QUEUES = 0xFFFF  # af_xdp: "every queue the NIC has"


def _check_free(ctx: Ctx, driver: str, host_if: str) -> None:
    for uplink in ctx.state.native_uplinks.values():
        if uplink.host_if == host_if:
            raise ApiError(IF_ALREADY_EXISTS, f"{host_if} is already used by {uplink.driver}")
    if any(a.host_if_name == host_if for a in ctx.state.af_packet.values()):
        raise ApiError(IF_ALREADY_EXISTS, f"{host_if} is already used by af_packet")


def _check_name(ctx: Ctx, name: str) -> None:
    if ctx.state.interfaces.by_name(name) is not None:
        raise ApiError(INVALID_VALUE, f"interface name {name} is taken")


def _create(
    ctx: Ctx,
    driver: str,
    name: str,
    host_if: str,
    rx_queues: int,
    sizes: tuple[int, int],
    mode: int,
) -> Msg:
    iface = ctx.state.interfaces.add(
        name, driver, driver, mac=random_mac(), link_up=True, rx_queues=rx_queues
    )
    ctx.state.native_uplinks[iface.sw_if_index] = NativeUplink(
        iface.sw_if_index, driver, host_if, rx_queues, rx_queues, sizes[0], sizes[1], mode
    )
    return {"sw_if_index": iface.sw_if_index}


def _queues(ctx: Ctx, host_if: str, wanted: int, missing_retval: int) -> int:
    available = ctx.devices.host_interface_queues(host_if)
    if available is None:
        raise ApiError(missing_retval, f"host interface {host_if} does not exist")
    if wanted == ALL_QUEUES:
        return available
    if wanted > available:
        raise ApiError(INVALID_VALUE, f"{host_if} has {available} rx queues, {wanted} requested")
    return max(1, wanted)


def _delete(ctx: Ctx, driver: str, sw_if_index: int) -> Msg:
    uplink = ctx.state.native_uplinks.get(sw_if_index)
    if uplink is None or uplink.driver != driver:
        raise ApiError(INVALID_INTERFACE, f"{sw_if_index} is not an {driver} interface")
    del ctx.state.native_uplinks[sw_if_index]
    iface = ctx.state.interfaces.get(sw_if_index)
    if iface is not None:
        ctx.state.interfaces.remove(iface)
        ctx.state.forget_interface(sw_if_index)
    return {}


@reply("af_xdp_create_v3", mutating=True)
def af_xdp_create_v3(ctx: Ctx, msg: Msg) -> Msg:
    """af_xdp_create_if: the Linux interface must exist and have the queues asked for."""
    host_if = msg["host_if"]
    if not host_if:
        raise ApiError(INVALID_VALUE, "missing host interface")
    _check_free(ctx, "af_xdp", host_if)
    queues = _queues(ctx, host_if, int(msg["rxq_num"]), INVALID_VALUE)
    name = msg["name"] or f"{host_if}/{len(ctx.state.native_uplinks)}"
    _check_name(ctx, name)
    sizes = (int(msg["rxq_size"]), int(msg["txq_size"]))
    return _create(ctx, "af_xdp", name, host_if, queues, sizes, int(msg["mode"]))


@reply("af_xdp_delete", mutating=True)
def af_xdp_delete(ctx: Ctx, msg: Msg) -> Msg:
    return _delete(ctx, "af_xdp", msg["sw_if_index"])


@reply("rdma_create_v5", mutating=True)
def rdma_create_v5(ctx: Ctx, msg: Msg) -> Msg:
    """rdma_create_if: a Linux interface backed by an RDMA-capable NIC."""
    host_if = msg["host_if"]
    if not host_if:
        raise ApiError(INVALID_INTERFACE, "missing host interface")
    _check_free(ctx, "rdma", host_if)
    queues = _queues(ctx, host_if, int(msg["rxq_num"]), INVALID_INTERFACE)
    name = msg["name"] or f"rdma-{len(ctx.state.native_uplinks)}"
    _check_name(ctx, name)
    sizes = (int(msg["rxq_size"]), int(msg["txq_size"]))
    return _create(ctx, "rdma", name, host_if, queues, sizes, int(msg["mode"]))


@reply("rdma_delete", mutating=True)
def rdma_delete(ctx: Ctx, msg: Msg) -> Msg:
    return _delete(ctx, "rdma", msg["sw_if_index"])


def pci_text(value: int) -> str:
    """VPP's vlib_pci_addr_t as_u32 (domain | bus << 16 | slot << 24 | function << 29)."""
    domain, bus = value & 0xFFFF, (value >> 16) & 0xFF
    slot, function = (value >> 24) & 0x1F, (value >> 29) & 0x7
    return f"{domain:04x}:{bus:02x}:{slot:02x}.{function:x}"


@reply("avf_create", mutating=True)
def avf_create(ctx: Ctx, msg: Msg) -> Msg:
    """avf_create_if: an Intel adaptive virtual function, by PCI address."""
    value = int(msg["pci_addr"])
    if value == 0:
        raise ApiError(INVALID_VALUE, "missing PCI address")
    address = pci_text(value)
    if not ctx.devices.pci_device_exists(address):
        raise ApiError(INVALID_INTERFACE, f"no PCI device {address}")
    _check_free(ctx, "avf", address)
    domain, rest = address.split(":", 1)
    bus, slotfn = rest.split(":")
    slot, function = slotfn.split(".")
    name = f"avf-{int(domain, 16):x}/{int(bus, 16):x}/{int(slot, 16):x}/{int(function, 16):x}"
    queues = max(1, int(msg["rxq_num"]))
    sizes = (int(msg["rxq_size"]), int(msg["txq_size"]))
    return _create(ctx, "avf", name, address, queues, sizes, 0)


@reply("avf_delete", mutating=True)
def avf_delete(ctx: Ctx, msg: Msg) -> Msg:
    return _delete(ctx, "avf", msg["sw_if_index"])
