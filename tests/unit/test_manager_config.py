"""Manager settings: strict, and every error names the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.manager.config import ManagerConfigError, load_settings, parse_settings


def _error(data: object) -> str:
    with pytest.raises(ManagerConfigError) as e:
        parse_settings(data, "cfg.yaml")
    return str(e.value)


def test_minimal_settings_take_the_defaults() -> None:
    s = parse_settings({"uplink": {"interface": "eth0"}})
    assert (s.uplink.driver, s.host_interface.type, s.vpp.binary) == (
        "af_packet",
        "tun",
        "/usr/bin/vpp",
    )
    assert s.memory.page_size == "4k" and not s.vpp.restart and not s.vpp.simulated


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "cfg.yaml: uplink: Field required"),
        (
            {"uplink": {"interface": "eth0", "drivr": "x"}},
            "uplink.drivr: Extra inputs are not permitted",
        ),
        ({"uplink": {"interface": "eth0", "driver": "e1000"}}, "uplink.driver: Input should be"),
        ({"uplink": {"interface": "this-name-is-too-long"}}, "uplink.interface: Value error"),
        ({"uplink": {"interface": "eth0", "rx_queue_size": 1000}}, "1000 is not a power of two"),
        ({"uplink": {"interface": "eth0", "pci_address": "00:03.0"}}, "uplink.pci_address"),
        (
            {"uplink": {"interface": "eth0"}, "cpu": {"corelist_workers": "2-x"}},
            "cpu.corelist_workers",
        ),
        (
            {"uplink": {"interface": "eth0"}, "memory": {"main_heap_size": "lots"}},
            "memory.main_heap_size",
        ),
        (
            {"uplink": {"interface": "eth0"}, "host_interface": {"type": "memif"}},
            "host_interface.type",
        ),
        (
            {"uplink": {"interface": "eth0"}, "host_interface": {"name": "eth0"}},
            "host_interface.name: eth0 stays the uplink's Linux name",
        ),
        ({"uplink": {"interface": "eth0"}, "vpp": {"start_timeout": 0}}, "vpp.start_timeout"),
    ],
)
def test_errors_name_the_key(data: object, message: str) -> None:
    assert message in _error(data)


def test_same_name_is_fine_when_the_kernel_loses_the_nic() -> None:
    s = parse_settings(
        {"uplink": {"interface": "eth0", "driver": "dpdk"}, "host_interface": {"name": "eth0"}}
    )
    assert s.host_interface.name == "eth0"


def test_load_reads_a_manager_section(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("manager:\n  uplink:\n    interface: ens3\n    driver: af_xdp\n")
    assert load_settings(p).uplink.driver == "af_xdp"
    p.write_text("uplink: [\n")
    with pytest.raises(ManagerConfigError, match="invalid YAML"):
        load_settings(p)
    with pytest.raises(ManagerConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml")
