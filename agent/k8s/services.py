"""Services and EndpointSlices into ``model.services``, one service at a time.

Two watches feed one join: the Service (spec) and its EndpointSlices (endpoints,
joined by the ``kubernetes.io/service-name`` label, any number of slices per service
and address family). An event touches one Service object in the model, so the
dataplane re-renders one service; a relist replaces all of them in one update.

What cannot be used is skipped at the smallest part (a port, an address, an
annotation), logged once per object version, and reported as a Warning Event on the
object by the housekeeping worker (:meth:`ServiceFeed.report`), never in the watch's
thread: the watch must not wait for the API server to take an Event. What the
services plugin could not program (an endpoint outside a per-network service's
network, say) is reported the same way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from agent.k8s.api import ENDPOINT_SLICES, SERVICES, Resource
from agent.k8s.convert import services as convert
from agent.k8s.convert.meta import ConversionError, Obj, ObjectMeta
from agent.k8s.events import EventRecorder
from agent.model import ClusterModel, Service, ServiceEndpoint, ServiceKey
from agent.state import ClusterState, copy_of
from plugins.services import ServiceContext, ServiceSettings, render_service

log = logging.getLogger(__name__)

Trigger = Callable[[], None]
SliceRef = tuple[str, str]  # namespace, name


@dataclass(frozen=True, slots=True)
class _Report:
    resource: Resource
    meta: ObjectMeta
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class _Slice:
    service: ServiceKey | None
    endpoints: tuple[ServiceEndpoint, ...]


class ServiceFeed:
    """Keeps ``model.services`` equal to the Services joined with their slices."""

    def __init__(
        self,
        state: ClusterState,
        changed: Trigger,
        settings: ServiceSettings | None = None,
    ) -> None:
        self.state = state
        self.changed = changed
        self.settings = settings or ServiceSettings()
        self._lock = threading.Lock()
        self._specs: dict[ServiceKey, tuple[convert.ServiceInfo, ObjectMeta]] = {}
        self._slices: dict[SliceRef, _Slice] = {}
        self._by_service: dict[ServiceKey, set[SliceRef]] = {}
        self._pending: dict[str, _Report] = {}  # Events not sent yet, by object and message
        self._logged: dict[str, str] = {}

    # -- handlers for the two watches ------------------------------------------

    def services(self) -> _ServiceHandler:
        return _ServiceHandler(self)

    def slices(self) -> _SliceHandler:
        return _SliceHandler(self)

    # -- the join ------------------------------------------------------------------

    def _joined(self, key: ServiceKey) -> Service | None:
        spec = self._specs.get(key)
        if spec is None:
            return None
        endpoints: list[ServiceEndpoint] = []
        for ref in sorted(self._by_service.get(key, ())):
            endpoints.extend(self._slices[ref].endpoints)
        return convert.with_endpoints(spec[0], tuple(endpoints))

    def _publish(self, keys: set[ServiceKey], reason: str) -> None:
        """Make the model's services of ``keys`` match the join (under the feed's lock)."""
        joined = {key: self._joined(key) for key in keys}

        def change(model: ClusterModel) -> ClusterModel:
            services = copy_of(model.services)
            for key, svc in joined.items():
                if svc is None:
                    services.pop(key, None)
                elif services.get(key) != svc:
                    services[key] = svc
            return replace(model, services=services)

        model = self.state.update(change, reason)
        self._check(model, [s for s in joined.values() if s is not None])
        self.changed()

    def _replace_all(self, reason: str) -> None:
        joined = {key: self._joined(key) for key in self._specs}
        services = {k: s for k, s in joined.items() if s is not None}
        before = self.state.model.services

        def change(model: ClusterModel) -> ClusterModel:
            old = model.services
            # keep the very objects that did not change: the renderer skips them by identity
            kept = {k: old[k] if old.get(k) == s else s for k, s in services.items()}
            return replace(model, services=kept)

        model = self.state.update(change, reason)
        fresh = [s for k, s in model.services.items() if before.get(k) is not s]
        self._check(model, fresh)
        self.changed()

    def _check(self, model: ClusterModel, services: list[Service]) -> None:
        """What the services plugin cannot program, reported on the Service object."""
        if not services:
            return
        ctx = ServiceContext.of(model, self.settings)
        for svc in services:
            spec = self._specs.get(svc.key)
            if spec is None:
                continue
            for problem in render_service(svc, ctx).problems:
                self._note(SERVICES, spec[1], "NotProgrammed", problem)

    # -- reports ---------------------------------------------------------------------

    def _note(self, resource: Resource, meta: ObjectMeta, reason: str, message: str) -> None:
        ref = f"{resource.kind} {meta.ref}"
        version = f"{meta.resource_version}|{reason}|{message}"
        if self._logged.get(f"{ref}|{message}") != version:
            self._logged[f"{ref}|{message}"] = version
            log.warning("%s: %s: %s", ref, reason, message)
        self._pending[f"{ref}|{version}"] = _Report(resource, meta, reason, message)

    def _note_all(
        self, resource: Resource, meta: ObjectMeta, problems: tuple[convert.Problem, ...]
    ) -> None:
        for problem in problems:
            self._note(resource, meta, problem.reason, problem.message)

    def report(self, events: EventRecorder) -> bool:
        """Send the pending Events (housekeeping worker); False when some did not land."""
        with self._lock:
            pending, self._pending = self._pending, {}
        ok = True
        for key, r in pending.items():
            if not events.record(r.resource, r.meta, r.reason, r.message):
                ok = False
                with self._lock:
                    self._pending.setdefault(key, r)
        return ok

    # -- spec and slice bookkeeping --------------------------------------------------

    def put_service(self, obj: Obj) -> set[ServiceKey]:
        meta = ObjectMeta.of(obj)
        key = ServiceKey(meta.namespace or "default", meta.name)
        info = convert.service_from_k8s(obj)
        if info is None:
            self._specs.pop(key, None)
        else:
            self._specs[key] = (info, meta)
            self._note_all(SERVICES, meta, info.problems)
        return {key}

    def remove_service(self, obj: Obj) -> set[ServiceKey]:
        meta = ObjectMeta.of(obj)
        key = ServiceKey(meta.namespace or "default", meta.name)
        self._specs.pop(key, None)
        return {key}

    def put_slice(self, obj: Obj) -> set[ServiceKey]:
        meta = ObjectMeta.of(obj)
        info = convert.slice_from_k8s(obj)
        self._note_all(ENDPOINT_SLICES, meta, info.problems)
        ref = (meta.namespace or "default", meta.name)
        touched = self._drop_slice(ref)
        self._slices[ref] = _Slice(info.service, info.endpoints)
        if info.service is not None:
            self._by_service.setdefault(info.service, set()).add(ref)
            touched.add(info.service)
        return touched

    def _drop_slice(self, ref: SliceRef) -> set[ServiceKey]:
        old = self._slices.pop(ref, None)
        if old is None or old.service is None:
            return set()
        refs = self._by_service.get(old.service)
        if refs is not None:
            refs.discard(ref)
            if not refs:
                del self._by_service[old.service]
        return {old.service}


class _ServiceHandler:
    def __init__(self, feed: ServiceFeed) -> None:
        self.feed = feed

    def replace(self, objects: list[Obj]) -> None:
        feed = self.feed
        with feed._lock:
            feed._specs.clear()
            for obj in objects:
                try:
                    feed.put_service(obj)
                except ConversionError as error:
                    log.warning("Service object skipped: %s", error)
            feed._replace_all("services listed")

    def upsert(self, obj: Obj) -> None:
        try:
            with self.feed._lock:
                keys = self.feed.put_service(obj)
                self.feed._publish(keys, f"service {min(keys)} changed")
        except ConversionError as error:
            log.warning("Service object skipped: %s", error)

    def delete(self, obj: Obj) -> None:
        with self.feed._lock:
            keys = self.feed.remove_service(obj)
            self.feed._publish(keys, f"service {min(keys)} deleted")


class _SliceHandler:
    def __init__(self, feed: ServiceFeed) -> None:
        self.feed = feed

    def replace(self, objects: list[Obj]) -> None:
        feed = self.feed
        with feed._lock:
            feed._slices.clear()
            feed._by_service.clear()
            for obj in objects:
                try:
                    feed.put_slice(obj)
                except ConversionError as error:
                    log.warning("EndpointSlice object skipped: %s", error)
            feed._replace_all("endpoint slices listed")

    def upsert(self, obj: Obj) -> None:
        try:
            with self.feed._lock:
                keys = self.feed.put_slice(obj)
                if keys:
                    self.feed._publish(keys, f"endpoints of {min(keys)} changed")
        except ConversionError as error:
            log.warning("EndpointSlice object skipped: %s", error)

    def delete(self, obj: Obj) -> None:
        meta = ObjectMeta.of(obj)
        with self.feed._lock:
            keys = self.feed._drop_slice((meta.namespace or "default", meta.name))
            if keys:
                self.feed._publish(keys, f"endpoints of {min(keys)} deleted")
