"""A CNI ADD while VPP restarts: refused at once with "retry", then the same ADD works.

The whole agent runs in-process (AgentRuntime) against a simulator; the
simulator is stopped (VPP crashed or is being upgraded) and the agent sits in
its reconnect loop. Calico's CNI plugin has a few seconds per ADD and the
kubelet retries a failed sandbox, so the useful answer is a quick refusal that
says the failure is temporary; a hang or "internal error" would not be. What
the pod sees: no eth0 in its netns, and no record kept of a pod that was not
made. After VPP returns and is reprogrammed the same ADD succeeds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.cni import AsyncCniClient, add_request
from agent.model import PodInterfaceKey
from agent.proto_gen.cnibackend_pb2 import AddRequest
from agent.runtime import AgentRuntime
from agent.vppsim import Simulator
from tests.integration.agent_fixtures import agent_config, until, vpp_tags
from tests.integration.cni_fixtures import addresses, base_model, links, pod_netns

__all__ = ["pod_netns"]

pytestmark = pytest.mark.root

TAG = "vppnet:pod/demo/web/eth0"
KEY = PodInterfaceKey("demo", "web", "eth0")


def recorded(state_file: Path) -> list[str]:
    if not state_file.exists():
        return []
    return [p["pod"]["key"]["pod"] for p in json.loads(state_file.read_text())["pods"]]


def request(netns: str) -> AddRequest:
    return add_request(netns=netns, namespace="demo", pod="web", addresses=["10.244.1.7/32"])


async def assert_nothing_made(agent: AgentRuntime, netns: str, state_file: Path) -> None:
    assert "eth0" not in await asyncio.to_thread(links, netns)
    assert KEY not in agent.state.model.pod_interfaces
    assert "web" not in recorded(state_file)


def test_an_add_while_vpp_restarts_is_refused_as_temporary_then_succeeds(
    tmp_path: Path, pod_netns: Callable[[], str]
) -> None:
    cfg = agent_config(tmp_path, liveness_interval=0.2)
    sock = tmp_path / "api.sock"
    netns = pod_netns()
    sims = [Simulator(sock, devices="real")]
    sims[0].start()

    async def scenario() -> None:
        stop = asyncio.Event()
        agent = AgentRuntime(cfg, "node-a", vhost_net=True, initial_model=base_model())
        task = asyncio.create_task(agent.run(stop))
        try:
            await until(lambda: agent.status.ready)
            await asyncio.to_thread(sims[0].stop)
            await until(lambda: not agent.status.vpp_connected)  # in _recover_vpp now

            async with AsyncCniClient(cfg.cni.socket) as client:
                reply = await client.add(request(netns))
            assert not reply.successful
            assert "VPP is restarting" in reply.error_message
            assert "retry" in reply.error_message
            assert "internal error" not in reply.error_message
            await assert_nothing_made(agent, netns, tmp_path / "cni.json")

            sims[0] = Simulator(sock, devices="real")
            await asyncio.to_thread(sims[0].start)
            await until(lambda: agent.status.vpp_reconnects == 1 and agent.status.ready)
            async with AsyncCniClient(cfg.cni.socket) as client:
                reply = await client.add(request(netns))
            assert reply.successful, reply.error_message
            assert TAG in await asyncio.to_thread(vpp_tags, sock)
            assert await asyncio.to_thread(addresses, netns) == {"10.244.1.7/32"}
            assert recorded(tmp_path / "cni.json") == ["web"]
        finally:
            stop.set()
            await task

    try:
        asyncio.run(scenario())
    finally:
        sims[0].stop()


def test_an_add_before_the_agent_noticed_vpp_is_gone_is_undone_and_says_retry(
    tmp_path: Path, pod_netns: Callable[[], str]
) -> None:
    """VPP died a moment ago and no liveness ping has seen it yet: the ADD meets the dead
    socket half-way, is undone, and the reply still says it is temporary."""
    cfg = agent_config(tmp_path, liveness_interval=3600)  # the agent will not notice by itself
    sock = tmp_path / "api.sock"
    netns = pod_netns()
    sim = Simulator(sock, devices="real")
    sim.start()

    async def scenario() -> None:
        stop = asyncio.Event()
        agent = AgentRuntime(cfg, "node-a", vhost_net=True, initial_model=base_model())
        task = asyncio.create_task(agent.run(stop))
        try:
            await until(lambda: agent.status.ready)
            await asyncio.to_thread(sim.stop)
            assert agent.status.vpp_connected  # not noticed yet
            async with AsyncCniClient(cfg.cni.socket) as client:
                reply = await client.add(request(netns))
            assert not reply.successful
            assert "VPP is restarting" in reply.error_message
            assert "retry" in reply.error_message
            await assert_nothing_made(agent, netns, tmp_path / "cni.json")
            # and the next one is refused up front: the connection is known to be broken
            async with AsyncCniClient(cfg.cni.socket) as client:
                again = await client.add(request(netns))
            assert not again.successful and "VPP is restarting" in again.error_message
        finally:
            stop.set()
            await task

    asyncio.run(scenario())
