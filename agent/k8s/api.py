"""The typed door to the Kubernetes API: list, watch, patch and Events.

Everything goes through the official client (``CoreV1Api`` for nodes, pods
and events, ``CustomObjectsApi`` for CRDs, ``kubernetes.watch.Watch`` for
the event streams), but objects stay plain JSON dicts: the converters read
every kind the same way, nothing is deserialized twice, and custom resources
need no generated models. Failures of any kind (an HTTP status, a dropped
connection, a timeout) come out as one typed :class:`ApiError`
(:mod:`agent.k8s.errors`), so callers decide on status codes rather than on
the client's exception zoo.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol, cast

from kubernetes import client

from agent.k8s.errors import ApiError, call
from agent.k8s.watchstream import WatchEvent, WatchStream

Obj = dict[str, Any]

MERGE_PATCH: Final = "application/merge-patch+json"


@dataclass(frozen=True, slots=True)
class Resource:
    """A kind of Kubernetes object, by API group, version and plural name."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


NODES: Final = Resource("", "v1", "nodes", "Node", namespaced=False)
PODS: Final = Resource("", "v1", "pods", "Pod", namespaced=True)
VPPNET_NETWORKS: Final = Resource("vppnet.io", "v1alpha1", "networks", "Network", namespaced=False)
CALICO_VPP_NETWORKS: Final = Resource("projectcalico.org", "v3", "networks", "Network", True)
NADS: Final = Resource(
    "k8s.cni.cncf.io", "v1", "network-attachment-definitions", "NetworkAttachmentDefinition", True
)
SERVICES: Final = Resource("", "v1", "services", "Service", namespaced=True)
ENDPOINT_SLICES: Final = Resource(
    "discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", namespaced=True
)


class _RawResponse(Protocol):
    data: bytes


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Obj]
    resource_version: str
    continue_token: str | None


class KubeApi:
    """Typed list/watch/patch/event calls on one ``kubernetes.client.ApiClient``."""

    def __init__(self, api_client: client.ApiClient, request_timeout: float = 30.0) -> None:
        self.core = client.CoreV1Api(api_client)
        self.discovery = client.DiscoveryV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.timeout = request_timeout

    def _lister(self, resource: Resource) -> Callable[..., Any]:
        if resource == NODES:
            return self.core.list_node
        if resource == PODS:
            return self.core.list_pod_for_all_namespaces
        if resource == SERVICES:
            return self.core.list_service_for_all_namespaces
        if resource == ENDPOINT_SLICES:
            return self.discovery.list_endpoint_slice_for_all_namespaces
        if not resource.group:
            raise ValueError(f"no lister for core resource {resource}")
        return functools.partial(
            self.custom.list_cluster_custom_object,
            resource.group,
            resource.version,
            resource.plural,
        )

    def list_page(
        self,
        resource: Resource,
        *,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> Page:
        kwargs: dict[str, Any] = {"_preload_content": False, "_request_timeout": self.timeout}
        if field_selector:
            kwargs["field_selector"] = field_selector
        if limit:
            kwargs["limit"] = limit
        if continue_token:
            kwargs["_continue"] = continue_token
        lister = self._lister(resource)
        raw = cast(_RawResponse, call(f"list {resource}", lambda: lister(**kwargs)))
        try:
            body = json.loads(raw.data)
            meta = body.get("metadata") or {}
            items = body.get("items") or []
        except (ValueError, AttributeError) as exc:
            raise ApiError(0, "BadResponse", f"list {resource}: {exc}") from exc
        if not isinstance(items, list):
            raise ApiError(0, "BadResponse", f"list {resource}: items is not a list")
        return Page(
            [item for item in items if isinstance(item, dict)],
            str(meta.get("resourceVersion") or ""),
            meta.get("continue") or None,
        )

    def list_all(
        self, resource: Resource, *, field_selector: str | None = None, page_size: int = 500
    ) -> tuple[list[Obj], str]:
        """Every object, following continue tokens; the version is the first page's."""
        page = self.list_page(resource, field_selector=field_selector, limit=page_size)
        items, version = list(page.items), page.resource_version
        while page.continue_token:
            page = self.list_page(
                resource,
                field_selector=field_selector,
                limit=page_size,
                continue_token=page.continue_token,
            )
            items.extend(page.items)
        return items, version

    def watch(
        self,
        resource: Resource,
        *,
        resource_version: str,
        timeout_seconds: int,
        field_selector: str | None = None,
    ) -> WatchStream:
        kwargs: dict[str, Any] = {
            "resource_version": resource_version,
            "timeout_seconds": timeout_seconds,
            "allow_watch_bookmarks": True,
            # the server ends the watch at timeout_seconds; a silent connection past that
            # (no events, no bookmarks) is a dead one
            "_request_timeout": (self.timeout, timeout_seconds + self.timeout),
        }
        if field_selector:
            kwargs["field_selector"] = field_selector
        return WatchStream(str(resource), self._lister(resource), kwargs)

    def patch(
        self,
        resource: Resource,
        name: str,
        body: Obj,
        *,
        namespace: str | None = None,
        status: bool = False,
    ) -> Obj:
        """A JSON merge patch of an object (or of its status subresource)."""
        opts: dict[str, Any] = {
            "_content_type": MERGE_PATCH,
            "_preload_content": False,
            "_request_timeout": self.timeout,
        }
        what = f"patch {resource} {namespace + '/' if namespace else ''}{name}"
        fn: Callable[[], Any]
        if resource == NODES and not status:
            fn = functools.partial(self.core.patch_node, name, body, **opts)
        elif resource == PODS and namespace and not status:
            fn = functools.partial(self.core.patch_namespaced_pod, name, namespace, body, **opts)
        elif not resource.group:
            raise ValueError(f"cannot patch core resource {resource}")
        elif namespace:
            fn = functools.partial(
                self.custom.patch_namespaced_custom_object_status
                if status
                else self.custom.patch_namespaced_custom_object,
                resource.group,
                resource.version,
                namespace,
                resource.plural,
                name,
                body,
                **opts,
            )
        else:
            fn = functools.partial(
                self.custom.patch_cluster_custom_object_status
                if status
                else self.custom.patch_cluster_custom_object,
                resource.group,
                resource.version,
                resource.plural,
                name,
                body,
                **opts,
            )
        raw = cast(_RawResponse, call(what, fn))
        try:
            result = json.loads(raw.data)
        except ValueError as exc:
            raise ApiError(0, "BadResponse", f"{what}: {exc}") from exc
        return result if isinstance(result, dict) else {}

    def create_event(self, event: EventSpec) -> None:
        now = datetime.now(UTC)
        body = client.CoreV1Event(
            metadata=client.V1ObjectMeta(name=event.name, namespace=event.namespace),
            involved_object=client.V1ObjectReference(
                api_version=event.api_version,
                kind=event.kind,
                name=event.object_name,
                namespace=event.object_namespace or None,
                uid=event.uid or None,
                resource_version=event.resource_version or None,
            ),
            reason=event.reason,
            message=event.message,
            type=event.type,
            source=client.V1EventSource(component=event.component, host=event.host),
            reporting_component=event.component,
            reporting_instance=event.host,
            first_timestamp=now,
            last_timestamp=now,
            count=1,
        )
        what = f"create event {event.namespace}/{event.name}"
        call(
            what,
            lambda: self.core.create_namespaced_event(
                event.namespace, body, _preload_content=False, _request_timeout=self.timeout
            ),
        )


@dataclass(frozen=True, slots=True)
class EventSpec:
    """A core/v1 Event about one object (``object_namespace`` empty for cluster objects)."""

    name: str
    namespace: str
    api_version: str
    kind: str
    object_name: str
    object_namespace: str
    uid: str
    resource_version: str
    reason: str
    message: str
    type: str
    component: str
    host: str


__all__ = [
    "CALICO_VPP_NETWORKS",
    "ENDPOINT_SLICES",
    "NADS",
    "NODES",
    "PODS",
    "SERVICES",
    "VPPNET_NETWORKS",
    "ApiError",
    "EventSpec",
    "KubeApi",
    "Page",
    "Resource",
    "WatchEvent",
    "WatchStream",
]
