"""Drift repair by the running agent: objects deleted or changed behind its back.

The agent's periodic resync reads VPP, finds what differs from its model, puts it
back, and says so: a WARNING log line naming the objects and the
``vppnet_drift_repaired_total{kind}`` metric. What it does not own is left alone.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from pathlib import Path

import pytest

from agent.runtime import AgentRuntime
from agent.scenario import load_scenario
from agent.vpp import VppConnection, interfaces, ip
from agent.vppsim import Simulator
from tests.integration.agent_fixtures import until
from tests.integration.test_telemetry_agent import config, get, value

ROOT = Path(__file__).resolve().parents[2]
ROUTE = ipaddress.ip_network("10.244.2.0/26")  # a remote node's pod block, table 0
TAG = "vppnet:pod/demo/web-1/eth0"


Prefix = ipaddress.IPv4Network | ipaddress.IPv6Network


def vpp_view(sock: Path) -> tuple[set[Prefix], dict[int, tuple[str, bool]]]:
    """Table 0's IPv4 prefixes, and (tag, admin state) by interface index."""
    with VppConnection(sock) as c:
        c.connect()
        routes = {r.prefix for r in c.dump(ip.dump_routes(0, False))}
        state = {i.sw_if_index: (i.tag, i.admin_up) for i in c.dump(interfaces.dump())}
    return routes, state


def admin_of(state: dict[int, tuple[str, bool]], tag: str) -> bool:
    [up] = [admin for t, admin in state.values() if t == tag]
    return up


def behind_the_back(sock: Path) -> int:
    """Delete one owned route, take one owned interface down, add a loopback of our own."""
    with VppConnection(sock) as c:
        c.connect()
        [web] = [i for i in c.dump(interfaces.dump()) if i.tag == TAG]
        c.call(ip.del_route(0, ROUTE))
        c.call(interfaces.set_admin(web.sw_if_index, False))
        foreign = c.call(interfaces.create_loopback())
        assert isinstance(foreign, int)
        return foreign


def test_periodic_resync_repairs_drift_and_reports_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = load_scenario(ROOT / "examples" / "cluster.yaml")
    cfg = config(tmp_path).model_copy(update={"resync_interval": 0.5})
    sock = tmp_path / "api.sock"
    sim = Simulator(sock, devices="record", stats_socket=tmp_path / "stats.sock")
    sim.start()

    async def scenario() -> None:
        stop = asyncio.Event()
        agent = AgentRuntime(cfg, model.local_node_name, vhost_net=True, initial_model=model)
        task = asyncio.create_task(agent.run(stop))
        await until(lambda: agent.status.ready)
        routes, state = await asyncio.to_thread(vpp_view, sock)
        assert ROUTE in routes and admin_of(state, TAG)

        foreign = await asyncio.to_thread(behind_the_back, sock)
        routes, state = await asyncio.to_thread(vpp_view, sock)
        assert ROUTE not in routes and not admin_of(state, TAG)

        def repaired() -> bool:
            r, s = vpp_view(sock)
            return ROUTE in r and admin_of(s, TAG)

        deadline = time.monotonic() + 20
        while not await asyncio.to_thread(repaired):
            assert time.monotonic() < deadline, "drift was not repaired"
            await asyncio.sleep(0.1)
        # the loopback made by someone else is not vppnet's: it stays, untagged
        _, state = await asyncio.to_thread(vpp_view, sock)
        assert state[foreign] == ("", False)

        server = agent.telemetry.server
        assert server is not None
        text = (await asyncio.to_thread(get, server.port, "/metrics"))[1]
        assert (value(text, "vppnet_drift_repaired_total", kind="Route") or 0) >= 1
        assert agent.status.repaired >= 2
        stop.set()
        assert await task == 0

    try:
        with caplog.at_level(logging.WARNING):
            asyncio.run(scenario())
    finally:
        sim.stop()
    assert "repaired drift" in caplog.text and str(ROUTE) in caplog.text
