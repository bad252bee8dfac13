"""vppnet agent end to end: start-up, a CNI ADD, VPP crash and return, agent restart,
and a restart of both (an upgrade)."""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.bgp import BgpSettings
from agent.cni import AsyncCniClient, add_request
from agent.cni.nsnetlink import netlink_in
from agent.runtime import AgentRuntime
from agent.vppsim import Simulator
from tests.integration.agent_fixtures import agent_config, until, vpp_tags
from tests.integration.cni_fixtures import base_model, pod_netns

__all__ = ["pod_netns"]

pytestmark = pytest.mark.root


def pod_state(path: str) -> tuple[list[str], bool]:
    """Addresses of eth0 in the pod and whether it has its default route."""
    with netlink_in(path) as ipr:
        [link] = ipr.link_lookup(ifname="eth0")
        addrs = sorted(
            f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}"
            for a in ipr.get_addr(index=link)
            if a["scope"] == 0
        )
        default = any(r.get_attr("RTA_OIF") == link and r["dst_len"] == 0 for r in ipr.get_routes())
    return addrs, default


def test_agent_serves_cni_survives_vpp_restart_and_restarts_without_churn(
    tmp_path: Path, pod_netns: Callable[[], str]
) -> None:
    cfg = agent_config(tmp_path)
    sock = tmp_path / "api.sock"
    path = pod_netns()
    sim = Simulator(sock, devices="real")
    sim.start()
    sims = [sim]

    def runtime() -> AgentRuntime:
        return AgentRuntime(cfg, "node-a", vhost_net=True, initial_model=base_model())

    async def scenario() -> None:
        stop = asyncio.Event()
        agent = runtime()
        task = asyncio.create_task(agent.run(stop))
        await until(lambda: agent.status.ready)
        request = add_request(netns=path, namespace="demo", pod="web", addresses=["10.244.1.7/32"])
        async with AsyncCniClient(cfg.cni.socket) as client:
            reply = await client.add(request)
        assert reply.successful, reply.error_message
        assert await asyncio.to_thread(pod_state, path) == (["10.244.1.7/32"], True)

        # VPP dies and comes back empty: the agent reprograms it, the pod's tun is
        # made again with its name and address, and the CNI's routes are restored.
        await asyncio.to_thread(sims[0].stop)
        await until(lambda: not agent.status.vpp_connected)
        sims[0] = Simulator(sock, devices="real")
        sims[0].start()
        await until(lambda: agent.status.vpp_reconnects == 1 and agent.status.ready)
        assert "vppnet:pod/demo/web/eth0" in await asyncio.to_thread(vpp_tags, sock)
        assert await asyncio.to_thread(pod_state, path) == (["10.244.1.7/32"], True)
        stop.set()
        assert await task == 0

        # A restarted agent finds everything in place and changes nothing in VPP.
        before = sims[0].mutations
        stop = asyncio.Event()
        again = runtime()
        task = asyncio.create_task(again.run(stop))
        await until(lambda: again.status.ready)
        assert sims[0].mutations == before
        assert ipaddress.ip_interface("10.244.1.7/32").ip in {
            a.ip for p in again.state.model.pod_interfaces.values() for a in p.addresses
        }
        stop.set()
        assert await task == 0

        # An upgrade replaces both: VPP comes back empty and a new agent starts. It
        # makes the pod's tun again and puts the pod's routes back through it.
        await asyncio.to_thread(sims[0].stop)  # the pod's eth0 goes with VPP's tun
        sims[0] = Simulator(sock, devices="real")
        sims[0].start()
        stop = asyncio.Event()
        upgraded = runtime()
        task = asyncio.create_task(upgraded.run(stop))
        await until(lambda: upgraded.status.ready)
        assert "vppnet:pod/demo/web/eth0" in await asyncio.to_thread(vpp_tags, sock)
        assert await asyncio.to_thread(pod_state, path) == (["10.244.1.7/32"], True)
        stop.set()
        assert await task == 0

    try:
        asyncio.run(scenario())
    finally:
        sims[0].stop()


@pytest.mark.skipif(
    shutil.which("gobgpd") is None, reason="gobgpd is not installed (Debian gobgpd)"
)
def test_agent_runs_its_bgp_speaker_and_stops_it(tmp_path: Path) -> None:
    """With a ``bgp`` section the agent starts gobgpd after its first sync, starts BGP
    with the node's identity, and stops gobgpd when it stops."""
    cfg = agent_config(tmp_path).model_copy(
        update={"bgp": BgpSettings(api_socket=str(tmp_path / "gobgpd.sock"), listen_port=-1)}
    )
    sim = Simulator(tmp_path / "api.sock", devices="record")
    sim.start()

    async def scenario() -> None:
        stop = asyncio.Event()
        agent = AgentRuntime(cfg, "node-a", vhost_net=True, initial_model=base_model())
        task = asyncio.create_task(agent.run(stop))
        await until(lambda: agent.status.ready)
        assert agent.bgp is not None
        speaker = agent.bgp
        await until(lambda: speaker.status.running and speaker.status.started)
        pid = speaker.status.pid
        assert pid is not None and Path(f"/proc/{pid}").exists()
        stop.set()
        assert await task == 0
        assert not speaker.status.running
        await until(lambda: not Path(f"/proc/{pid}/status").exists() or "Z" in _proc_state(pid))

    try:
        asyncio.run(scenario())
    finally:
        sim.stop()


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0]
    except (OSError, IndexError):
        return "Z"
