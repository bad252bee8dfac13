"""KubernetesSources: every Kubernetes watch of the agent, their workers, start and stop.

One list-then-watch per resource kind, each on its own thread (the official
client blocks) and awaited as its own asyncio task: vppnet Networks,
calico-vpp Networks (optional), NetworkAttachmentDefinitions, this node's
Pods (field selector ``spec.nodeName``) and Nodes. Two debounced workers
follow the model: one converges the dataplane, one writes back to Kubernetes
(status, finalizers, Events, this node's prefixes) and lets go of networks
kept only for pods that are gone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from kubernetes import client

from agent.dataplane import Dataplane
from agent.k8s.api import (
    CALICO_VPP_NETWORKS,
    ENDPOINT_SLICES,
    NADS,
    NODES,
    PODS,
    SERVICES,
    VPPNET_NETWORKS,
    KubeApi,
    Resource,
)
from agent.k8s.bgpfeed import (
    BGP_CONFIGURATIONS,
    BGP_PEERS,
    BgpConfigurationHandler,
    BgpPeerHandler,
)
from agent.k8s.catalog import NetworkCatalog, Origin
from agent.k8s.config import K8sSettings
from agent.k8s.events import EventRecorder
from agent.k8s.listwatch import Handler, ListWatch
from agent.k8s.services import ServiceFeed
from agent.k8s.sources import NetworkFeed, NodeHandler, PodHandler
from agent.k8s.writeback import Writeback
from agent.model import ClusterModel
from agent.state import ClusterState
from agent.worker import Backoff, DebouncedWorker
from plugins.services import ServiceSettings

log = logging.getLogger(__name__)


class KubernetesSources:
    def __init__(
        self,
        state: ClusterState,
        dataplane: Dataplane,
        settings: K8sSettings,
        api_client: client.ApiClient,
        *,
        service_settings: ServiceSettings | None = None,
    ) -> None:
        self.state = state
        self.dataplane = dataplane
        self.settings = settings
        self.api = KubeApi(api_client, settings.request_timeout_seconds)
        self.catalog = NetworkCatalog()
        node = settings.node_name or state.model.local_node_name
        self.writeback = Writeback(self.api, EventRecorder(self.api, node), node)
        self.converger = self._worker("k8s-converge", self._converge)
        self.housekeeper = self._worker("k8s-writeback", self._housekeep)
        self.feed = NetworkFeed(state, self.catalog, self._changed)
        self.nodes = NodeHandler(state, node, settings.node_pod_cidrs, self._changed)
        self.pods = PodHandler(state, self._changed)
        self.services = ServiceFeed(state, self._changed, service_settings)
        self.watches = [
            self._watch(VPPNET_NETWORKS, self.feed.networks(Origin.VPPNET)),
            self._watch(NADS, self.feed.nads()),
            self._watch(PODS, self.pods, field_selector=f"spec.nodeName={node}"),
            self._watch(NODES, self.nodes),
            self._watch(SERVICES, self.services.services()),
            self._watch(ENDPOINT_SLICES, self.services.slices()),
        ]
        if settings.calico_vpp_networks:
            self.watches.append(
                self._watch(CALICO_VPP_NETWORKS, self.feed.networks(Origin.CALICO_VPP))
            )
        if settings.calico_bgp:
            self.watches += [
                self._watch(BGP_CONFIGURATIONS, BgpConfigurationHandler(state, self._changed)),
                self._watch(BGP_PEERS, BgpPeerHandler(state, self._changed)),
            ]
        self._executor: ThreadPoolExecutor | None = None
        self._tasks: list[asyncio.Future[None]] = []
        state.subscribe(self._on_model_change)

    def _worker(self, name: str, action: Callable[[], bool]) -> DebouncedWorker:
        s = self.settings
        return DebouncedWorker(
            name,
            action,
            debounce=s.debounce_seconds,
            max_delay=s.max_delay_seconds,
            backoff=Backoff(s.backoff_initial_seconds, s.backoff_max_seconds),
        )

    def _watch(
        self, resource: Resource, handler: Handler, field_selector: str | None = None
    ) -> ListWatch:
        return ListWatch(
            self.api,
            resource,
            handler,
            self.settings,
            field_selector=field_selector,
            on_synced=self.housekeeper.trigger,
        )

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Start the workers and one task (on its own thread) per watched kind."""
        if self._executor is not None:
            return
        self.converger.start()
        self.housekeeper.start()
        loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(len(self.watches), thread_name_prefix="k8s-watch")
        self._tasks = [loop.run_in_executor(self._executor, w.run) for w in self.watches]

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop every watch (breaking open connections) and the workers; idempotent."""
        deadline = time.monotonic() + timeout
        while self._tasks and not all(t.done() for t in self._tasks):
            for w in self.watches:
                w.stop()  # repeated: a watch may open its connection after the first call
            if time.monotonic() > deadline:
                log.warning("Kubernetes watches did not stop within %.1fs", timeout)
                break
            await asyncio.wait(self._tasks, timeout=0.05)
        for w in self.watches:
            w.stop()
        self.converger.stop()
        self.housekeeper.stop()
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
        self._tasks = []

    @property
    def synced(self) -> bool:
        """Every watch has listed once (or found its resource not served)."""
        return all(w.synced.is_set() for w in self.watches)

    async def wait_synced(self, timeout: float) -> bool:
        """Wait for the first lists of every kind (start-up waits for them before resync)."""
        deadline = time.monotonic() + timeout
        while not self.synced:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    # -- reactions ---------------------------------------------------------------

    def _changed(self) -> None:
        self.converger.trigger()
        self.housekeeper.trigger()

    def _on_model_change(self, old: ClusterModel, new: ClusterModel, reason: str) -> None:
        """Any source's change (a CNI ADD, a Felix pool) may change status or prefixes."""
        if (
            old.pod_interfaces is not new.pod_interfaces
            or old.networks is not new.networks
            or old.pools is not new.pools
            or old.nodes is not new.nodes
        ):
            self.housekeeper.trigger()

    def _converge(self) -> bool:
        result = self.dataplane.converge("kubernetes")
        for change, why in result.report.failed:
            log.warning("converge: %s failed: %s", change.key, why)
        return result.report.ok

    def _housekeep(self) -> bool:
        # networks kept only for local pods are let go once those pods are gone
        self.feed.publish("kept networks re-checked", only_if_changed=True)
        if not all(w.synced.is_set() for w in self.watches):
            return True  # judge nothing on a partial view; the first lists trigger us again
        model, view, ok = self.state.model, self.catalog.view(), True
        if self.settings.write_status:
            ok &= self.writeback.networks(model, view)
            ok &= self.services.report(self.writeback.events)
        if self.settings.publish_pod_prefixes:
            ok &= self.writeback.node_prefixes(model, self.nodes.own_annotations)
        return ok
