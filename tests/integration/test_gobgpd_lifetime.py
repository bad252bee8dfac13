"""gobgpd lives exactly as long as the agent's process.

An agent killed without its shutdown must not leave gobgpd holding the API socket
and BGP port the next agent needs; a gobgpd started from a worker thread must not
die when that thread ends (the parent-death signal follows the forking thread).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agent.bgp import BgpSettings
from agent.bgp.process import GobgpdProcess
from tests.reliability.scenario import process_alive

pytestmark = pytest.mark.skipif(
    shutil.which("gobgpd") is None, reason="gobgpd is not installed (Debian package gobgpd)"
)

ROOT = Path(__file__).resolve().parents[2]

# an "agent": starts gobgpd from a worker thread, says its pid, then waits to be killed
AGENT = """
import sys, threading, time
from agent.bgp import BgpSettings
from agent.bgp.process import GobgpdProcess
process = GobgpdProcess(BgpSettings(api_socket=sys.argv[1], listen_port=-1))
worker = threading.Thread(target=process.start)
worker.start()
worker.join()
print(process.pid, flush=True)
time.sleep(600)
"""


def settings(tmp: Path) -> BgpSettings:
    return BgpSettings(api_socket=str(tmp / "gobgpd.sock"), listen_port=-1)


def test_gobgpd_dies_with_an_agent_killed_without_its_shutdown(tmp_path: Path) -> None:
    agent = subprocess.Popen(
        [sys.executable, "-c", AGENT, str(tmp_path / "gobgpd.sock")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert agent.stdout is not None
        gobgpd = int(agent.stdout.readline())
        assert process_alive(gobgpd)
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
        deadline = time.monotonic() + 10
        while process_alive(gobgpd):
            assert time.monotonic() < deadline, "gobgpd outlived the killed agent"
            time.sleep(0.05)
    finally:
        agent.kill()
        agent.wait(10)


def test_gobgpd_started_from_a_thread_that_ends_keeps_running(tmp_path: Path) -> None:
    process = GobgpdProcess(settings(tmp_path))
    worker = threading.Thread(target=process.start)
    worker.start()
    worker.join()
    try:
        time.sleep(0.5)  # a parent-death signal tied to the worker would have fired by now
        assert process.alive()
        assert process.pid is not None and process_alive(process.pid)
    finally:
        process.stop()
    assert not process.alive()
