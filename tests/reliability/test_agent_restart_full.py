"""Restarting the agent on a full node changes nothing in VPP and keeps every pod.

A whole agent (``AgentRuntime``) on a simulator with real tun devices: 100 pods
added through Calico's CNI gRPC protocol into real network namespaces (one in five
with a second interface in one of three secondary networks), 1,000 services and
200 policies from the sources' model, and its BGP speaker (gobgpd) when installed.
The agent is stopped and a new one started on the same VPP and state: it must adopt
everything without a single VPP mutation, and every pod must still be there, in
the CNI's records, in the model, in VPP's dumps and inside its namespace.
"""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import time
from pathlib import Path

import pytest

from agent.bgp import BgpSettings, learned
from agent.model import ClusterModel, LearnedRoute
from agent.runtime import AgentRuntime
from agent.vpp import VppConnection
from agent.vppsim import Simulator
from tests.integration.bgp_fixtures import (
    SESSION_TIMEOUT,
    fabric,
    needs_gobgpd_netns,
    node,
    start_node,
    stop_node,
)
from tests.reliability import scenario as sc

__all__ = ["fabric"]

SIZE = sc.FULL  # 100 pods, 1,000 services, 200 policies
HAVE_GOBGPD = shutil.which("gobgpd") is not None
B = node("node-b", 2, "10.244.2.0/24")


def snapshot(sock: Path, namespaces: list[str]) -> tuple[object, ...]:
    with VppConnection(sock, timeout=30) as conn:
        conn.connect()
        vpp = (sc.pods_in_vpp(conn), sc.translations(conn))
    pods = [sc.pod_side(ns) for ns in namespaces]
    nets = [sc.pod_side(ns, "net1") for i, ns in enumerate(namespaces) if sc.secondary(i)]
    return (*vpp, pods, nets)


@pytest.mark.root
def test_agent_restart_on_a_full_node_makes_no_vpp_mutation(tmp_path: Path) -> None:
    cfg = sc.agent_config(tmp_path, bgp=HAVE_GOBGPD)
    sock = Path(cfg.vpp.socket)
    wanted = sc.model(SIZE)
    sim = Simulator(sock, devices="real")
    sim.start()

    def agent() -> AgentRuntime:
        return AgentRuntime(cfg, sc.NODE_NAME, vhost_net=True, initial_model=wanted)

    async def scenario(namespaces: list[str]) -> None:
        stop = asyncio.Event()
        first = agent()
        task = asyncio.create_task(first.run(stop))
        await sc.until(lambda: first.status.ready, what="first start")
        await sc.add_pods(cfg.cni.socket, namespaces)
        keys = set(first.state.model.pod_interfaces)
        assert len(keys) == SIZE.pods + SIZE.pods // 5
        before = await asyncio.to_thread(snapshot, sock, namespaces)
        pods_vpp, cnat, pods, nets = before
        assert isinstance(pods_vpp, dict) and set(pods_vpp) == {f"vppnet:pod/{k}" for k in keys}
        assert all(p.admin_up and p.routes for p in pods_vpp.values())
        assert cnat == sc.expected_translations(list(wanted.services.values()))
        assert pods == [
            ([f"{sc.pod_address(i)}/32"], ["0.0.0.0/0"]) for i in range(len(namespaces))
        ]
        assert isinstance(nets, list) and all(addrs for addrs, _ in nets)
        with sim.lock:
            policies = len(sim.state.npol.policies)
        assert policies >= SIZE.policies
        if first.bgp is not None:
            speaker = first.bgp
            await sc.until(lambda: speaker.status.running and speaker.status.started, what="bgp")
        stop.set()
        assert await task == 0

        mutations = sim.mutations
        stop = asyncio.Event()
        again = agent()
        task = asyncio.create_task(again.run(stop))
        await sc.until(lambda: again.status.ready, what="restart")
        if again.bgp is not None:
            speaker = again.bgp
            await sc.until(lambda: speaker.status.running and speaker.status.started, what="bgp")
            assert await asyncio.to_thread(speaker.wait_idle, 10.0)
        assert sim.mutations == mutations, sim.calls.most_common(8)
        assert again.status.last_error == ""
        assert set(again.state.model.pod_interfaces) == keys
        assert again.cni is not None and set(again.cni.backend.store.records) == keys
        assert await asyncio.to_thread(snapshot, sock, namespaces) == before
        with sim.lock:
            assert len(sim.state.npol.policies) == policies
        stop.set()
        assert await task == 0
        assert sim.mutations == mutations  # stopping leaves VPP alone too

    try:
        with sc.pod_namespaces(SIZE.pods) as namespaces:
            asyncio.run(scenario(namespaces))
    finally:
        sim.stop()


@needs_gobgpd_netns
def test_agent_restart_keeps_the_routes_learned_over_bgp(tmp_path: Path, fabric: str) -> None:
    """In Calico's BGP mode a node learns the other nodes' blocks from its peers. The new
    agent must keep those VPP routes while its gobgpd peers again: no delete, no re-add."""
    cfg = sc.agent_config(tmp_path).model_copy(
        update={
            "bgp": BgpSettings(
                api_socket=str(tmp_path / "gobgpd-a.sock"),
                netns=fabric,
                debounce_seconds=0.02,
                max_delay_seconds=0.2,
            )
        }
    )
    local = node(sc.NODE_NAME, 1, "10.244.1.0/24")
    peer_model = ClusterModel.build("node-b", nodes=[node(sc.NODE_NAME, 1), B])
    wanted = ClusterModel.build(sc.NODE_NAME, nodes=[local, node("node-b", 2)])
    sim = Simulator(Path(cfg.vpp.socket), devices="record")
    sim.start()
    peer = start_node(tmp_path, fabric, peer_model)

    def routed() -> bool:
        with sim.lock:
            table = sim.state.fib.table(False, 0)
            return table is not None and ipaddress.ip_network("10.244.2.0/24") in table.routes

    async def scenario() -> None:
        stop = asyncio.Event()
        first = AgentRuntime(cfg, sc.NODE_NAME, vhost_net=True, initial_model=wanted)
        task = asyncio.create_task(first.run(stop))
        await sc.until(lambda: first.status.ready, what="first start")
        await sc.until(routed, SESSION_TIMEOUT, "the peer's block learned and routed in VPP")
        stop.set()
        assert await task == 0
        assert routed()  # the agent is away: VPP keeps forwarding

        mutations = sim.mutations
        stop = asyncio.Event()
        again = AgentRuntime(cfg, sc.NODE_NAME, vhost_net=True, initial_model=wanted)
        task = asyncio.create_task(again.run(stop))
        await sc.until(lambda: again.status.ready, what="restart")
        assert sim.mutations == mutations and routed(), sim.calls.most_common(5)
        speaker = again.bgp
        assert speaker is not None
        await sc.until(lambda: speaker.status.learned == 1, SESSION_TIMEOUT, "learned again")
        await sc.until(lambda: speaker.status.stale == 0, SESSION_TIMEOUT, "restart over")
        assert await asyncio.to_thread(speaker.wait_idle, 10.0)
        assert sim.mutations == mutations and routed(), sim.calls.most_common(5)
        stop.set()
        assert await task == 0

    try:
        asyncio.run(scenario())
    finally:
        stop_node(peer)
        sim.stop()


def test_learned_routes_are_kept_in_a_file_and_a_bad_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "state" / "bgp-learned.json"
    routes = [
        LearnedRoute(ipaddress.ip_network("10.244.2.0/24"), ipaddress.ip_address("192.168.77.2")),
        LearnedRoute(
            ipaddress.ip_network("172.19.2.0/26"),
            ipaddress.ip_address("192.168.77.2"),
            "blue",
            ipaddress.ip_address("192.168.77.2"),
        ),
    ]
    learned.save(path, routes)
    assert sorted(learned.load(path), key=str) == sorted(routes, key=str)
    rib = learned.LearnedRib()
    assert rib.restore(learned.load(path)) == 2 and set(rib.routes()) == {r.key for r in routes}
    path.write_text('{"version": 1, "routes": [{"prefix": "not a prefix"}]}')
    assert learned.load(path) == []  # logged; the agent starts without them
    assert learned.load(tmp_path / "missing.json") == []


class _TestFailedError(Exception):
    """Ends the test's main coroutine on an error, as a crash would end asyncio.run."""


@pytest.mark.skipif(not HAVE_GOBGPD, reason="gobgpd is not installed (Debian package gobgpd)")
def test_an_agent_torn_down_by_its_event_loop_stops_its_gobgpd(tmp_path: Path) -> None:
    """``asyncio.run`` ending on an error cancels the agent's task (twice over, as the
    parts being stopped are cancelled too): gobgpd must still be stopped, or it would
    hold the API socket and port the next agent's gobgpd needs."""
    cfg = sc.agent_config(tmp_path, bgp=True)
    pids: list[int] = []

    async def main() -> None:
        agent = AgentRuntime(
            cfg, sc.NODE_NAME, initial_model=ClusterModel.build(sc.NODE_NAME, nodes=sc.NODES)
        )
        task = asyncio.create_task(agent.run(asyncio.Event()))
        await sc.until(lambda: agent.bgp is not None and agent.bgp.status.running, what="bgp")
        assert agent.bgp is not None and agent.bgp.status.pid is not None
        pids.append(agent.bgp.status.pid)
        assert not task.done()
        raise _TestFailedError

    with Simulator(Path(cfg.vpp.socket), devices="record"), pytest.raises(_TestFailedError):
        asyncio.run(main())
    deadline = time.monotonic() + 10
    while sc.process_alive(pids[0]):
        assert time.monotonic() < deadline, "gobgpd outlived the agent"
        time.sleep(0.05)
