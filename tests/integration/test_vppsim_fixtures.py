"""Fixtures and helpers shared by the simulator tests (imported by each test_vppsim_* module).

Everything goes through the real vpp-papi client, exactly as the agent talks to VPP.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from vpp_papi import VPPApiClient

from agent.apidefs import api_dir
from agent.vppsim import Simulator

NO_INDEX = 0xFFFFFFFF


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Simulator]:
    """A recording simulator (no Linux devices) on a socket of its own."""
    with Simulator(tmp_path / "api.sock", devices="record") as s:
        yield s


def connect(sim: Simulator, name: str = "vppsim-test", read_timeout: float = 5) -> Any:
    client = VPPApiClient(
        apidir=str(api_dir()),
        use_socket=True,
        server_address=str(sim.socket_path),
        read_timeout=read_timeout,
    )
    client.connect(name)
    return client


@pytest.fixture
def vpp(sim: Simulator) -> Iterator[Any]:
    client = connect(sim)
    yield client
    if client.transport.connected:
        client.disconnect()


class EventLog:
    """Collects events delivered to papi's callback (which runs in papi's threads)."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self._cond = threading.Condition()

    def __call__(self, name: str, msg: Any) -> None:
        with self._cond:
            self.events.append((name, msg))
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 5) -> list[Any]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.events) >= count, timeout)
            return list(self.events)


def v4path(nh: str = "0.0.0.0", sw_if_index: int = NO_INDEX, **kw: Any) -> dict[str, Any]:
    return {
        "sw_if_index": sw_if_index,
        "proto": 0,
        "weight": 1,
        "nh": {"address": {"ip4": ipaddress.IPv4Address(nh)}},
        "label_stack": [{}] * 16,
        **kw,
    }


def v6path(nh: str = "::", sw_if_index: int = NO_INDEX, **kw: Any) -> dict[str, Any]:
    return {
        "sw_if_index": sw_if_index,
        "proto": 1,
        "weight": 1,
        "nh": {"address": {"ip6": ipaddress.IPv6Address(nh)}},
        "label_stack": [{}] * 16,
        **kw,
    }


def add_route(
    vpp: Any,
    prefix: str,
    paths: list[dict[str, Any]],
    table_id: int = 0,
    is_add: bool = True,
    is_multipath: bool = False,
) -> Any:
    return vpp.api.ip_route_add_del(
        is_add=is_add,
        is_multipath=is_multipath,
        route={"table_id": table_id, "prefix": prefix, "n_paths": len(paths), "paths": paths},
    )


def routes(vpp: Any, table_id: int = 0, is_ip6: bool = False) -> dict[str, Any]:
    """prefix text -> route, from ip_route_dump."""
    dumped = vpp.api.ip_route_dump(table={"table_id": table_id, "is_ip6": is_ip6})
    return {str(d.route.prefix): d.route for d in dumped}


def create_tap(vpp: Any, **kw: Any) -> int:
    r = vpp.api.tap_create_v3(**kw)
    assert r.retval == 0, r
    return int(r.sw_if_index)


def admin_up(vpp: Any, sw_if_index: int) -> None:
    assert vpp.api.sw_interface_set_flags(sw_if_index=sw_if_index, flags=1).retval == 0
