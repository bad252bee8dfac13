"""The state file: atomic, private, versioned, and lossless for everything restore needs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agent.manager import statefile
from agent.manager.capture import Address, Neighbour, Nexthop, Route, UplinkState
from agent.manager.errors import ManagerError
from agent.manager.statefile import GrabRecord

UPLINK = UplinkState(
    name="eth0",
    ifindex=3,
    mac="02:00:00:00:00:05",
    mtu=9000,
    flags=0x1043,
    addresses=(
        Address("10.0.0.5", 24, flags=0x80, label="eth0", broadcast="10.0.0.255"),
        Address("fd00::5", 64, flags=0x200, valid_lft=600, preferred_lft=300),
    ),
    routes=(
        Route(2, "0.0.0.0/0", priority=100, gateway="10.0.0.1"),
        Route(2, "10.9.0.0/16", table=100, metrics=(("RTAX_MTU", 1400),)),
        Route(
            2, "10.7.0.0/16", multipath=(Nexthop("10.0.0.1", 2), Nexthop("10.0.0.2", 1, 4, False))
        ),
        Route(10, "::/0", gateway="fe80::1", pref=1),
    ),
    neighbours=(Neighbour("10.0.0.1", "02:00:00:00:00:01", 0x80),),
    sysctls=(("net/ipv6/conf/{if}/disable_ipv6", "0"),),
    rx_queues=4,
    tx_queues=4,
    pci_address="0000:00:03.0",
    kernel_driver="virtio-pci",
)


def test_round_trip_is_lossless(tmp_path: Path) -> None:
    path = tmp_path / "d" / "state.json"
    record = GrabRecord(UPLINK, "dpdk").with_created(
        host_interface="eth0", sysctls=(("net/ipv4/conf/{if}/rp_filter", "1"),), vpp_pid=42
    )
    statefile.save(path, record)
    assert statefile.load(path) == record
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert json.loads(path.read_text())["version"] == statefile.VERSION
    assert [p.name for p in path.parent.iterdir()] == ["state.json"], "no temporary file left"


def test_missing_file_is_none_and_remove_is_idempotent(tmp_path: Path) -> None:
    assert statefile.load(tmp_path / "none.json") is None
    statefile.remove(tmp_path / "none.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is unreadable"),
        ('{"version": 99}', "has version 99"),
        ('{"version": 1, "uplink": {}}', "is malformed"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(text)
    with pytest.raises(ManagerError, match=message):
        statefile.load(path)


def test_a_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.json"
    statefile.save(path, GrabRecord(UPLINK, "af_packet"))

    def boom(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        statefile.save(path, GrabRecord(UPLINK, "af_xdp"))
    loaded = statefile.load(path)
    assert loaded is not None and loaded.driver == "af_packet"
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]
