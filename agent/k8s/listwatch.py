"""List-then-watch, the way informers do it, for one resource kind.

The loop lists every object (paged), hands the full set to the handler, then
watches from the list's resourceVersion, advancing the version with every
event and every bookmark. A watch that ends (the server's timeout) or breaks
(a dropped connection) resumes from the last version seen, so nothing is
missed and nothing is listed again; ``410 Gone`` means that version was
compacted away, and only then is the whole set listed again. Errors back off
exponentially with jitter (agents on every node must not hammer a recovering
API server in step). A resource the server does not serve (404: a CRD not
installed) empties the handler's set and is looked for again slowly.

The handler is shielded: whatever one object does to it is logged and the
watch goes on.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Protocol

from agent.k8s.api import ApiError, KubeApi, Obj, Resource, WatchEvent, WatchStream
from agent.k8s.config import K8sSettings
from agent.worker import Backoff

log = logging.getLogger(__name__)


class Handler(Protocol):
    """What a source does with objects; called from the watch's own thread."""

    def replace(self, objects: list[Obj]) -> None:
        """The complete current set (after every list, or empty when not served)."""

    def upsert(self, obj: Obj) -> None: ...

    def delete(self, obj: Obj) -> None: ...


class ListWatch:
    """Keeps one handler in sync with one resource until :meth:`stop`."""

    def __init__(
        self,
        api: KubeApi,
        resource: Resource,
        handler: Handler,
        settings: K8sSettings,
        *,
        field_selector: str | None = None,
        on_synced: Callable[[], None] | None = None,
    ) -> None:
        self.api = api
        self.resource = resource
        self.handler = handler
        self.settings = settings
        self.field_selector = field_selector
        self.on_synced = on_synced
        self.resource_version: str | None = None
        self.lists = 0  # how many full lists so far (tests and metrics)
        self.synced = threading.Event()
        self.served = True
        self._stop = threading.Event()
        self._stream: WatchStream | None = None
        self._lock = threading.Lock()
        self._backoff = Backoff(settings.backoff_initial_seconds, settings.backoff_max_seconds)
        self._rng = random.Random()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Ask the loop to end and break the current watch; safe from any thread, repeatedly."""
        self._stop.set()
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.stop()

    def run(self) -> None:
        """The loop; returns after :meth:`stop`."""
        while not self._stop.is_set():
            try:
                if self.resource_version is None:
                    self._list()
                self._watch()
                self._backoff.reset()
            except ApiError as error:
                self._failed(error)
            except Exception:  # a bug must not end the watch: log it and start over
                log.exception("watch of %s failed; listing again", self.resource)
                self.resource_version = None
                self._sleep(self._backoff.delay())

    def _failed(self, error: ApiError) -> None:
        if error.gone:
            log.info("%s: %s; listing again", self.resource, error.message)
            self.resource_version = None
            return
        if error.not_served:
            if self.served or not self.synced.is_set():
                log.info(
                    "%s is not served by the API server (CRD not installed?); "
                    "looking again every %.0fs",
                    self.resource,
                    self.settings.missing_resource_retry_seconds,
                )
                self._shielded(lambda: self.handler.replace([]))
            self.served = False
            self.resource_version = None
            self._mark_synced()
            self._sleep(self.settings.missing_resource_retry_seconds)
            return
        delay = self._backoff.delay()
        log.warning("%s: %s; retrying in %.1fs", self.resource, error, delay)
        self._sleep(delay)

    def _list(self) -> None:
        items, version = self.api.list_all(
            self.resource, field_selector=self.field_selector, page_size=self.settings.page_size
        )
        self.lists += 1
        if not self.served:
            log.info("%s is served again", self.resource)
        self.served = True
        self._shielded(lambda: self.handler.replace(items))
        self.resource_version = version
        self._mark_synced()

    def _watch(self) -> None:
        assert self.resource_version is not None
        base = self.settings.watch_timeout_seconds
        stream = self.api.watch(
            self.resource,
            resource_version=self.resource_version,
            timeout_seconds=self._rng.randint(base, 2 * base),
            field_selector=self.field_selector,
        )
        with self._lock:
            if self._stop.is_set():
                return
            self._stream = stream
        try:
            for event in stream:
                self._event(event)
                if self._stop.is_set():
                    return
        finally:
            with self._lock:
                self._stream = None

    def _event(self, event: WatchEvent) -> None:
        if event.type in ("ADDED", "MODIFIED"):
            self._shielded(lambda: self.handler.upsert(event.obj))
        elif event.type == "DELETED":
            self._shielded(lambda: self.handler.delete(event.obj))
        elif event.type != "BOOKMARK":
            log.warning("%s: ignoring watch event of type %r", self.resource, event.type)
        if event.resource_version is not None:
            self.resource_version = event.resource_version

    def _shielded(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            log.exception("%s: handler failed; the watch goes on", self.resource)

    def _mark_synced(self) -> None:
        if not self.synced.is_set():
            self.synced.set()
            if self.on_synced is not None:
                self.on_synced()

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)
