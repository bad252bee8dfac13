"""Watch handlers: each turns one kind's objects into model changes.

Every handler changes the model only through ``ClusterState.update`` with a
pure function of the old model, then asks for a (debounced) converge. An
object that cannot be converted is skipped and reported (logged here; status
conditions and Events are written by :mod:`agent.k8s.writeback`), and never
disturbs the other objects of its kind.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType

from agent.k8s.catalog import NetworkCatalog, Origin, with_networks
from agent.k8s.convert import nodes as node_convert
from agent.k8s.convert import pods as pod_convert
from agent.k8s.convert.meta import ConversionError, Obj, ObjectMeta
from agent.model import ClusterModel, PodMeta, PodRef
from agent.state import ClusterState, with_item, without_item

log = logging.getLogger(__name__)

Trigger = Callable[[], None]


class _ReportOnce:
    """Logs a problem of an object once per object version, not on every relist."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}
        self._lock = threading.Lock()

    def report(self, what: str, meta: ObjectMeta, problem: str) -> None:
        key = f"{what} {meta.ref}"
        with self._lock:
            if self._seen.get(key) == f"{meta.resource_version}|{problem}":
                return
            self._seen[key] = f"{meta.resource_version}|{problem}"
        log.warning("%s %s skipped or partly read: %s", what, meta.ref, problem)


class NetworkFeed:
    """Networks (both CRDs) and NADs, through the catalog, into ``model.networks``."""

    def __init__(self, state: ClusterState, catalog: NetworkCatalog, changed: Trigger) -> None:
        self.state = state
        self.catalog = catalog
        self.changed = changed
        self.reports = _ReportOnce()

    def publish(self, reason: str, *, only_if_changed: bool = False) -> None:
        """Make the model's networks match the catalog (keeping ones local pods still use).

        Reacts (converge, write-back) even when the model stays the same, since a
        refused object changes what is reported; ``only_if_changed`` is for the
        write-back's own re-check, which must not wake itself up again.
        """
        wanted = self.catalog.view().networks()
        before = self.state.model
        after = self.state.update(lambda m: with_networks(m, wanted), reason)
        if after is not before or not only_if_changed:
            self.changed()

    def networks(self, origin: Origin) -> NetworkHandler:
        return NetworkHandler(self, origin)

    def nads(self) -> NadHandler:
        return NadHandler(self)


class NetworkHandler:
    def __init__(self, feed: NetworkFeed, origin: Origin) -> None:
        self.feed = feed
        self.origin = origin

    def replace(self, objects: list[Obj]) -> None:
        self.feed.catalog.replace_networks(self.origin, objects)
        for entry in self.feed.catalog.view().network_entries:
            if entry.origin is self.origin and entry.error is not None:
                self.feed.reports.report(str(self.origin), entry.meta, str(entry.error))
        self.feed.publish(f"{self.origin} listed")

    def upsert(self, obj: Obj) -> None:
        entry = self.feed.catalog.put_network(self.origin, obj)
        if entry.error is not None:
            self.feed.reports.report(str(self.origin), entry.meta, str(entry.error))
        self.feed.publish(f"{self.origin} {entry.meta.ref} changed")

    def delete(self, obj: Obj) -> None:
        self.feed.catalog.remove_network(self.origin, obj)
        self.feed.publish(f"{self.origin} {ObjectMeta.of(obj).ref} deleted")


class NadHandler:
    def __init__(self, feed: NetworkFeed) -> None:
        self.feed = feed

    def replace(self, objects: list[Obj]) -> None:
        self.feed.catalog.replace_nads(objects)
        for entry in self.feed.catalog.view().nad_entries:
            if entry.error is not None:
                self.feed.reports.report("NAD", entry.meta, str(entry.error))
        self.feed.publish("network-attachment-definitions listed")

    def upsert(self, obj: Obj) -> None:
        entry = self.feed.catalog.put_nad(obj)
        if entry.error is not None:
            self.feed.reports.report("NAD", entry.meta, str(entry.error))
        self.feed.publish(f"NAD {entry.ref} changed")

    def delete(self, obj: Obj) -> None:
        self.feed.catalog.remove_nad(obj)
        self.feed.publish(f"NAD {ObjectMeta.of(obj).ref} deleted")


class NodeHandler:
    """Kubernetes Nodes into ``model.nodes``, merged with what Felix knows of them.

    The Node list is authoritative for which nodes exist: a node gone from it is
    gone from the model, whoever else described it. What is merged is per field:
    see :meth:`~agent.k8s.convert.nodes.NodeInfo.merged_into`.
    """

    def __init__(
        self, state: ClusterState, local_node: str, own_default_blocks: bool, changed: Trigger
    ) -> None:
        self.state = state
        self.local_node = local_node
        self.own_default_blocks = own_default_blocks
        self.changed = changed
        self._reports = _ReportOnce()
        self._own_annotations: Mapping[str, str] | None = None
        self._lock = threading.Lock()

    @property
    def own_annotations(self) -> Mapping[str, str] | None:
        """This node's annotations as last seen; None until its Node object was seen."""
        with self._lock:
            return self._own_annotations

    def _convert(self, obj: Obj) -> node_convert.NodeInfo | None:
        try:
            info = node_convert.from_k8s(obj)
        except ConversionError as error:
            log.warning("Node object skipped: %s", error)
            return None
        meta = ObjectMeta.of(obj)
        if info.problems:
            self._reports.report("Node", meta, "; ".join(info.problems))
        if info.name == self.local_node:
            with self._lock:
                self._own_annotations = MappingProxyType(dict(meta.annotations))
        return info

    def replace(self, objects: list[Obj]) -> None:
        infos = [i for i in (self._convert(o) for o in objects) if i is not None]
        names = {i.name for i in infos}

        def change(model: ClusterModel) -> ClusterModel:
            nodes = {n: node for n, node in model.nodes.items() if n in names}
            for info in infos:
                nodes[info.name] = info.merged_into(nodes.get(info.name), self.own_default_blocks)
            return replace(model, nodes=nodes)

        self.state.update(change, "nodes listed")
        self.changed()

    def upsert(self, obj: Obj) -> None:
        info = self._convert(obj)
        if info is None:
            return
        self.state.update(
            lambda m: replace(
                m,
                nodes=with_item(
                    m.nodes,
                    info.name,
                    info.merged_into(m.nodes.get(info.name), self.own_default_blocks),
                ),
            ),
            f"node {info.name} changed",
        )
        self.changed()

    def delete(self, obj: Obj) -> None:
        name = ObjectMeta.of(obj).name
        self.state.update(
            lambda m: replace(m, nodes=without_item(m.nodes, name)), f"node {name} deleted"
        )
        self.changed()


class PodHandler:
    """This node's pods into ``model.pods`` (annotations, labels, uid)."""

    def __init__(self, state: ClusterState, changed: Trigger) -> None:
        self.state = state
        self.changed = changed

    @staticmethod
    def _convert(obj: Obj) -> PodMeta | None:
        try:
            return pod_convert.from_k8s(obj)
        except ConversionError as error:
            log.warning("Pod object skipped: %s", error)
            return None

    def replace(self, objects: list[Obj]) -> None:
        pods = {p.key: p for p in (self._convert(o) for o in objects) if p is not None}
        self.state.update(lambda m: replace(m, pods=pods), "pods listed")
        self.changed()

    def upsert(self, obj: Obj) -> None:
        pod = self._convert(obj)
        if pod is not None:
            self.state.update(
                lambda m: replace(m, pods=with_item(m.pods, pod.key, pod)), f"pod {pod.key} changed"
            )
            self.changed()

    def delete(self, obj: Obj) -> None:
        meta = ObjectMeta.of(obj)
        ref = PodRef(meta.namespace or "default", meta.name)
        self.state.update(
            lambda m: replace(m, pods=without_item(m.pods, ref)), f"pod {ref} deleted"
        )
        self.changed()
