"""Benchmark: agent restart and VPP crash recovery on a full node.

The node is tests/reliability/scenario.py's: ``pods`` pods added through the CNI
into real network namespaces (one in five with a second interface in one of three
secondary networks), ``services`` services and ``policies`` policies.

* Agent restart: a new agent on the VPP the previous one programmed, time from
  start to ready, and the VPP mutations it made (must be 0). Baseline, same run:
  the first start of the agent on an empty VPP (sources' state only, no pods yet).
* VPP killed with SIGKILL (the simulator is a process): time from the new VPP
  answering to the agent ready (everything reprogrammed, pods' routes back) and to
  every pod verified from inside its namespace. Baseline, same run: the first full
  programming of the same state, i.e. a new agent starting with the recorded pods
  on an empty VPP (an upgrade), start to ready.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from agent.runtime import AgentRuntime
from agent.vppsim import Simulator
from tests.bench.common import needs_root_devices, quiet
from tests.reliability import scenario as sc


@dataclass
class Restart:
    first_start: float
    restart: float
    mutations: int  # by the restarted agent
    first_mutations: int


def agent_restart(tmp: Path, size: sc.Size, namespaces: list[str]) -> Restart:
    cfg = sc.agent_config(tmp)
    wanted = sc.model(size)

    async def go(sim: Simulator) -> Restart:
        stop = asyncio.Event()
        start = time.perf_counter()
        first = AgentRuntime(cfg, sc.NODE_NAME, vhost_net=True, initial_model=wanted)
        task = asyncio.create_task(first.run(stop))
        await sc.until(lambda: first.status.ready, 600, "first start")
        first_start = time.perf_counter() - start
        first_mutations = sim.mutations
        await sc.add_pods(cfg.cni.socket, namespaces)
        stop.set()
        assert await task == 0
        before = sim.mutations
        stop = asyncio.Event()
        start = time.perf_counter()
        again = AgentRuntime(cfg, sc.NODE_NAME, vhost_net=True, initial_model=wanted)
        task = asyncio.create_task(again.run(stop))
        await sc.until(lambda: again.status.ready, 600, "restart")
        restart = time.perf_counter() - start
        mutations = sim.mutations - before
        assert len(again.state.model.pod_interfaces) == len(namespaces) + len(namespaces) // 5
        stop.set()
        assert await task == 0
        return Restart(first_start, restart, mutations, first_mutations)

    with Simulator(Path(cfg.vpp.socket), devices="real") as sim:
        return asyncio.run(go(sim))


@dataclass
class Crash:
    full_programming: float  # baseline: a new agent with the recorded pods on an empty VPP
    noticed: float  # SIGKILL to the agent not connected
    died: float  # SIGKILL to the process reaped (the kernel closing its tun devices)
    to_ready: float  # new VPP answering to the agent ready
    to_pods: float  # new VPP answering to every pod verified in its namespace


def _pods_back(namespaces: list[str]) -> bool:
    return all(
        sc.pod_side(ns) == ([f"{sc.pod_address(i)}/32"], ["0.0.0.0/0"])
        for i, ns in enumerate(namespaces)
    )


def vpp_crash(tmp: Path, size: sc.Size, namespaces: list[str]) -> Crash:
    cfg = sc.agent_config(tmp)
    wanted = sc.model(size)
    vpp = sc.SimProcess(Path(cfg.vpp.socket), devices="real")

    def agent() -> AgentRuntime:
        return AgentRuntime(cfg, sc.NODE_NAME, vhost_net=True, initial_model=wanted)

    async def go() -> Crash:
        await asyncio.to_thread(vpp.start)
        stop = asyncio.Event()
        first = agent()
        task = asyncio.create_task(first.run(stop))
        await sc.until(lambda: first.status.ready, 600, "first start")
        await sc.add_pods(cfg.cni.socket, namespaces)
        stop.set()
        assert await task == 0
        await asyncio.to_thread(vpp.kill)  # an upgrade: both go, VPP comes back empty
        await asyncio.to_thread(vpp.start)
        stop = asyncio.Event()
        start = time.perf_counter()
        second = agent()
        task = asyncio.create_task(second.run(stop))
        await sc.until(lambda: second.status.ready, 600, "start with recorded pods")
        full = time.perf_counter() - start
        assert await asyncio.to_thread(_pods_back, namespaces)

        killed = time.monotonic()
        await asyncio.to_thread(vpp.kill)
        died = time.monotonic() - killed
        await sc.until(lambda: not second.status.vpp_connected, 60, "the agent to notice")
        noticed = time.monotonic() - killed
        up = await asyncio.to_thread(vpp.start)
        await sc.until(lambda: second.status.ready, 600, "recovery")
        to_ready = time.monotonic() - up
        while not await asyncio.to_thread(_pods_back, namespaces):
            assert time.monotonic() - up < 600, "pods did not come back"
            await asyncio.sleep(0.01)
        to_pods = time.monotonic() - up
        assert second.status.vpp_reconnects == 1
        stop.set()
        assert await task == 0
        return Crash(full, noticed, died, to_ready, to_pods)

    try:
        return asyncio.run(go())
    finally:
        vpp.stop()


def run(pods: int, services: int, policies: int) -> str:
    size = sc.Size(pods=pods, services=services, policies=policies)
    title = (
        f"## Recovery: agent restart and VPP kill -9 with {pods:,} pods, "
        f"{services:,} services, {policies:,} policies"
    )
    skipped = needs_root_devices(title)
    if skipped is not None:
        return skipped
    # "lost VPP" and the like are expected here
    with quiet("agent"), tempfile.TemporaryDirectory(prefix="vppnet-bench-recovery-") as tmp:
        (Path(tmp) / "restart").mkdir()
        (Path(tmp) / "crash").mkdir()
        with sc.pod_namespaces(pods) as ns:
            restart = agent_restart(Path(tmp) / "restart", size, ns)
        with sc.pod_namespaces(pods) as ns:
            crash = vpp_crash(Path(tmp) / "crash", size, ns)
    lines = [
        title,
        "",
        "A whole agent (`AgentRuntime`) and its CNI server; pods added through Calico's CNI",
        f"protocol into real namespaces ({pods // 5:,} of them also with a secondary-network",
        "interface); services and policies from the sources' model. Agent restart on an",
        "in-process simulator (it counts mutations); the VPP crash with the simulator as a",
        "process killed with SIGKILL (its tun devices die with it).",
        "",
        "| what | vppnet | baseline | ratio |",
        "|---|---|---|---|",
        f"| agent restart, start to ready | {restart.restart:.2f} s, "
        f"**{restart.mutations} VPP mutations** | first start on an empty VPP: "
        f"{restart.first_start:.2f} s ({restart.first_mutations:,} mutations) | "
        f"{restart.restart / restart.first_start:.2f}x |",
        f"| VPP kill -9: new VPP up to agent ready | {crash.to_ready:.2f} s | first full "
        f"programming of the same state (new agent, recorded pods, empty VPP): "
        f"{crash.full_programming:.2f} s | {crash.to_ready / crash.full_programming:.2f}x |",
        f"| VPP kill -9: new VPP up to every pod's eth0, address and route back | "
        f"{crash.to_pods:.2f} s | as above: {crash.full_programming:.2f} s | "
        f"{crash.to_pods / crash.full_programming:.2f}x |",
        "",
        f"The agent noticed the crash {crash.noticed * 1000:.0f} ms after the SIGKILL "
        "(liveness ping every 0.1 s here; 2 s by default); the killed process took "
        f"{crash.died * 1000:.0f} ms to die (the kernel destroys the tun devices it held).",
        "",
        "Reading: a restarted agent reads all of VPP, finds it as its model wants it and",
        "changes nothing. It takes longer than the first start because that start had no",
        "pods yet: the restart also reads every pod interface back and re-checks its",
        "routes inside its namespace. After a VPP crash, the agent",
        "is back as fast as a first full programming of the same state (ratio near 1):",
        "it reprograms from its model at the pipelined rate, then puts each pod's routes",
        "back through its new tun. Noticing the crash is bound by the kernel's teardown",
        "of the dead process's devices, not by the agent's liveness ping.",
    ]
    return "\n".join(lines)
