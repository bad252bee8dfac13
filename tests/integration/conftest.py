"""Fixtures: an in-process VPP simulator and a vppnet connection to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.reconcile import REQUIRED_MESSAGES
from agent.vpp import VppConnection
from agent.vppsim import Simulator


@pytest.fixture
def sim_socket(tmp_path: Path) -> Path:
    return tmp_path / "api.sock"


@pytest.fixture
def sim(sim_socket: Path) -> Iterator[Simulator]:
    """A simulator that records tap devices without creating them (no root needed)."""
    with Simulator(sim_socket, devices="record") as s:
        yield s


@pytest.fixture
def conn(sim: Simulator, sim_socket: Path) -> Iterator[VppConnection]:
    c = VppConnection(sim_socket, timeout=3.0)
    c.connect(check=REQUIRED_MESSAGES)
    try:
        yield c
    finally:
        c.close()
