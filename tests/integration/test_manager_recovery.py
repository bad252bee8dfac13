"""Crashes: a manager killed with SIGKILL, VPP dying under a running manager."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from agent.manager.process import start_time
from tests.integration.manager_fixtures import (
    ManagerRun,
    Topology,
    assert_same_state,
    links,
    manager_runs,
    settings_file,
    snapshot,
    start_manager,
    topology,
    wait_ready,
)

pytestmark = pytest.mark.root

__all__ = ["manager_runs", "topology"]


def _state(topo: Topology) -> dict[str, object]:
    data: dict[str, object] = json.loads((topo.tmp / "state" / "uplink.json").read_text())
    return data


def _wait_gone(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while start_time(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert start_time(pid) is None, f"process {pid} still runs"


def test_sigkilled_manager_is_restored_by_the_next_start(
    topology: Topology, manager_runs: list[ManagerRun]
) -> None:
    before = topology.wait_settled()
    config = settings_file(topology)
    first = start_manager(topology, config)
    manager_runs.append(first)
    wait_ready(topology, first, "vpp0")
    state = _state(topology)
    created = state["created"]
    assert isinstance(created, dict)
    assert state["version"] == 1 and created["addresses_removed"] is True
    assert os.stat(topology.tmp / "state" / "uplink.json").st_mode & 0o777 == 0o600
    vpp_pid = created["vpp_pid"]
    assert isinstance(vpp_pid, int)

    first.stop(signal.SIGKILL)
    _wait_gone(vpp_pid)  # the simulator dies with its manager (PR_SET_PDEATHSIG)
    assert "vpp0" not in links(topology.node), "the tun went with VPP"
    assert snapshot(topology.node).addresses == (), "the node is cut off until a restart"

    second = start_manager(topology, config)
    manager_runs.append(second)
    wait_ready(topology, second, "vpp0")
    assert "from a previous manager that did not give eth0 back" in second.output()
    assert second.stop() == 0, second.output()
    assert_same_state(before, topology.wait_settled(before))
    assert not (topology.tmp / "state" / "uplink.json").exists()


def test_vpp_crash_gives_back_then_restarts(
    topology: Topology, manager_runs: list[ManagerRun]
) -> None:
    before = topology.wait_settled()
    config = settings_file(topology, vpp={"restart": True, "restart_backoff": 0.2})
    run = start_manager(topology, config)
    manager_runs.append(run)
    wait_ready(topology, run, "vpp0")
    created = _state(topology)["created"]
    assert isinstance(created, dict)
    first_vpp = created["vpp_pid"]
    assert isinstance(first_vpp, int)
    os.kill(first_vpp, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = run.output()
        if text.count("is served by VPP") >= 2 and "vpp0" in links(topology.node):
            break
        time.sleep(0.1)
    else:
        raise AssertionError(run.output())
    assert "VPP exited with status -9; the uplink was given back" in run.output()
    created = _state(topology)["created"]
    assert isinstance(created, dict) and created["vpp_pid"] != first_vpp
    assert run.stop() == 0
    assert_same_state(before, topology.wait_settled(before))


def test_vpp_crash_without_restart_ends_the_manager(
    topology: Topology, manager_runs: list[ManagerRun]
) -> None:
    before = topology.wait_settled()
    run = start_manager(topology, settings_file(topology))
    manager_runs.append(run)
    wait_ready(topology, run, "vpp0")
    created = _state(topology)["created"]
    assert isinstance(created, dict)
    vpp_pid = created["vpp_pid"]
    assert isinstance(vpp_pid, int)
    os.kill(vpp_pid, signal.SIGKILL)
    assert run.proc.wait(30) == 1, run.output()
    assert_same_state(before, topology.wait_settled(before))
    assert not Path(topology.tmp / "state" / "uplink.json").exists()
