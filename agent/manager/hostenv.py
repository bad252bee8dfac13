"""Read-only probes of the node that validation needs: pages, PCI devices, managers.

Every probe reads files under configurable roots (``system.sysfs``,
``system.procfs``, ``system.run``) and never changes anything, so that
validation can run before the first change to the host, in a container
that mounts the host's directories elsewhere, and in tests against a fake
tree.
"""

from __future__ import annotations

import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from agent.manager.config import SystemPaths

AF_XDP = 44


@dataclass(frozen=True)
class Hugepages:
    total: int
    free: int
    size_kb: int


def hugepages(procfs: str) -> Hugepages:
    values: dict[str, int] = {}
    try:
        text = Path(procfs, "meminfo").read_text(encoding="ascii")
    except OSError:
        return Hugepages(0, 0, 0)
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key.strip()] = int(parts[0])
    return Hugepages(
        values.get("HugePages_Total", 0),
        values.get("HugePages_Free", 0),
        values.get("Hugepagesize", 0),
    )


def _hex_file(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="ascii").strip(), 16)
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class PciDevice:
    address: str
    vendor: int | None
    device: int | None
    driver: str | None
    iommu_group: str | None
    is_vf: bool
    has_rdma: bool


def pci_device(sysfs: str, address: str) -> PciDevice | None:
    base = Path(sysfs, "bus", "pci", "devices", address)
    if not base.is_dir():
        return None
    driver = base / "driver"
    group = base / "iommu_group"
    return PciDevice(
        address=address,
        vendor=_hex_file(base / "vendor"),
        device=_hex_file(base / "device"),
        driver=os.path.basename(os.readlink(driver)) if driver.is_symlink() else None,
        iommu_group=os.path.basename(os.readlink(group)) if group.is_symlink() else None,
        is_vf=(base / "physfn").exists(),
        has_rdma=(base / "infiniband").is_dir(),
    )


def kernel_driver_loaded(sysfs: str, driver: str) -> bool:
    return Path(sysfs, "bus", "pci", "drivers", driver).is_dir()


def noiommu_enabled(sysfs: str) -> bool:
    p = Path(sysfs, "module", "vfio", "parameters", "enable_unsafe_noiommu_mode")
    try:
        return p.read_text(encoding="ascii").strip() in ("Y", "1")
    except OSError:
        return False


def vhost_net(paths: SystemPaths) -> bool:
    """VPP's tap driver is virtio over vhost-net: without the device, tap_create fails."""
    return os.path.exists(paths.vhost_net)


def af_xdp_supported() -> bool:
    try:
        socket.socket(AF_XDP, socket.SOCK_RAW, 0).close()
    except OSError:
        return False
    return True


def executable(binary: str) -> str | None:
    """The path of ``binary`` if it can be run (a bare name is looked up in PATH)."""
    if os.sep in binary:
        return binary if os.path.isfile(binary) and os.access(binary, os.X_OK) else None
    return shutil.which(binary)


def network_managers(run: str, ifindex: int) -> list[str]:
    """Which host network managers claim the interface, from their runtime state files.

    NetworkManager keeps ``/run/NetworkManager/devices/<ifindex>`` (``managed=false``
    when told to leave a device alone); systemd-networkd keeps
    ``/run/systemd/netif/links/<ifindex>`` with ``ADMIN_STATE`` (``unmanaged`` when
    no .network file matches). Both would put back the addresses the manager moves.
    """
    found = []
    nm = Path(run, "NetworkManager", "devices", str(ifindex))
    text = _read(nm)
    if text is not None and "managed=false" not in text.lower().replace(" ", ""):
        found.append(f"NetworkManager ({nm})")
    nd = Path(run, "systemd", "netif", "links", str(ifindex))
    text = _read(nd)
    if text is not None:
        state = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        admin = state.get("ADMIN_STATE", "unmanaged")
        if admin not in ("unmanaged", "linger"):
            found.append(f"systemd-networkd ({nd}: ADMIN_STATE={admin})")
    return found


def _read(path: Path) -> str | None:
    """A runtime state file's text; None when the manager in question has none."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def read_sysctl(procfs: str, name: str) -> str | None:
    try:
        return Path(procfs, "sys", name).read_text(encoding="ascii").strip()
    except OSError:
        return None
