"""``vppnet agent``: the long-running node agent.

Start-up follows the reliability rules: connect to VPP and check its API;
start the sources (Kubernetes watches, the Felix driver); wait until they
have delivered a complete picture (first lists, Felix InSync) so the first
reconcile does not delete what a source simply has not told us yet; reload
the CNI's recorded pods; reconcile once from a fresh read of VPP; then
serve the CNI. While running it resyncs periodically (drift repair) and
pings VPP: when VPP goes away it reconnects as soon as the socket answers
again and reprograms everything from the model.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import plugins
from agent.bgp.speaker import BgpSpeaker
from agent.cni import CniServer, load_persisted
from agent.config import AgentConfig
from agent.control import ControlServer, Views
from agent.dataplane import Dataplane
from agent.felix.server import FelixDriverServer
from agent.k8s.api import KubeApi
from agent.k8s.bgpfeed import SecretReader
from agent.k8s.runner import KubernetesSources
from agent.model import ClusterModel
from agent.reconcile import REQUIRED_MESSAGES, Reconciler
from agent.state import ClusterState
from agent.telemetry import Telemetry
from agent.telemetry.wiring import instrument
from agent.vpp import VppConnection, VppError
from plugins.incremental import IncrementalRenderer

log = logging.getLogger(__name__)


@dataclass
class RuntimeStatus:
    """What health checks and tests look at."""

    ready: bool = False  # first full reconcile done, CNI serving
    vpp_connected: bool = False
    vpp_reconnects: int = 0
    resyncs: int = 0
    repaired: int = 0  # objects fixed by resyncs (drift)
    last_error: str = ""
    started: float = field(default_factory=time.monotonic)


class AgentRuntime:
    def __init__(
        self,
        cfg: AgentConfig,
        node_name: str,
        *,
        kube_client: Any = None,
        vhost_net: bool | None = None,
        initial_model: ClusterModel | None = None,
    ) -> None:
        self.cfg = cfg
        self.status = RuntimeStatus()
        self.conn = VppConnection(
            cfg.vpp.socket,
            api_dir=cfg.vpp.api_dir,
            timeout=cfg.vpp.timeout,
            window=cfg.vpp.pipeline_window,
        )
        self.state = ClusterState(initial_model or ClusterModel(local_node_name=node_name))
        self.reconciler = Reconciler(self.conn, cfg.index_path)
        defaults = plugins.pods.PodDefaults(gso=cfg.pods.gso, csum_offload=cfg.pods.csum_offload)
        # the same desired state as plugins.render, incremental in the services
        render = IncrementalRenderer(defaults, cfg.services.settings(), cfg.nat.settings())
        self.dataplane = Dataplane(self.state, self.reconciler, render)
        self.felix = (
            FelixDriverServer(self.state, self.dataplane, cfg.felix) if cfg.felix.enabled else None
        )
        self.kubernetes: KubernetesSources | None = None
        if cfg.kubernetes is not None and kube_client is not None:
            k8s = cfg.kubernetes
            if cfg.bgp is not None and not k8s.calico_bgp:
                # the speaker takes its peers and AS numbers from Calico's BGP objects
                k8s = k8s.model_copy(update={"calico_bgp": True})
            self.kubernetes = KubernetesSources(
                self.state,
                self.dataplane,
                k8s,
                kube_client,
                service_settings=cfg.services.settings(),
            )
        self.bgp = (
            BgpSpeaker(
                self.state,
                self.dataplane,
                cfg.bgp,
                secrets=SecretReader(KubeApi(kube_client), cfg.bgp.password_secret_namespace)
                if kube_client is not None
                else None,
                # kept across restarts: the first reconcile must not drop their VPP routes
                learned_file=Path(cfg.state_dir) / "bgp-learned.json",
            )
            if cfg.bgp is not None
            else None
        )
        self._vhost_net = vhost_net
        self.cni: CniServer | None = None
        self.telemetry = Telemetry(cfg.telemetry, self.status)
        self.control = ControlServer(cfg.control, Views(self.state, self.dataplane, self.status))
        instrument(
            self.telemetry,
            dataplane=self.dataplane,
            conn=self.conn,
            state=self.state,
            stats_socket=cfg.vpp.stats_socket,
            kubernetes=self.kubernetes,
            felix=self.felix,
            bgp=self.bgp,
        )

    async def run(self, stop: asyncio.Event) -> int:
        """Serve until ``stop`` is set; 0 on a clean stop."""
        try:
            await self._start()
            await self._serve(stop)
            return 0
        finally:
            await self._shutdown()

    async def _start(self) -> None:
        cfg = self.cfg
        await self.telemetry.start()  # /livez answers during start-up, /readyz says why not
        await self.control.start()  # vppnet show/plan --live: status answers during start-up
        await asyncio.to_thread(
            self.conn.connect, wait=cfg.vpp.connect_wait, check=REQUIRED_MESSAGES
        )
        self.status.vpp_connected = True
        if self.kubernetes is not None:
            await self.kubernetes.start()
        if self.felix is not None:
            await self.felix.start()
        await self._wait_for_sources()
        restored = load_persisted(self.state, cfg.cni)
        await self._resync("start-up")
        if self.bgp is not None:
            await self.bgp.start()
        self.cni = CniServer(
            self.state, self.dataplane, cfg.cni, vhost_net=self._vhost_net, store=restored.store
        )
        self.cni.observers.append(self.telemetry.cni_observer)
        # while VPP restarts (see _recover_vpp) an ADD is refused at once, saying to retry
        self.cni.backend.vpp_available = lambda: self.status.vpp_connected and self.conn.connected
        # Pods recorded before this start may sit behind VPP interfaces made anew (an
        # upgrade restarts VPP with the agent): their routes and gateway neighbour must
        # be put back. Redoing them is idempotent when VPP kept running.
        await self.cni.backend.prune()
        await self._refresh_pods("start-up")
        await self.cni.start()
        self.status.ready = True
        log.info("vppnet agent ready on node %s", self.state.model.local_node_name)

    async def _wait_for_sources(self) -> None:
        timeout = self.cfg.sync_timeout
        waits: list[Any] = []
        if self.kubernetes is not None:
            waits.append(self.kubernetes.wait_synced(timeout))
        if self.felix is not None:
            waits.append(asyncio.wait_for(self.felix.synced.wait(), timeout))
        for wait in waits:
            try:
                await wait
            except TimeoutError:
                log.warning(
                    "a source did not finish its first sync within %.0f s; reconciling with "
                    "what is known (nothing that is merely unknown is deleted later than "
                    "necessary: the next resync corrects it)",
                    timeout,
                )

    async def _serve(self, stop: asyncio.Event) -> None:
        cfg = self.cfg
        next_resync = time.monotonic() + cfg.resync_interval
        while not stop.is_set():
            self.telemetry.tick()
            try:
                await asyncio.wait_for(stop.wait(), cfg.liveness_interval)
                return
            except TimeoutError:
                pass
            if not await asyncio.to_thread(self.conn.ping):
                await self._recover_vpp(stop)
                next_resync = time.monotonic() + cfg.resync_interval
            elif time.monotonic() >= next_resync:
                await self._resync("periodic")
                if self.bgp is not None:
                    await asyncio.to_thread(self.bgp.resync)
                if self.cni is not None:
                    await self.cni.backend.prune()
                next_resync = time.monotonic() + cfg.resync_interval

    async def _recover_vpp(self, stop: asyncio.Event) -> None:
        """VPP went away: wait for it to come back, then reprogram everything from the model."""
        self.status.vpp_connected = False
        self.status.ready = False
        log.warning("lost VPP; waiting for it to come back")
        self.telemetry.metrics.vpp_lost()
        started = time.monotonic()
        while not stop.is_set():
            self.telemetry.tick()
            try:
                await asyncio.to_thread(
                    self.conn.reconnect, wait=self.cfg.liveness_interval, check=REQUIRED_MESSAGES
                )
                break
            except VppError as e:
                self.status.last_error = str(e)
        else:
            return
        self.status.vpp_connected = True
        self.status.vpp_reconnects += 1
        self.status.last_error = ""  # the waiting's "socket does not exist" is over
        await self._resync("VPP came back")
        await self._refresh_pods("VPP restart")
        self.status.ready = True
        log.warning("VPP back and reprogrammed in %.2f s", time.monotonic() - started)

    async def _refresh_pods(self, why: str) -> None:
        if self.cni is None:
            return
        for problem in await self.cni.backend.refresh_pod_side():
            log.error("pod set-up after %s: %s", why, problem)

    async def _resync(self, why: str) -> None:
        try:
            result = await asyncio.to_thread(self.dataplane.resync)
        except VppError as e:
            self.status.last_error = f"resync ({why}) failed: {e}"
            log.error("%s", self.status.last_error)
            self.telemetry.metrics.resynced(why, None)
            return
        self.status.resyncs += 1
        self.telemetry.metrics.resynced(why, result)
        if why == "periodic":
            self.status.repaired += len(result.plan.changes)
        if not result.report.ok:
            self.status.last_error = result.report.render()
            log.warning("resync (%s): %s", why, self.status.last_error)

    async def _shutdown(self) -> None:
        cancelled = False
        for stopper in (
            self.cni.stop if self.cni is not None else None,
            self.bgp.stop if self.bgp is not None else None,
            self.felix.stop if self.felix is not None else None,
            self.kubernetes.stop if self.kubernetes is not None else None,
        ):
            if stopper is None:
                continue
            try:
                await stopper()
            except asyncio.CancelledError:  # stop the rest all the same (gobgpd must not stay)
                cancelled = True
            except Exception:  # stopping one part must not keep the others running
                log.exception("error while stopping")
        await asyncio.to_thread(self.reconciler.fold_journal)
        await asyncio.to_thread(self.conn.close)
        await self.control.stop()
        await self.telemetry.stop()
        if cancelled:
            raise asyncio.CancelledError
