"""Writing back to Kubernetes: Network status and finalizer, Events, this Node's prefixes.

Runs in the housekeeping worker after the model or the catalog changed. Each
write is computed purely (:mod:`agent.k8s.status`, :mod:`agent.k8s.announce`)
and made only when the object differs from what it should be, so a steady
cluster costs no writes at all. A failed write (the API server away, a 409
from a racing agent) makes the pass report failure, and the worker retries
with backoff; the rest of the pass is still done.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from agent.k8s import announce, status
from agent.k8s.api import CALICO_VPP_NETWORKS, NADS, NODES, VPPNET_NETWORKS, ApiError, KubeApi
from agent.k8s.catalog import CatalogView, NetworkEntry, Origin
from agent.k8s.events import EventRecorder
from agent.model import ClusterModel
from plugins import networks as networks_plugin

log = logging.getLogger(__name__)


class Writeback:
    def __init__(self, api: KubeApi, events: EventRecorder, node_name: str) -> None:
        self.api = api
        self.events = events
        self.node_name = node_name
        self._sent: dict[str, tuple[str, str]] = {}  # uid -> (resourceVersion, patch) last sent

    def networks(self, model: ClusterModel, view: CatalogView) -> bool:
        """Status, finalizer and Events of every Network; NAD Events. True when all landed."""
        problems = networks_plugin.problems(model)
        nodes = set(model.nodes)
        ok = True
        chosen = view.chosen()
        for entry in view.network_entries:
            name = entry.meta.name
            is_chosen = chosen.get(name) is entry
            problem = problems.get(name) if is_chosen else None
            local = len(model.pod_interfaces_in(name)) if is_chosen else 0
            verdict = status.verdict(entry, problem, nodes, self.node_name, local)
            if entry.origin is Origin.VPPNET:
                ok &= self._vppnet(entry, verdict)
            elif not is_chosen:
                winner = chosen[name]
                ok &= self.events.record(
                    CALICO_VPP_NETWORKS,
                    entry.meta,
                    "Shadowed",
                    f"ignored: {winner.origin} {winner.meta.ref!r} of the same name takes "
                    "precedence",
                )
            elif verdict.problem is not None:
                ok &= self.events.record(
                    CALICO_VPP_NETWORKS, entry.meta, verdict.problem.reason, verdict.problem.message
                )
        for nad in view.nad_entries:
            if nad.error is not None:
                ok &= self.events.record(NADS, nad.meta, nad.error.reason, str(nad.error))
        for nad in view.dangling_nads():
            ok &= self.events.record(
                NADS,
                nad.meta,
                "UnknownNetwork",
                f"selects network {nad.network_name!r}, which no Network defines "
                f"({Origin.VPPNET} or {Origin.CALICO_VPP}); pods using it will fail to start",
            )
        return ok

    def _vppnet(self, entry: NetworkEntry, verdict: status.Verdict) -> bool:
        ok, version = True, entry.meta.resource_version
        patch = status.status_patch(entry, verdict, self.node_name, datetime.now(UTC))
        if patch is not None and self._not_yet_sent(entry, patch):
            written = self._patch(entry, patch, status_subresource=True)
            ok &= written is not None
            version = written or version
        finalizers = status.finalizer_patch(entry, verdict, version)
        if finalizers is not None and self._not_yet_sent(entry, finalizers):
            ok &= self._patch(entry, finalizers, status_subresource=False) is not None
        if verdict.problem is not None:
            ok &= self.events.record(
                VPPNET_NETWORKS, entry.meta, verdict.problem.reason, verdict.problem.message
            )
        return ok

    def _not_yet_sent(self, entry: NetworkEntry, patch: Mapping[str, object]) -> bool:
        """Skip a patch already sent against this very version: the watch has not caught up."""
        key = f"{entry.meta.uid}/{sorted(patch)}"
        sent = (entry.meta.resource_version, repr(patch))
        if self._sent.get(key) == sent:
            return False
        self._sent[key] = sent
        return True

    def _patch(
        self, entry: NetworkEntry, body: dict[str, object], status_subresource: bool
    ) -> str | None:
        """Patch the Network; its new resourceVersion, or None when the patch failed."""
        try:
            result = self.api.patch(
                VPPNET_NETWORKS, entry.meta.name, body, status=status_subresource
            )
        except ApiError as error:
            self._sent.pop(f"{entry.meta.uid}/{sorted(body)}", None)
            if error.status == 404:
                return entry.meta.resource_version  # deleted meanwhile: the watch will tell
            log.warning("Network %s: %s", entry.meta.name, error)
            return None
        meta = result.get("metadata")
        version = meta.get("resourceVersion") if isinstance(meta, dict) else None
        return str(version or entry.meta.resource_version)

    def node_prefixes(self, model: ClusterModel, annotations: Mapping[str, str] | None) -> bool:
        """Announce this node's secondary-network pod prefixes on its Node object."""
        if annotations is None:
            return True  # our Node has not been seen yet; the Node watch will trigger again
        patch = announce.annotation_patch(model, annotations)
        if patch is None:
            return True
        try:
            self.api.patch(NODES, self.node_name, patch)
        except ApiError as error:
            log.warning("announcing pod prefixes on node %s: %s", self.node_name, error)
            return False
        return True
