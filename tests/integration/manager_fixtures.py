"""A node and its fabric in network namespaces, and the manager run as a process in the node.

The "node" namespace holds the uplink ``eth0`` (one end of a veth pair); the
"fabric" namespace holds the other end with the gateway's addresses. Only
pyroute2 is used. Every namespace and process is cleaned up by the fixtures,
also when a test fails.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from pyroute2 import IPRoute, netns

from agent.manager.capture import UplinkState, capture

T = TypeVar("T")

GW4, GW6 = "10.77.0.1", "fd77::1"
NODE4, NODE6 = "10.77.0.5", "fd77::5"
GW_MAC = "02:77:00:00:00:01"
NODE_MAC = "02:77:00:00:00:05"
UPLINK = "eth0"


def in_netns(name: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` in a thread that entered the named netns (netlink and /proc/sys follow it)."""
    result: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            netns.setns(name)
            result.append(fn())
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if errors:
        raise errors[0]
    return result[0]


def snapshot(ns: str, name: str = UPLINK) -> UplinkState:
    """The uplink as the manager's capture sees it, read inside the node namespace."""

    def read() -> UplinkState:
        with IPRoute() as ipr:
            return capture(ipr, name)

    return in_netns(ns, read)


def links(ns: str) -> dict[str, Any]:
    with IPRoute(netns=ns, flags=0) as ipr:
        return {str(link.get_attr("IFLA_IFNAME")): link for link in ipr.get_links()}


def assert_same_state(before: UplinkState, after: UplinkState) -> None:
    """Field by field, so a failure names what was not given back."""
    for f in (
        "name",
        "mac",
        "mtu",
        "flags",
        "addresses",
        "routes",
        "sysctls",
        "rx_queues",
        "tx_queues",
    ):
        old, new = getattr(before, f), getattr(after, f)
        if isinstance(old, tuple):
            missing = [x for x in old if x not in new]
            extra = [x for x in new if x not in old]
            assert old == new, f"{f} differs after give-back: missing {missing}, extra {extra}"
        assert new == old, f"{f} differs after give-back: {old!r} became {new!r}"
    permanent = [n for n in before.neighbours if n.permanent]
    assert [n for n in after.neighbours if n.permanent] == permanent


@dataclass
class Topology:
    node: str
    fabric: str
    tmp: Path
    extra_links: list[str] = field(default_factory=list)

    def wait_settled(self, like: UplinkState | None = None) -> UplinkState:
        """The uplink once IPv6 DAD and the kernel's routes have settled.

        With ``like``, wait (up to 10 s) for the state to become equal to it, as
        the kernel adds link-local addresses and local routes a moment after
        IPv6 is re-enabled; the caller still compares field by field.
        """
        deadline = time.monotonic() + 10
        previous = None
        while True:
            state = snapshot(self.node)
            with IPRoute(netns=self.node, flags=0) as ipr:
                tentative = [a for a in ipr.get_addr() if (a.get_attr("IFA_FLAGS") or 0) & 0x40]
            stable = not tentative and state == previous
            if (stable and (like is None or state == like)) or time.monotonic() > deadline:
                return state
            previous = state
            time.sleep(0.2)


def _no_dad() -> None:
    """No IPv6 duplicate address detection in the node: snapshots need no waiting for it."""
    for scope in ("all", "default"):
        Path(f"/proc/sys/net/ipv6/conf/{scope}/accept_dad").write_text("0", encoding="ascii")


def make_topology(tmp: Path, *, ip4: bool = True, ip6: bool = True) -> Topology:
    tag = secrets.token_hex(3)
    topo = Topology(f"mgr-node-{tag}", f"mgr-fab-{tag}", tmp)
    netns.create(topo.node)
    netns.create(topo.fabric)
    in_netns(topo.node, _no_dad)
    with IPRoute(netns=topo.node, flags=0) as ipr:
        ipr.link("add", ifname=UPLINK, kind="veth", peer="fab0")
        (fab,) = ipr.link_lookup(ifname="fab0")
        fd = os.open(f"/var/run/netns/{topo.fabric}", os.O_RDONLY)
        try:
            ipr.link("set", index=fab, net_ns_fd=fd)
        finally:
            os.close(fd)
        (up,) = ipr.link_lookup(ifname=UPLINK)
        (lo,) = ipr.link_lookup(ifname="lo")
        ipr.link("set", index=lo, state="up")
        ipr.link("set", index=up, address=NODE_MAC, mtu=1450, state="up")
    with IPRoute(netns=topo.fabric, flags=0) as ipr:
        (fab,) = ipr.link_lookup(ifname="fab0")
        ipr.link("set", index=fab, address=GW_MAC, mtu=1450, state="up")
        if ip4:
            ipr.addr("add", index=fab, address=GW4, prefixlen=24)
        if ip6:
            ipr.addr("add", index=fab, address=GW6, prefixlen=64)
    with IPRoute(netns=topo.node, flags=0) as ipr:
        (up,) = ipr.link_lookup(ifname=UPLINK)
        if ip4:
            ipr.addr("add", index=up, address=NODE4, prefixlen=24, broadcast="10.77.0.255")
            ipr.route("add", dst="0.0.0.0/0", gateway=GW4, oif=up, priority=100, proto=3)
            ipr.route("add", dst="10.88.0.0/16", gateway=GW4, oif=up, table=100, proto=4)
            ipr.route("add", dst="10.99.0.0/16", oif=up, scope=253, proto=4, metrics={"mtu": 1400})
            ipr.neigh("add", dst=GW4, lladdr=GW_MAC, ifindex=up, state=0x80)
        if ip6:
            ipr.addr("add", index=up, address=NODE6, prefixlen=64)
            ipr.route("add", dst="::/0", gateway=GW6, oif=up, family=10, priority=1024, proto=3)
            ipr.route("add", dst="fd88::/48", gateway=GW6, oif=up, family=10, priority=200)
    return topo


def remove_topology(topo: Topology) -> None:
    for name in (topo.node, topo.fabric):
        if name in netns.listnetns():
            netns.remove(name)


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    topo = make_topology(tmp_path)
    try:
        yield topo
    finally:
        remove_topology(topo)


def settings_file(topo: Topology, *, vhost_net: bool = True, **overrides: Any) -> Path:
    """A manager settings file for the topology; ``overrides`` are merged per section."""
    fake_vhost = topo.tmp / "vhost-net"
    if vhost_net:
        fake_vhost.touch()
    (topo.tmp / "run").mkdir(exist_ok=True)
    data: dict[str, Any] = {
        "uplink": {"interface": UPLINK},
        "vpp": {
            "binary": "sim",
            "socket": str(topo.tmp / "vpp" / "api.sock"),
            "cli_socket": str(topo.tmp / "vpp" / "cli.sock"),
            "stats_socket": str(topo.tmp / "vpp" / "stats.sock"),
            "startup_conf": str(topo.tmp / "vpp" / "startup.conf"),
            "start_timeout": 20,
        },
        "state_file": str(topo.tmp / "state" / "uplink.json"),
        "system": {"run": str(topo.tmp / "run"), "vhost_net": str(fake_vhost)},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    path = topo.tmp / "manager.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _enter(ns: str) -> Callable[[], None]:
    def enter() -> None:
        netns.setns(ns)

    return enter


@dataclass
class ManagerRun:
    proc: subprocess.Popen[str]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


def start_manager(topo: Topology, config: Path, *extra: str) -> ManagerRun:
    log = topo.tmp / f"manager-{secrets.token_hex(2)}.log"
    out = log.open("w", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.manager", "--config", str(config), *extra],
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_enter(topo.node),  # noqa: PLW1509
    )
    out.close()
    return ManagerRun(proc, log)


def run_manager_once(topo: Topology, config: Path, timeout: float = 60) -> tuple[int, str]:
    run = start_manager(topo, config)
    code = run.proc.wait(timeout)
    return code, run.output()


def wait_ready(topo: Topology, run: ManagerRun, host: str, timeout: float = 60) -> None:
    """Until the host interface holds the node's addresses and routes (or the manager died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run.proc.poll() is not None:
            raise AssertionError(f"manager exited with {run.proc.returncode}:\n{run.output()}")
        if "is served by VPP" in run.output() and host in links(topo.node):
            return
        time.sleep(0.1)
    run.stop(signal.SIGKILL)
    raise AssertionError(f"manager not ready within {timeout}s:\n{run.output()}")


@pytest.fixture
def manager_runs() -> Iterator[list[ManagerRun]]:
    """Collects started managers; any still running at the end is killed."""
    runs: list[ManagerRun] = []
    try:
        yield runs
    finally:
        for run in runs:
            if run.proc.poll() is None:
                run.stop(signal.SIGKILL)
