"""An agent torn down at each step of its start-up leaves nothing behind.

``asyncio.run`` ending on an error cancels the agent's task wherever it is. For
each step of the start-up (found by the log line that step writes), the task is
cancelled right there; afterwards nothing the agent started may live on: no
gobgpd process, no BGP worker thread, no socket still accepting connections
(CNI, control, health), no gRPC server finalised later on a closed loop. Then a
new agent starts on the same node and becomes ready: nothing is held that it needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import shutil
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.config import AgentConfig
from agent.model import ClusterModel
from agent.runtime import AgentRuntime
from agent.vppsim import Simulator
from tests.reliability import scenario as sc

HAVE_GOBGPD = shutil.which("gobgpd") is not None
HEALTH = re.compile(r"health and metrics on http://127\.0\.0\.1:(\d+)")

# (logger, words of the line): the start-up steps, in order
STEPS = [
    ("agent.telemetry.server", "health and metrics on"),
    ("agent.control.server", "control socket on"),
    ("agent.vpp.connection", "connected to VPP"),
    ("agent.dataplane", "resync applied"),
    ("agent.bgp.process", "started (pid"),
    ("agent.cni.server", "CNI gRPC server on"),
    ("agent.runtime", "agent ready"),
]


class CancelAt(logging.Handler):
    """Cancels ``task`` (from whichever thread logs) when the step's line is written."""

    def __init__(self, logger: str, words: str) -> None:
        super().__init__(logging.INFO)
        self.logger, self.words = logger, words
        self.task: asyncio.Task[int] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.hit = False
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        if record.name != self.logger or self.words not in record.getMessage():
            return
        if self.hit or self.task is None or self.loop is None:
            return
        self.hit = True
        self.loop.call_soon_threadsafe(self.task.cancel)


@contextlib.contextmanager
def watching(handler: CancelAt) -> Iterator[None]:
    agent_log = logging.getLogger("agent")
    level = agent_log.level
    agent_log.setLevel(logging.INFO)
    agent_log.addHandler(handler)
    try:
        yield
    finally:
        agent_log.removeHandler(handler)
        agent_log.setLevel(level)


def accepts(path: str) -> bool:
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
        return True


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def bgp_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("bgp-"))


def eventually(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def unraisable_after_gc() -> list[str]:
    seen: list[str] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda u: seen.append(f"{u.exc_type.__name__}: {u.object!r}")
    try:
        gc.collect()
    finally:
        sys.unraisablehook = previous
    return seen


def run_cancelled(cfg: AgentConfig, step: CancelAt) -> AgentRuntime:
    """Start an agent and cancel its task at ``step``."""
    agent = AgentRuntime(
        cfg, sc.NODE_NAME, initial_model=ClusterModel.build(sc.NODE_NAME, nodes=sc.NODES)
    )

    async def main() -> None:
        step.loop = asyncio.get_running_loop()
        step.task = asyncio.create_task(agent.run(asyncio.Event()))
        with contextlib.suppress(asyncio.CancelledError):
            await step.task
            raise AssertionError("the agent stopped on its own")  # it runs until cancelled

    with watching(step):
        asyncio.run(main())
    return agent


@pytest.mark.skipif(not HAVE_GOBGPD, reason="gobgpd is not installed (Debian package gobgpd)")
@pytest.mark.parametrize(("logger", "words"), STEPS, ids=[w for _, w in STEPS])
def test_an_agent_cancelled_during_start_up_leaves_nothing_behind(
    tmp_path: Path, logger: str, words: str
) -> None:
    cfg = sc.agent_config(tmp_path, bgp=True)
    with Simulator(Path(cfg.vpp.socket), devices="record"):
        step = CancelAt(logger, words)
        agent = run_cancelled(cfg, step)
        assert step.hit, f"the start-up never wrote {words!r}"
        ports = [int(m[1]) for line in step.lines if (m := HEALTH.search(line))]

        gobgpd = agent.bgp.status.pid if agent.bgp is not None else None
        if gobgpd is not None:
            eventually(lambda: not sc.process_alive(gobgpd), "gobgpd outlived the agent")
        eventually(lambda: not bgp_threads(), f"BGP threads outlived the agent: {bgp_threads()}")
        for path in (cfg.cni.socket, str(cfg.control.socket)):
            assert not accepts(path), f"{path} still accepts connections"
        for port in ports:
            assert not port_open(port), "the health port is still open"
        assert unraisable_after_gc() == []
        assert not agent.conn.connected

        # the next agent starts on the same node and serves
        again = AgentRuntime(
            cfg, sc.NODE_NAME, initial_model=ClusterModel.build(sc.NODE_NAME, nodes=sc.NODES)
        )

        async def serve_once() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(again.run(stop))
            await sc.until(lambda: again.status.ready, timeout=30, what="the next agent ready")
            assert accepts(cfg.cni.socket) and accepts(str(cfg.control.socket))
            stop.set()
            assert await task == 0

        asyncio.run(serve_once())
