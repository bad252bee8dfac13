"""Pre-flight: everything that can be checked before the first change to the host.

The manager must never leave a node half-configured because of something it
could have seen coming: a wrong interface name, a driver whose prerequisites
are missing, more queues than the NIC has, an MTU the driver cannot carry,
another port in the uplink's subnet, a network manager that would fight
over the addresses. Each problem is reported with the config key or host
object at fault and what to do; all of them at once, so one round of fixes
suffices. The result also fixes the decisions the grab follows (host
interface type after the vhost-net check, its name, the MTU).
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field

from pyroute2 import IPRoute

from agent.manager import hostenv
from agent.manager.capture import UplinkState, capture
from agent.manager.config import ManagerSettings
from agent.manager.drivers import DRIVERS, DriverSpec, pci_of
from agent.manager.errors import ManagerError, ValidationError

log = logging.getLogger(__name__)

DEFAULT_HOST_NAME = "vpp0"
AF_PACKET_FRAME_OVERHEAD = 18 + 80  # Ethernet + VLAN tag, TPACKET header and sockaddr_ll


@dataclass(frozen=True)
class Preflight:
    """What validation found and decided; ``problems`` empty means go."""

    uplink: UplinkState | None
    host_type: str
    host_name: str
    peer_name: str
    mtu: int
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def raise_for_problems(self) -> None:
        if self.problems:
            raise ValidationError(list(self.problems))


def _host_names(settings: ManagerSettings, spec: DriverSpec) -> tuple[str, str]:
    name = settings.host_interface.name
    if name is None:
        name = DEFAULT_HOST_NAME if spec.kernel_keeps_netdev else settings.uplink.interface
    return name, f"{name[:11]}-vpp"


def _pci_problems(settings: ManagerSettings, spec: DriverSpec, uplink: UplinkState) -> list[str]:
    u, system = settings.uplink, settings.system
    pci = pci_of(settings, uplink)
    if pci is None:
        return [
            f"uplink.driver: {spec.name} drives a PCI function and {u.interface} has none "
            f"(it is a {uplink.kind or 'virtual'} device); set uplink.pci_address or use the "
            "af_packet or af_xdp driver"
        ]
    dev = hostenv.pci_device(system.sysfs, pci)
    if dev is None:
        return [f"uplink.pci_address: no PCI device {pci} under {system.sysfs}/bus/pci/devices"]
    problems = []
    if spec.pci_ids and (dev.vendor, dev.device) not in spec.pci_ids:
        ids = ", ".join(f"{v:04x}:{d:04x}" for v, d in spec.pci_ids)
        found = f"{dev.vendor or 0:04x}:{dev.device or 0:04x}"
        problems.append(
            f"uplink.driver: {spec.name} drives devices {ids}; {pci} is {found} "
            "(use dpdk for other NICs)"
        )
    if spec.name == "avf" and not dev.is_vf:
        problems.append(f"uplink.driver: avf drives SR-IOV virtual functions; {pci} is not a VF")
    target = u.kernel_driver or spec.default_kernel_driver
    if target and dev.driver != target:
        if not hostenv.kernel_driver_loaded(system.sysfs, target):
            problems.append(
                f"uplink.kernel_driver: {target} is not loaded (no {system.sysfs}/bus/pci/drivers/"
                f"{target}); load its module (modprobe {target}) before starting vppnet"
            )
        if (
            target == "vfio-pci"
            and dev.iommu_group is None
            and not hostenv.noiommu_enabled(system.sysfs)
        ):
            problems.append(
                f"uplink.kernel_driver: vfio-pci needs an IOMMU group for {pci} (enable the IOMMU, "
                "e.g. intel_iommu=on, or vfio's enable_unsafe_noiommu_mode) or use uio_pci_generic"
            )
    return problems


def _driver_problems(
    settings: ManagerSettings, spec: DriverSpec, uplink: UplinkState, mtu: int
) -> list[str]:
    u = settings.uplink
    problems = []
    if spec.needs_pci:
        problems += _pci_problems(settings, spec, uplink)
    if spec.needs_hugepages:
        pages = hostenv.hugepages(settings.system.procfs)
        if pages.free == 0:
            problems.append(
                f"uplink.driver: {spec.name} needs hugepages and the node has none free "
                f"(HugePages_Total {pages.total}, HugePages_Free 0); reserve them "
                "(vm.nr_hugepages) or use the af_packet or af_xdp driver"
            )
        if settings.memory.page_size != "hugepage":
            problems.append(f"memory.page_size: {spec.name} needs 'hugepage', not '4k'")
    if spec.name == "af_xdp" and not hostenv.af_xdp_supported():
        problems.append("uplink.driver: this kernel has no AF_XDP sockets; use af_packet")
    if spec.name == "rdma":
        pci = pci_of(settings, uplink)
        dev = hostenv.pci_device(settings.system.sysfs, pci) if pci else None
        if dev is None or not dev.has_rdma:
            problems.append(
                f"uplink.driver: rdma needs an RDMA-capable NIC (mlx5 with its infiniband "
                f"device); {u.interface} has none; use af_xdp or af_packet"
            )
    if spec.uses_nic_queues:
        for key, wanted, have in (
            ("rx_queues", u.rx_queues, uplink.rx_queues),
            ("tx_queues", u.tx_queues, uplink.tx_queues),
        ):
            if wanted > have:
                problems.append(
                    f"uplink.{key}: {wanted} requested, {u.interface} has {have}; "
                    "ask for fewer or raise the NIC's channels (ethtool -L)"
                )
    if spec.max_mtu is not None and mtu > spec.max_mtu:
        problems.append(
            f"uplink.mtu: {mtu} is more than {spec.name} can carry ({spec.max_mtu}); set "
            f"uplink.mtu to {spec.max_mtu} or less (and the fabric's), or use af_packet or dpdk"
        )
    for key, size in (
        ("rx_frame_size", u.af_packet.rx_frame_size),
        ("tx_frame_size", u.af_packet.tx_frame_size),
    ):
        if spec.name == "af_packet" and size and size < mtu + AF_PACKET_FRAME_OVERHEAD:
            problems.append(
                f"uplink.af_packet.{key}: {size} bytes cannot hold a {mtu}-byte packet; use at "
                f"least {mtu + AF_PACKET_FRAME_OVERHEAD} or 0 for VPP's default"
            )
    return problems


def _neighbour_problems(
    ipr: IPRoute, settings: ManagerSettings, uplink: UplinkState, host_name: str, peer: str
) -> list[str]:
    problems = []
    mine = [a.interface for a in uplink.addresses if not a.link_local]
    names = {int(link["index"]): str(link.get_attr("IFLA_IFNAME")) for link in ipr.get_links()}
    for other in (host_name, peer):
        if other in names.values() and other != uplink.name:
            problems.append(
                f"host_interface.name: a device named {other} already exists; remove it or "
                "choose another name"
            )
    for a in ipr.get_addr():
        index = int(a["index"])
        if index == uplink.ifindex or names.get(index) == "lo":
            continue
        theirs = ipaddress.ip_interface(
            f"{a.get_attr('IFA_LOCAL') or a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}"
        )
        if theirs.ip.is_link_local:
            continue
        for own in mine:
            if own.version == theirs.version and own.network.overlaps(theirs.network):
                problems.append(
                    f"uplink.interface: {names.get(index, index)} ({theirs}) is in the subnet of "
                    f"{uplink.name} ({own}); two ports in one subnet would let host traffic "
                    "bypass VPP: remove that address or move the port to another subnet"
                )
    managers = hostenv.network_managers(settings.system.run, uplink.ifindex)
    for manager in managers:
        problems.append(
            f"uplink.interface: {uplink.name} is managed by {manager}, which would put back the "
            "addresses vppnet moves; mark it unmanaged (NetworkManager: managed=false / "
            "nmcli device set <if> managed no; networkd: Unmanaged=yes) first"
        )
    return problems


def preflight(ipr: IPRoute, settings: ManagerSettings) -> Preflight:
    """Check everything; change nothing."""
    spec = DRIVERS[settings.uplink.driver]
    host_name, peer = _host_names(settings, spec)
    problems: list[str] = []
    warnings: list[str] = []
    if not settings.vpp.simulated and hostenv.executable(settings.vpp.binary) is None:
        problems.append(f"vpp.binary: {settings.vpp.binary} is not an executable file")
    host_type = settings.host_interface.type
    if host_type in ("tun", "tap") and not hostenv.vhost_net(settings.system):
        warnings.append(
            f"host_interface.type: {host_type} needs {settings.system.vhost_net}, which this "
            "node lacks (VPP's tap driver is virtio over vhost-net); using a veth pair with an "
            "af_packet VPP end instead, which is slower"
        )
        host_type = "veth"
    try:
        uplink = capture(
            ipr,
            settings.uplink.interface,
            procfs=settings.system.procfs,
            sysfs=settings.system.sysfs,
        )
    except ManagerError as e:
        return Preflight(None, host_type, host_name, peer, 0, (*problems, str(e)), tuple(warnings))
    mtu = settings.uplink.mtu or uplink.mtu
    if not [a for a in uplink.addresses if not a.link_local]:
        problems.append(
            f"uplink.interface: {uplink.name} has no address to give the host; configure the "
            "node's address on it (or fix uplink.interface) first"
        )
    problems += _driver_problems(settings, spec, uplink, mtu)
    problems += _neighbour_problems(ipr, settings, uplink, host_name, peer)
    if hostenv.read_sysctl(settings.system.procfs, "net/ipv4/conf/all/rp_filter") == "2":
        warnings.append(
            "net.ipv4.conf.all.rp_filter is 2 (loose): Linux may also answer IPv4 packets that "
            "reach the uplink; set it to 0 or 1 to leave them to VPP"
        )
    if not uplink.up:
        warnings.append(f"{uplink.name} is down; VPP will bring it up")
    return Preflight(uplink, host_type, host_name, peer, mtu, tuple(problems), tuple(warnings))
