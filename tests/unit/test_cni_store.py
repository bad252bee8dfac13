"""The CNI state file: round trip, atomic private writes, bad files set aside."""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import stat
from pathlib import Path

import pytest

from agent.cni import CniStore, PodRecord
from agent.cni.store import STATE_VERSION, StoreWriteError
from agent.model import (
    ExtraMemif,
    HostPort,
    InterfaceType,
    L4Protocol,
    PodInterface,
    PodInterfaceKey,
    PolicyAssignment,
    PortRange,
    RxMode,
    SteeredPorts,
)

IF = ipaddress.ip_interface
NET = ipaddress.ip_network


def pod(name: str, **kwargs: object) -> PodInterface:
    return PodInterface(
        key=PodInterfaceKey("demo", name, "eth0"),
        container_id=f"/var/run/netns/{name}",
        netns=f"/var/run/netns/{name}",
        host_interface_name=f"cali{name}",
        addresses=(IF("10.0.0.1/32"), IF("fd00::1/128")),
        **kwargs,  # type: ignore[arg-type]
    )


def test_round_trip_keeps_every_field_but_felix_policy(tmp_path: Path) -> None:
    path = tmp_path / "cni.json"
    full = pod(
        "a",
        interface_type=InterfaceType.VETH,
        routes=(NET("0.0.0.0/0"),),
        rx_queues=4,
        rx_mode=RxMode.POLLING,
        extra_memifs=(
            ExtraMemif(
                "extra-eth0", steered_ports=(SteeredPorts(L4Protocol.UDP, PortRange(1, 9)),)
            ),
        ),
        allowed_source_prefixes=(NET("10.1.0.0/16"),),
        host_ports=(HostPort(L4Protocol.TCP, 80, 8080, ipaddress.ip_address("192.168.0.1")),),
        policy=PolicyAssignment(profile_ids=("kns.demo",)),
    )
    store = CniStore.load(path)
    store.put(PodRecord(full, ("a warning",)))
    store.put(PodRecord(pod("b")))
    store.save()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["version"] == STATE_VERSION and "policy" not in data["pods"][0]["pod"]
    again = CniStore.load(path)
    key = PodInterfaceKey("demo", "a", "eth0")
    assert again.records[key] == PodRecord(
        PodInterface(**{f: getattr(full, f) for f in full.__dataclass_fields__ if f != "policy"}),
        ("a warning",),
    )
    assert (
        again.find("/var/run/netns/b", "eth0")
        == again.records[PodInterfaceKey("demo", "b", "eth0")]
    )
    assert again.find("/var/run/netns//b/", "eth0") is not None  # paths compare normalized
    assert again.find("/var/run/netns/b", "net1") is None


def test_remove_and_save(tmp_path: Path) -> None:
    path = tmp_path / "cni.json"
    store = CniStore.load(path)
    store.put(PodRecord(pod("a")))
    store.save()
    assert store.remove(PodInterfaceKey("demo", "a", "eth0")) is not None
    assert store.remove(PodInterfaceKey("demo", "a", "eth0")) is None
    store.save()
    assert CniStore.load(path).records == {}


@pytest.mark.parametrize(
    "text", ["{not json", '{"version": 99, "pods": []}', '{"version": 1, "pods": {}}', "[]"]
)
def test_an_unreadable_file_is_set_aside_not_overwritten(tmp_path: Path, text: str) -> None:
    path = tmp_path / "cni.json"
    path.write_text(text)
    store = CniStore.load(path)
    assert store.records == {}
    assert not path.exists() and (tmp_path / "cni.json.corrupt").read_text() == text


def test_a_bad_entry_is_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "cni.json"
    store = CniStore.load(path)
    store.put(PodRecord(pod("a")))
    store.save()
    data = json.loads(path.read_text())
    data["pods"].append({"pod": {"key": "garbage"}})
    path.write_text(json.dumps(data))
    assert list(CniStore.load(path).records) == [PodInterfaceKey("demo", "a", "eth0")]


def test_a_failed_write_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cni.json"
    store = CniStore.load(path)
    store.put(PodRecord(pod("a")))
    store.save()
    before = path.read_text()
    store.put(PodRecord(pod("b")))

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("agent.cni.store.os.fsync", disk_full)
    with pytest.raises(StoreWriteError, match="No space left on device"):
        store.save()
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["cni.json"]  # no temp file left


def test_a_path_that_cannot_be_a_directory_fails_cleanly(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    store = CniStore(tmp_path / "file" / "cni.json")
    store.put(PodRecord(pod("a")))
    with pytest.raises(StoreWriteError, match="cannot write CNI state"):
        store.save()
