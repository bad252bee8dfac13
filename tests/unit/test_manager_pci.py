"""PCI rebinding through sysfs, against a fake tree (no kernel driver answers there)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.manager import pci
from agent.manager.errors import ManagerError

ADDRESS = "0000:00:03.0"


def _tree(tmp: Path) -> Path:
    dev = tmp / "bus" / "pci" / "devices" / ADDRESS
    dev.mkdir(parents=True)
    (dev / "driver_override").write_text("\n")
    drv = tmp / "bus" / "pci" / "drivers" / "virtio-pci"
    drv.mkdir(parents=True)
    (drv / "unbind").write_text("")
    (tmp / "bus" / "pci" / "drivers" / "vfio-pci").mkdir()
    (tmp / "bus" / "pci" / "drivers" / "vfio-pci" / "bind").write_text("")
    (tmp / "bus" / "pci" / "drivers_probe").write_text("")
    os.symlink(drv, dev / "driver")
    return dev


def test_bind_writes_override_unbind_and_bind_then_checks(tmp_path: Path) -> None:
    dev = _tree(tmp_path)
    assert pci.current_driver(str(tmp_path), ADDRESS) == "virtio-pci"
    bound_elsewhere = r"did not bind to vfio-pci \(it is bound to virtio-pci\)"
    with pytest.raises(ManagerError, match=bound_elsewhere):
        pci.bind(str(tmp_path), ADDRESS, "vfio-pci")
    assert (dev / "driver_override").read_text() == "vfio-pci\n"
    assert (tmp_path / "bus/pci/drivers/virtio-pci/unbind").read_text() == ADDRESS
    assert (tmp_path / "bus/pci/drivers/vfio-pci/bind").read_text() == ADDRESS


def test_unwritable_sysfs_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ManagerError, match="cannot write 'vfio-pci' to"):
        pci.bind(str(tmp_path), ADDRESS, "vfio-pci")
