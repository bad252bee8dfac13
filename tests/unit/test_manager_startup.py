"""startup.conf for each driver, rendered without VPP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.manager import startup
from agent.manager.capture import UplinkState
from agent.manager.config import parse_settings

UPLINK = UplinkState(
    name="ens3",
    ifindex=2,
    mac="02:00:00:00:00:05",
    mtu=1500,
    flags=0x1043,
    addresses=(),
    routes=(),
    neighbours=(),
    pci_address="0000:00:03.0",
)


def _render(**uplink: Any) -> str:
    return startup.render(parse_settings({"uplink": {"interface": "ens3", **uplink}}), UPLINK)


def _section(text: str, name: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(f"{name} {{")
    end = lines.index("}", start)
    return [line.strip() for line in lines[start + 1 : end]]


def test_af_packet_defaults() -> None:
    text = _render()
    assert _section(text, "socksvr") == ["socket-name /run/vpp/api.sock"]
    assert _section(text, "statseg") == ["socket-name /run/vpp/stats.sock"]
    assert _section(text, "unix") == [
        "nodaemon",
        "full-coredump",
        "cli-listen /run/vpp/cli.sock",
        "cli-no-pager",
    ]
    assert _section(text, "plugins") == [
        "plugin default { enable }",
        "plugin dpdk_plugin.so { disable }",
    ]
    assert "page-size 4k" in _section(text, "buffers")
    assert "main-heap-page-size 4k" in _section(text, "memory")
    assert "dpdk {" not in text and "cpu {" not in text


@pytest.mark.parametrize("driver", ["af_xdp", "rdma", "avf"])
def test_api_drivers_need_no_device_section(driver: str) -> None:
    text = _render(driver=driver)
    assert "dpdk {" not in text and "plugin dpdk_plugin.so { disable }" in text


@pytest.mark.parametrize("driver", ["dpdk", "virtio", "vmxnet3"])
def test_dpdk_drivers_get_their_device(driver: str) -> None:
    text = _render(
        driver=driver, rx_queues=2, tx_queues=3, rx_queue_size=512, kernel_driver="uio_pci_generic"
    )
    assert "plugin dpdk_plugin.so { enable }" in text
    dpdk = text[text.index("dpdk {") :]
    assert "  uio-driver uio_pci_generic" in dpdk
    assert "  dev 0000:00:03.0 {" in dpdk
    for line in (
        "name ens3",
        "num-rx-queues 2",
        "num-tx-queues 3",
        "num-rx-desc 512",
        "num-tx-desc 1024",
    ):
        assert f"    {line}" in dpdk


def test_pci_address_setting_wins_and_vfio_is_the_default() -> None:
    text = _render(driver="dpdk", pci_address="0000:5e:00.1")
    assert "dev 0000:5e:00.1 {" in text and "uio-driver vfio-pci" in text


def test_cpu_memory_and_extra_snippets() -> None:
    settings = parse_settings(
        {
            "uplink": {"interface": "ens3"},
            "cpu": {"main_core": 1, "corelist_workers": "2-3", "workers": 7},
            "memory": {
                "page_size": "hugepage",
                "buffers_per_numa": 65536,
                "buffer_data_size": 9216,
            },
            "vpp": {"socket": "/var/run/vpp/vpp-api.sock"},
            "startup_extra": ["statseg { size 128M }", "logging { default-log-level info }"],
        }
    )
    text = startup.render(settings, UPLINK)
    assert _section(text, "cpu") == ["main-core 1", "corelist-workers 2-3"]
    assert _section(text, "buffers") == [
        "buffers-per-numa 65536",
        "page-size default-hugepage",
        "default data-size 9216",
    ]
    assert "socket-name /var/run/vpp/vpp-api.sock" in text
    assert text.rstrip().endswith("logging { default-log-level info }")
    assert "statseg { size 128M }" in text


def test_workers_without_a_core_list() -> None:
    settings = parse_settings({"uplink": {"interface": "ens3"}, "cpu": {"workers": 2}})
    assert _section(startup.render(settings, UPLINK), "cpu") == ["workers 2"]


def test_write_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "startup.conf"
    startup.write(path, "unix { nodaemon }\n")
    assert path.read_text() == "unix { nodaemon }\n"
    assert [p.name for p in path.parent.iterdir()] == ["startup.conf"]
