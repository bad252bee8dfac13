"""A whole agent in a test: its config in the test's directory, waiting on it, VPP's tags.

Everything the agent opens (VPP, CNI and control sockets, state files) lives in the
test's directory, and its telemetry listens on a free loopback port, so tests never
meet each other or an agent running on the machine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.cni import CniSettings
from agent.config import AgentConfig, VppSettings
from agent.control import ControlSettings
from agent.felix.config import FelixSettings
from agent.telemetry import TelemetrySettings
from agent.vpp import VppConnection, interfaces


def agent_config(tmp: Path, **update: Any) -> AgentConfig:
    """A fast-reacting agent without Felix; ``update`` replaces whole top-level fields."""
    cfg = AgentConfig(
        vpp=VppSettings(socket=str(tmp / "api.sock"), timeout=2.0, connect_wait=5.0),
        state_dir=str(tmp / "state"),
        control=ControlSettings(socket=str(tmp / "control.sock")),
        telemetry=TelemetrySettings(address="127.0.0.1:0"),
        cni=CniSettings(socket=str(tmp / "cni.sock"), state_file=str(tmp / "cni.json")),
        felix=FelixSettings(enabled=False),
        liveness_interval=0.2,
        resync_interval=3600,
    )
    return cfg.model_copy(update=update) if update else cfg


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def vpp_tags(sock: Path) -> set[str]:
    with VppConnection(sock) as c:
        c.connect()
        return {i.tag for i in c.dump(interfaces.dump()) if i.tag}
