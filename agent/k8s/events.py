"""Kubernetes Events about objects vppnet cannot use, once per cluster, not once per node.

Every agent sees the same bad NAD or Network. Each Event's name is derived
from the object (uid and generation), the reason and the message, so all
agents try to create the *same* Event: the first succeeds, the others get
``409 AlreadyExists`` and stay quiet. A new spec (new generation) that is
still wrong is a new occurrence and a new Event; status and metadata writes
(ours included) are not.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from typing import Final

from agent.k8s.api import ApiError, EventSpec, KubeApi, Resource
from agent.k8s.convert.meta import ObjectMeta

log = logging.getLogger(__name__)

COMPONENT: Final = "vppnet-agent"
_MAX_REMEMBERED: Final = 10_000


def event_name(meta: ObjectMeta, reason: str, message: str) -> str:
    digest = hashlib.sha256(
        f"{meta.uid}|{meta.generation or meta.resource_version}|{reason}|{message}".encode()
    ).hexdigest()
    return f"{meta.name[:200]}.vppnet-{digest[:16]}"


class EventRecorder:
    """Creates Warning/Normal Events, each at most once per agent, idempotent across agents."""

    def __init__(self, api: KubeApi, node_name: str) -> None:
        self.api = api
        self.node_name = node_name
        self._sent: set[str] = set()
        self._lock = threading.Lock()
        # told (object kind, reason, Warning/Normal) for each Event sent: the metrics' hook
        self.observers: list[Callable[[str, str, str], None]] = []

    def record(
        self,
        resource: Resource,
        meta: ObjectMeta,
        reason: str,
        message: str,
        kind: str = "Warning",
    ) -> bool:
        """Report ``reason: message`` about an object; False when the API call failed."""
        name = event_name(meta, reason, message)
        with self._lock:
            if name in self._sent:
                return True
        spec = EventSpec(
            name=name,
            namespace=meta.namespace or "default",
            api_version=resource.api_version,
            kind=resource.kind,
            object_name=meta.name,
            object_namespace=meta.namespace,
            uid=meta.uid,
            resource_version=meta.resource_version,
            reason=reason,
            message=message,
            type=kind,
            component=COMPONENT,
            host=self.node_name,
        )
        try:
            self.api.create_event(spec)
        except ApiError as error:
            if not error.conflict:  # 409: another agent reported it already
                log.warning("could not report %s on %s %s: %s", reason, resource, meta.ref, error)
                return False
        log.info("%s %s: %s: %s", resource.kind, meta.ref, reason, message)
        with self._lock:
            if len(self._sent) > _MAX_REMEMBERED:
                self._sent.clear()
            self._sent.add(name)
        for observer in self.observers:
            try:
                observer(resource.kind, reason, kind)
            except Exception:  # telemetry must never fail reporting
                log.exception("event observer failed")
        return True
