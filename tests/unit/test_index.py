"""The ownership index survives restarts, bad files and full disks."""

from __future__ import annotations

import errno
import ipaddress
import json
import os
from pathlib import Path

import pytest

from agent.reconcile.index import IndexWriteError, OwnershipIndex, is_owned_tag, tag_for
from agent.vppobjects import InterfaceSettings, Memif, TunTap, VppName, Vxlan


def test_round_trip_keeps_every_interface_kind(tmp_path: Path) -> None:
    path = tmp_path / "index.json"
    index = OwnershipIndex.load(path)
    tap = TunTap(
        "pod/a/b/eth0",
        "eth0",
        "/var/run/netns/b",
        host_mtu=1400,
        host_ip6=ipaddress.IPv6Interface("fd00::1/128"),
        settings=InterfaceSettings(vrf4=7, rx_mode="adaptive", unnumbered_from=VppName("loop0")),
    )
    vx = Vxlan(
        "vxlan/b/blue", ipaddress.ip_address("10.0.0.1"), ipaddress.ip_address("10.0.0.2"), 4001
    )
    mem = Memif("pod/a/c/eth0", "pod/a/c/eth0", rx_queues=4)
    for obj in (tap, vx, mem):
        index.interfaces[tag_for(obj.name)] = obj
    index.routes.add("route 0 10.0.0.0/24")
    index.cnat.add("cnat TCP 10.96.0.1 80")
    index.memif_sockets["pod/a/c/eth0"] = "abstract:vpp/memif-eth0,netns_name=/x"
    index.save()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again = OwnershipIndex.load(path)
    assert again.interfaces == index.interfaces
    assert (again.routes, again.cnat, again.memif_sockets) == (
        index.routes,
        index.cnat,
        index.memif_sockets,
    )
    assert json.loads(path.read_text())["version"] == 1


def test_a_corrupt_index_is_set_aside_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "index.json"
    path.write_text("{not json")
    index = OwnershipIndex.load(path)
    assert not index.interfaces and not index.routes
    assert (tmp_path / "index.json.corrupt").read_text() == "{not json"


def test_a_full_disk_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "index.json"
    index = OwnershipIndex.load(path)
    index.routes.add("route 0 10.0.0.0/8")
    index.save()
    before = path.read_text()
    index.routes.add("route 0 10.1.0.0/16")

    def no_space(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(IndexWriteError, match="No space left on device"):
        index.save()
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["index.json"]  # no temp file left


def test_tags_fit_vpp_and_stay_recognisable() -> None:
    assert tag_for("pod/a/b/eth0") == "vppnet:pod/a/b/eth0"
    long = "pod/" + "n" * 60 + "/" + "p" * 60 + "/net1"
    tag = tag_for(long)
    assert len(tag) <= 63 and is_owned_tag(tag) and tag != tag_for(long + "x")
    assert not is_owned_tag("calico:x")
