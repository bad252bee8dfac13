"""Test harness: whole vppnet agents (simulated VPP + dataplane + Kubernetes sources).

Each :class:`Agent` is one node: its own VPP simulator, connection, model store,
dataplane, and :class:`~agent.k8s.KubernetesSources` talking to a shared fake
API server through the real kubernetes client. Pods are put into an agent's
model directly (the CNI server is built elsewhere) and converged the way a
CNI ADD converges them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import plugins
from agent.dataplane import Dataplane
from agent.k8s import K8sSettings, KubernetesSources
from agent.model import ClusterModel, IPAddress, PodInterface, PodInterfaceKey
from agent.reconcile import REQUIRED_MESSAGES, Reconciler
from agent.state import ClusterState
from agent.vpp import VppConnection, interfaces
from agent.vppsim import Simulator
from tests.integration.multinet_reach import Endpoint, NodeDump, dump_node
from tests.k8sfake import FakeKubeApi

T = TypeVar("T")

FAST = {
    "debounce_seconds": 0.02,
    "max_delay_seconds": 0.2,
    "backoff_initial_seconds": 0.05,
    "backoff_max_seconds": 0.5,
    "missing_resource_retry_seconds": 0.3,
    "watch_timeout_seconds": 30,
}


class LoopThread:
    """An asyncio loop on its own thread, so synchronous tests can start async services."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@dataclass
class Agent:
    name: str
    underlay: frozenset[IPAddress]
    sim: Simulator
    conn: VppConnection
    state: ClusterState
    dataplane: Dataplane
    sources: KubernetesSources

    def put_pod(self, pod: PodInterface) -> None:
        """What a CNI ADD does to the model, then converge its keys now."""
        self.state.put_pod_interface(pod)
        self.dataplane.converge()

    def remove_pod(self, key: PodInterfaceKey) -> None:
        self.state.remove_pod_interface(key)
        self.dataplane.converge()

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until both workers are idle (events handled, VPP converged, status written)."""
        assert self.sources.converger.wait_idle(timeout)
        assert self.sources.housekeeper.wait_idle(timeout)

    def dump(self) -> NodeDump:
        return dump_node(self.name, self.underlay, self.conn, self.sim)

    def endpoint(self, pod: PodInterface) -> Endpoint:
        tag = f"vppnet:pod/{pod.key}"
        index = next(i.sw_if_index for i in self.conn.dump(interfaces.dump()) if i.tag == tag)
        return Endpoint(self.name, index, pod.addresses[0].ip)


def start_agent(
    api: FakeKubeApi,
    runner: LoopThread,
    tmp: Path,
    name: str,
    underlay: frozenset[IPAddress] = frozenset(),
    **settings: Any,
) -> Agent:
    sock = tmp / f"{name}.sock"
    sim = Simulator(sock, devices="record")
    sim.start()
    conn = VppConnection(sock, timeout=3.0)
    conn.connect(check=REQUIRED_MESSAGES)
    state = ClusterState(ClusterModel.build(name))
    dataplane = Dataplane(state, Reconciler(conn, tmp / f"{name}-index.json"), plugins.render)
    config = K8sSettings(node_name=name, **{**FAST, **settings})
    sources = KubernetesSources(state, dataplane, config, api.api_client())
    runner.run(sources.start())
    assert runner.run(sources.wait_synced(10))
    return Agent(name, underlay, sim, conn, state, dataplane, sources)


def stop_agent(runner: LoopThread, agent: Agent) -> None:
    runner.run(agent.sources.stop())
    agent.conn.close()
    agent.sim.stop()
