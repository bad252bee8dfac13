"""The uplink drivers VPP offers, and what each needs from the node and from VPP.

One table says, per driver: does VPP create the interface through its API
or from startup.conf, does the kernel keep the NIC's netdev (so the manager
only strips its addresses) or lose it to a PCI rebind, does the driver use
the NIC's hardware queues, which MTU it can carry, which PCI devices it
drives, and which API messages it needs. Validation, startup.conf and the
grab all read this table, so a driver is described once.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.manager.capture import UplinkState
from agent.manager.config import ManagerSettings
from agent.manager.errors import ManagerError
from agent.vpp import VppConnection, af_packet, drivers, interfaces

# XDP without multi-buffer: one 4 KiB page per frame, less headroom and skb_shared_info.
AF_XDP_MAX_MTU = 3498
VIRTIO_IDS = ((0x1AF4, 0x1000), (0x1AF4, 0x1041))
VMXNET3_IDS = ((0x15AD, 0x07B0),)
AVF_IDS = ((0x8086, 0x154C), (0x8086, 0x1889), (0x8086, 0x37CD))  # i40e, adaptive, x722 VFs


@dataclass(frozen=True)
class DriverSpec:
    name: str
    api_create: bool  # VPP creates the interface through an API call
    needs_pci: bool  # the NIC is a PCI function VPP drives directly
    needs_hugepages: bool
    kernel_keeps_netdev: bool  # the Linux interface stays (addresses removed)
    uses_nic_queues: bool  # queues are the NIC's hardware queues
    max_mtu: int | None = None
    pci_ids: tuple[tuple[int, int], ...] = ()  # empty: any device
    default_kernel_driver: str | None = None
    messages: tuple[str, ...] = ()

    @property
    def dpdk(self) -> bool:
        return self.name in ("dpdk", "virtio", "vmxnet3")


DRIVERS: dict[str, DriverSpec] = {
    "af_packet": DriverSpec(
        "af_packet", True, False, False, True, False, messages=af_packet.MESSAGES
    ),
    "af_xdp": DriverSpec(
        "af_xdp",
        True,
        False,
        False,
        True,
        True,
        max_mtu=AF_XDP_MAX_MTU,
        messages=drivers.AF_XDP_MESSAGES,
    ),
    "rdma": DriverSpec("rdma", True, False, False, True, True, messages=drivers.RDMA_MESSAGES),
    "avf": DriverSpec(
        "avf",
        True,
        True,
        False,
        False,
        True,
        pci_ids=AVF_IDS,
        default_kernel_driver="vfio-pci",
        messages=drivers.AVF_MESSAGES,
    ),
    "dpdk": DriverSpec("dpdk", False, True, True, False, True, default_kernel_driver="vfio-pci"),
    "virtio": DriverSpec(
        "virtio",
        False,
        True,
        True,
        False,
        True,
        pci_ids=VIRTIO_IDS,
        default_kernel_driver="vfio-pci",
    ),
    "vmxnet3": DriverSpec(
        "vmxnet3",
        False,
        True,
        True,
        False,
        True,
        pci_ids=VMXNET3_IDS,
        default_kernel_driver="vfio-pci",
    ),
}


def spec_of(settings: ManagerSettings) -> DriverSpec:
    return DRIVERS[settings.uplink.driver]


def vpp_uplink_name(settings: ManagerSettings) -> str:
    """The VPP interface name of the uplink for drivers whose name vppnet chooses or knows."""
    if settings.uplink.driver == "af_packet":
        return f"host-{settings.uplink.interface}"
    return settings.uplink.interface


def pci_of(settings: ManagerSettings, uplink: UplinkState) -> str | None:
    return settings.uplink.pci_address or uplink.pci_address


def create_uplink(conn: VppConnection, settings: ManagerSettings, uplink: UplinkState) -> int:
    """Have VPP take the NIC; returns the VPP interface's sw_if_index."""
    u = settings.uplink
    what = f"uplink {u.interface}"
    if u.driver == "af_packet":
        flags = af_packet.AfPacketFlags(0)
        if u.af_packet.qdisc_bypass:
            flags |= af_packet.AfPacketFlags.QDISC_BYPASS
        return conn.call(
            af_packet.create(
                af_packet.AfPacketCreate(
                    host_if_name=u.interface,
                    mac=uplink.mac,
                    rx_queues=u.rx_queues,
                    tx_queues=u.tx_queues,
                    rx_frame_size=u.af_packet.rx_frame_size,
                    tx_frame_size=u.af_packet.tx_frame_size,
                    rx_frames_per_block=u.af_packet.rx_frames_per_block,
                    tx_frames_per_block=u.af_packet.tx_frames_per_block,
                    flags=flags,
                ),
                what,
            )
        )
    if u.driver == "af_xdp":
        mode = {"auto": drivers.AfXdpMode.AUTO, "copy": drivers.AfXdpMode.COPY}.get(
            u.af_xdp.mode, drivers.AfXdpMode.ZERO_COPY
        )
        spec = drivers.AfXdpCreate(
            host_if=u.interface,
            name=vpp_uplink_name(settings),
            rx_queues=u.rx_queues,
            rx_queue_size=u.rx_queue_size,
            tx_queue_size=u.tx_queue_size,
            mode=mode,
            prog=u.af_xdp.program,
        )
        return conn.call(drivers.af_xdp_create(spec, what))
    if u.driver == "rdma":
        rdma = drivers.RdmaCreate(
            host_if=u.interface,
            name=vpp_uplink_name(settings),
            rx_queues=u.rx_queues,
            rx_queue_size=u.rx_queue_size,
            tx_queue_size=u.tx_queue_size,
            mode=drivers.RdmaMode[u.rdma.mode.upper()],
        )
        return conn.call(drivers.rdma_create(rdma, what))
    if u.driver == "avf":
        pci = pci_of(settings, uplink)
        if pci is None:
            raise ManagerError("uplink.pci_address: avf needs the NIC's PCI address")
        avf = drivers.AvfCreate(pci, u.rx_queues, u.rx_queue_size, u.tx_queue_size)
        return conn.call(drivers.avf_create(avf, what))
    name = vpp_uplink_name(settings)
    found = [i for i in conn.dump(interfaces.dump(name_filter=name)) if i.name == name]
    if not found:
        raise ManagerError(
            f"VPP did not create the uplink {name} from startup.conf ({u.driver}): check that the "
            f"device {pci_of(settings, uplink)} is bound to {u.kernel_driver or 'vfio-pci'} and "
            "VPP's log for the dpdk plugin"
        )
    return found[0].sw_if_index
