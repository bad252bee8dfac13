"""Request checks that keep the root-running CNI server out of trouble; config limits."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.cni import CniRequestError, CniSettings
from agent.cni.locks import KeyedLocks
from agent.cni.naming import host_interface_name
from agent.cni.node import vhost_net_available
from agent.cni.validate import check_ifname, check_netns, netns_kind
from agent.scenario import defaults


@pytest.mark.parametrize("name", ["eth0", "net1", "memif-a_b.c", "a" * 15])
def test_good_interface_names(name: str) -> None:
    assert check_ifname("interface_name", name) == name


@pytest.mark.parametrize(
    "name", ["", ".", "..", "a" * 16, "eth 0", "eth0/1", "eth:0", "eth0\n", "éth0", "a;b"]
)
def test_bad_interface_names(name: str) -> None:
    with pytest.raises(CniRequestError) as e:
        check_ifname("interface_name", name)
    assert e.value.field == "interface_name"


def test_netns_must_be_a_network_namespace_file(tmp_path: Path) -> None:
    regular = tmp_path / "file"
    regular.write_text("")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening it would block: it must never be opened
    assert netns_kind("") == "is empty"
    assert "not an absolute path" in str(netns_kind("var/run/netns/x"))
    assert "does not exist" in str(netns_kind(str(tmp_path / "missing")))
    assert "not a network namespace" in str(netns_kind(str(tmp_path)))
    assert "not a network namespace" in str(netns_kind(str(regular)))
    assert "not a network namespace" in str(netns_kind(str(fifo)))
    assert "not a network namespace" in str(netns_kind("/proc/self/ns/uts"))
    assert "agent's own" in str(netns_kind("/proc/self/ns/net"))
    with pytest.raises(CniRequestError, match=r"^netns: .* does not exist"):
        check_netns("netns", str(tmp_path / "missing"))


def test_host_names_match_the_scenario_rule_and_calico() -> None:
    for interface in ("eth0", "net1", "memif1"):
        assert host_interface_name("demo", "web-1", interface) == defaults.host_interface_name(
            "demo", "web-1", interface
        )
    # Calico's own: "cali" + the first 11 hex digits of sha1("<namespace>.<pod>").
    assert host_interface_name("default", "nginx", "eth0") == "calic440f455693"
    assert host_interface_name("demo", "web-1", "eth0", prefix="tap").startswith("tap")
    assert len(host_interface_name("demo", "x" * 200, "net1")) == 15


def test_settings_are_strict() -> None:
    assert CniSettings().socket_mode == 0o600
    with pytest.raises(ValidationError, match="extra"):
        CniSettings.model_validate({"sokcet": "/run/x.sock"})
    with pytest.raises(ValidationError, match="absolute path"):
        CniSettings(socket="cni.sock")
    with pytest.raises(ValidationError, match="power of 2"):
        CniSettings(max_queue_size=3000)
    with pytest.raises(ValidationError, match="letters and digits"):
        CniSettings(host_interface_prefix="ca-")


def test_vhost_net_probe(tmp_path: Path) -> None:
    assert vhost_net_available("/dev/null")  # a character device
    assert not vhost_net_available(str(tmp_path))
    assert not vhost_net_available(str(tmp_path / "vhost-net"))


def test_keyed_locks_serialize_one_key_and_forget_idle_ones() -> None:
    async def main() -> list[str]:
        locks = KeyedLocks()
        events: list[str] = []

        async def job(key: str, name: str) -> None:
            async with locks.hold(key):
                events.append(f"{name}+")
                await asyncio.sleep(0.01)
                events.append(f"{name}-")

        await asyncio.gather(job("a", "1"), job("a", "2"), job("b", "3"))
        assert len(locks) == 0
        return events

    events = asyncio.run(main())
    first, second = events.index("1+"), events.index("2+")
    assert events.index("1-") < second or events.index("2-") < first  # never interleaved
    assert events.index("3+") < max(events.index("1-"), events.index("2-"))  # b ran alongside
