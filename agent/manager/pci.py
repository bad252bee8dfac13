"""Kernel driver binding of the uplink's PCI function, through sysfs.

DPDK and VPP's native PCI drivers need the NIC away from its kernel driver
(bound to vfio-pci or uio_pci_generic); giving the uplink back means binding
it to the driver the capture saw, waiting for its netdev to reappear, and
giving that netdev its old name. ``driver_override`` pins the choice so a
hot-plug or another probe does not hand the device back to the kernel driver
in between.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

from pyroute2 import IPRoute

from agent.manager.errors import ManagerError

log = logging.getLogger(__name__)


def _device(sysfs: str, pci: str) -> Path:
    return Path(sysfs, "bus", "pci", "devices", pci)


def current_driver(sysfs: str, pci: str) -> str | None:
    link = _device(sysfs, pci) / "driver"
    return os.path.basename(os.readlink(link)) if link.is_symlink() else None


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value, encoding="ascii")
    except OSError as e:
        raise ManagerError(f"cannot write {value.strip()!r} to {path}: {e.strerror}") from e


def bind(sysfs: str, pci: str, driver: str | None) -> None:
    """Bind ``pci`` to ``driver`` (None: whatever the kernel picks), unbinding it first."""
    dev = _device(sysfs, pci)
    _write(dev / "driver_override", f"{driver}\n" if driver else "\n")
    if current_driver(sysfs, pci) is not None:
        _write(dev / "driver" / "unbind", pci)
    if driver is not None and Path(sysfs, "bus", "pci", "drivers", driver, "bind").exists():
        with contextlib.suppress(ManagerError):  # drivers_probe below is the fallback
            _write(Path(sysfs, "bus", "pci", "drivers", driver, "bind"), pci)
    if current_driver(sysfs, pci) is None:
        _write(Path(sysfs, "bus", "pci", "drivers_probe"), pci)
    found = current_driver(sysfs, pci)
    if driver is not None and found != driver:
        raise ManagerError(
            f"uplink.kernel_driver: {pci} did not bind to {driver} (it is bound to {found}); "
            "check the kernel log"
        )
    log.info("PCI %s bound to %s", pci, found)


def unbind_override(sysfs: str, pci: str, original: str | None) -> None:
    """Give the device back to its original driver and forget the override."""
    bind(sysfs, pci, original)
    _write(_device(sysfs, pci) / "driver_override", "\n")


def wait_netdev(ipr: IPRoute, pci: str, name: str, timeout: float = 10.0) -> int:
    """The netdev of ``pci`` once the kernel driver has made it, renamed back to ``name``."""
    deadline = time.monotonic() + timeout
    while True:
        for link in ipr.get_links():
            if link.get_attr("IFLA_PARENT_DEV_NAME") == pci:
                index = int(link["index"])
                if link.get_attr("IFLA_IFNAME") != name:
                    ipr.link("set", index=index, state="down")
                    ipr.link("set", index=index, ifname=name)
                return index
        if time.monotonic() > deadline:
            raise ManagerError(
                f"the kernel made no network interface for {pci} within {timeout:g}s after "
                f"rebinding; restore {name} by hand (docs/operations.md)"
            )
        time.sleep(0.1)
