"""Driver prerequisites against a fake /sys and /proc: what each driver needs, and the fix."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from agent.manager import hostenv
from agent.manager.capture import Address, UplinkState
from agent.manager.config import ManagerSettings, parse_settings
from agent.manager.drivers import DRIVERS
from agent.manager.validate import _driver_problems

PCI = "0000:00:03.0"


def _uplink(**kw: Any) -> UplinkState:
    base: dict[str, Any] = {
        "name": "ens3",
        "ifindex": 2,
        "mac": "02:00:00:00:00:05",
        "mtu": 1500,
        "flags": 0x1043,
        "addresses": (Address("10.0.0.5", 24),),
        "routes": (),
        "neighbours": (),
        "rx_queues": 4,
        "tx_queues": 4,
        "pci_address": PCI,
    }
    return UplinkState(**{**base, **kw})


def _host(
    tmp: Path,
    *,
    vendor: int = 0x1AF4,
    device: int = 0x1000,
    hugepages: int = 512,
    drivers: tuple[str, ...] = ("vfio-pci",),
    iommu: bool = True,
    vf: bool = False,
    rdma: bool = False,
) -> tuple[str, str]:
    sysfs, procfs = tmp / "sys", tmp / "proc"
    dev = sysfs / "bus" / "pci" / "devices" / PCI
    dev.mkdir(parents=True)
    (dev / "vendor").write_text(f"0x{vendor:04x}\n")
    (dev / "device").write_text(f"0x{device:04x}\n")
    for d in drivers:
        (sysfs / "bus" / "pci" / "drivers" / d).mkdir(parents=True)
    os.symlink(sysfs / "bus" / "pci" / "drivers" / drivers[0], dev / "driver")
    if iommu:
        (sysfs / "kernel" / "iommu_groups" / "7").mkdir(parents=True)
        os.symlink(sysfs / "kernel" / "iommu_groups" / "7", dev / "iommu_group")
    if vf:
        (dev / "physfn").mkdir()
    if rdma:
        (dev / "infiniband").mkdir()
    procfs.mkdir()
    (procfs / "meminfo").write_text(
        f"MemTotal: 1000 kB\nHugePages_Total: {hugepages}\nHugePages_Free: {hugepages}\n"
        "Hugepagesize: 2048 kB\n"
    )
    return str(sysfs), str(procfs)


def _problems(
    tmp: Path,
    uplink: dict[str, Any],
    host: dict[str, Any] | None = None,
    state: UplinkState | None = None,
    **settings: Any,
) -> list[str]:
    sysfs, procfs = _host(tmp, **(host or {}))
    s: ManagerSettings = parse_settings(
        {
            "uplink": {"interface": "ens3", **uplink},
            "system": {"sysfs": sysfs, "procfs": procfs},
            **settings,
        }
    )
    spec = DRIVERS[s.uplink.driver]
    state = state or _uplink()
    return _driver_problems(s, spec, state, s.uplink.mtu or state.mtu)


def test_virtio_with_hugepages_and_vfio_is_fine(tmp_path: Path) -> None:
    assert _problems(tmp_path, {"driver": "virtio"}, memory={"page_size": "hugepage"}) == []


def test_dpdk_without_hugepages(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {"driver": "dpdk"}, {"hugepages": 0})
    assert any("dpdk needs hugepages" in p and "vm.nr_hugepages" in p for p in problems)
    assert any(p.startswith("memory.page_size: dpdk needs 'hugepage'") for p in problems)


def test_vmxnet3_on_another_nic(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {"driver": "vmxnet3"}, memory={"page_size": "hugepage"})
    assert problems == [
        "uplink.driver: vmxnet3 drives devices 15ad:07b0; 0000:00:03.0 is 1af4:1000 "
        "(use dpdk for other NICs)"
    ]


def test_vfio_needs_the_module_and_an_iommu(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        {"driver": "dpdk"},
        {"drivers": ("virtio-pci",), "iommu": False},
        memory={"page_size": "hugepage"},
    )
    assert any("uplink.kernel_driver: vfio-pci is not loaded" in p for p in problems)
    assert any("vfio-pci needs an IOMMU group" in p for p in problems)


def test_uio_pci_generic_needs_no_iommu(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        {"driver": "dpdk", "kernel_driver": "uio_pci_generic"},
        {"drivers": ("virtio-pci", "uio_pci_generic"), "iommu": False},
        memory={"page_size": "hugepage"},
    )
    assert problems == []


def test_avf_needs_an_intel_vf(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {"driver": "avf"})
    assert any("avf drives devices 8086:154c" in p for p in problems)
    assert any("avf drives SR-IOV virtual functions" in p for p in problems)
    ok = _problems(
        tmp_path / "vf", {"driver": "avf"}, {"vendor": 0x8086, "device": 0x1889, "vf": True}
    )
    assert ok == []


def test_pci_drivers_need_a_pci_device(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {"driver": "avf"}, state=_uplink(pci_address=None, kind="veth"))
    assert problems == [
        "uplink.driver: avf drives a PCI function and ens3 has none (it is a veth device); "
        "set uplink.pci_address or use the af_packet or af_xdp driver"
    ]


def test_rdma_needs_its_infiniband_device(tmp_path: Path) -> None:
    assert any(
        "rdma needs an RDMA-capable NIC" in p for p in _problems(tmp_path, {"driver": "rdma"})
    )
    assert _problems(tmp_path / "ib", {"driver": "rdma"}, {"rdma": True}) == []


def test_queues_and_mtu(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path, {"driver": "rdma", "rx_queues": 8, "tx_queues": 2}, {"rdma": True}
    )
    assert problems == [
        "uplink.rx_queues: 8 requested, ens3 has 4; ask for fewer or raise the NIC's channels "
        "(ethtool -L)"
    ]
    mtu = _problems(tmp_path / "x", {"driver": "af_xdp", "mtu": 9000})
    assert any(p.startswith("uplink.mtu: 9000 is more than af_xdp can carry (3498)") for p in mtu)


def test_af_packet_queues_are_not_nic_queues_but_frames_must_fit(tmp_path: Path) -> None:
    assert _problems(tmp_path, {"rx_queues": 16}) == []
    small = _problems(
        tmp_path / "f", {"af_packet": {"rx_frame_size": 2048}}, state=_uplink(mtu=9000)
    )
    assert small == [
        "uplink.af_packet.rx_frame_size: 2048 bytes cannot hold a 9000-byte packet; use at least "
        "9098 or 0 for VPP's default"
    ]


def test_network_manager_state_files(tmp_path: Path) -> None:
    nm = tmp_path / "NetworkManager" / "devices"
    nm.mkdir(parents=True)
    (nm / "2").write_text("[device]\nmanaged=true\n")
    (nm / "3").write_text("[device]\nmanaged=false\n")
    nd = tmp_path / "systemd" / "netif" / "links"
    nd.mkdir(parents=True)
    (nd / "2").write_text("ADMIN_STATE=configured\n")
    (nd / "3").write_text("ADMIN_STATE=unmanaged\n")
    assert [m.split(" ")[0] for m in hostenv.network_managers(str(tmp_path), 2)] == [
        "NetworkManager",
        "systemd-networkd",
    ]
    assert hostenv.network_managers(str(tmp_path), 3) == []
    assert hostenv.network_managers(str(tmp_path), 4) == []


def test_hugepages_and_executables(tmp_path: Path) -> None:
    assert hostenv.hugepages(str(tmp_path)) == hostenv.Hugepages(0, 0, 0)
    assert hostenv.executable("sh") is not None
    assert hostenv.executable(str(tmp_path / "nope")) is None


@pytest.mark.parametrize("driver", sorted(DRIVERS))
def test_every_driver_is_described(driver: str) -> None:
    spec = DRIVERS[driver]
    assert spec.name == driver
    assert spec.api_create == bool(spec.messages) or driver == "af_packet"
    assert spec.needs_pci != spec.kernel_keeps_netdev
