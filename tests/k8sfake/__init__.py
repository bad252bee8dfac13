"""A fake Kubernetes API server for tests, driven through the real kubernetes client.

HTTP on 127.0.0.1 (random port) with the REST paths, list paging, watch
streams, bookmarks, 410 Gone, patches and the status subresource of the
real API server (see :mod:`tests.k8sfake.server`), over a store with one
global resourceVersion (:mod:`tests.k8sfake.store`). Tests seed and change
objects directly through :class:`FakeKubeApi` (no HTTP), break things on
purpose (:meth:`~FakeKubeApi.compact`, :meth:`~FakeKubeApi.drop_watches`,
:meth:`~FakeKubeApi.fail_next`), and point a ``kubernetes.client.Configuration``
at :attr:`~FakeKubeApi.url`.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import client

from tests.k8sfake.errors import StatusError
from tests.k8sfake.patch import merge_patch
from tests.k8sfake.server import _Server, field_selector, new_continue_token, shutdown_socket
from tests.k8sfake.store import Obj, ResourceType, Store

NODES = ResourceType(
    "", "v1", "nodes", "Node", namespaced=False, status_subresource=True, status_on_create=True
)
PODS = ResourceType("", "v1", "pods", "Pod", namespaced=True, status_subresource=True)
EVENTS = ResourceType("", "v1", "events", "Event", namespaced=True)
NADS = ResourceType(
    "k8s.cni.cncf.io", "v1", "network-attachment-definitions", "NetworkAttachmentDefinition", True
)
CALICO_VPP_NETWORKS = ResourceType("projectcalico.org", "v3", "networks", "Network", True)
SERVICES = ResourceType("", "v1", "services", "Service", namespaced=True, status_subresource=True)
ENDPOINT_SLICES = ResourceType("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True)


def resource_from_crd(crd: Obj) -> ResourceType:
    """The served version of a CustomResourceDefinition manifest, with its schema."""
    spec = crd["spec"]
    version = next(v for v in spec["versions"] if v.get("served", True))
    return ResourceType(
        group=spec["group"],
        version=version["name"],
        plural=spec["names"]["plural"],
        kind=spec["names"]["kind"],
        namespaced=spec["scope"] == "Namespaced",
        status_subresource="status" in version.get("subresources", {}),
        schema=version["schema"]["openAPIV3Schema"],
    )


class FakeKubeApi:
    def __init__(self, *resources: ResourceType, bookmark_interval: float = 0.3) -> None:
        self.store = Store()
        self.bookmark_interval = bookmark_interval
        self.requests: list[tuple[str, str]] = []
        self._failures: list[tuple[str, str, int, int]] = []
        self._watches: dict[threading.Event, socket.socket] = {}
        self.drops = 0  # how many times drop_watches() ran
        self._lock = threading.Lock()
        self._continues: dict[str, tuple[list[Obj], int]] = {}
        for resource in (NODES, PODS, EVENTS, *resources):
            self.install(resource)
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> FakeKubeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop_watches()
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def api_client(self) -> client.ApiClient:
        """A real ``kubernetes.client.ApiClient`` pointed at this server."""
        configuration = client.Configuration(host=self.url)
        return client.ApiClient(configuration)

    # -- resources -----------------------------------------------------------

    def install(self, resource: ResourceType) -> None:
        self.store.register(resource)

    def uninstall(self, resource: ResourceType) -> None:
        with self.store.cond:
            self.store.objects.pop(resource, None)
        self.drop_watches()

    def resource(self, group: str, version: str, plural: str) -> ResourceType:
        for resource in self.store.objects:
            if (resource.group, resource.version, resource.plural) == (group, version, plural):
                return resource
        raise StatusError(404, "NotFound", "the server could not find the requested resource")

    # -- direct access for tests (no HTTP) -----------------------------------

    def create(self, resource: ResourceType, obj: Obj, namespace: str = "") -> Obj:
        return self.store.create(resource, namespace, obj)

    def get(self, resource: ResourceType, name: str, namespace: str = "") -> Obj:
        return self.store.get(resource, namespace, name)

    def items(self, resource: ResourceType) -> list[Obj]:
        return self.store.list(resource, None, lambda _: True)[0]

    def patch(
        self, resource: ResourceType, name: str, patch: Obj, namespace: str = "", **kw: bool
    ) -> Obj:

        return self.store.update(
            resource,
            namespace,
            name,
            lambda obj: merge_patch(obj, patch),
            status=kw.get("status", False),
        )

    def delete(self, resource: ResourceType, name: str, namespace: str = "") -> Obj:
        return self.store.delete(resource, namespace, name)

    # -- faults --------------------------------------------------------------

    def compact(self) -> int:
        """Expire all history: watches from older versions get 410 Gone, paging restarts."""
        with self._lock:
            self._continues.clear()
        return self.store.compact()

    def drop_watches(self) -> int:
        """Cut every open watch connection mid-stream, as a restarting API server does."""
        with self._lock:
            self.drops += 1
            watches = list(self._watches.items())
        for stop, sock in watches:
            stop.set()
            shutdown_socket(sock)
        with self.store.cond:
            self.store.cond.notify_all()
        return len(watches)

    @property
    def open_watches(self) -> int:
        with self._lock:
            return len(self._watches)

    def fail_next(self, method: str, path_part: str, code: int = 500, times: int = 1) -> None:
        """Answer the next ``times`` matching requests with ``code`` (a Status failure)."""
        with self._lock:
            self._failures.append((method, path_part, code, times))

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    # -- used by the server --------------------------------------------------

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))

    def maybe_fail(self, method: str, path: str) -> None:
        with self._lock:
            for i, (m, part, code, times) in enumerate(self._failures):
                if m == method and part in path:
                    if times <= 1:
                        del self._failures[i]
                    else:
                        self._failures[i] = (m, part, code, times - 1)
                    raise StatusError(code, "InternalError", f"injected failure {code}")

    def open_watch(self, sock: socket.socket, epoch: int) -> threading.Event:
        """Register a watch connection; one that began before a drop is dropped at once."""
        stop = threading.Event()
        with self._lock:
            self._watches[stop] = sock
            dropped = epoch != self.drops
        if dropped:
            stop.set()
            shutdown_socket(sock)
        return stop

    def close_watch(self, stop: threading.Event) -> None:
        with self._lock:
            self._watches.pop(stop, None)

    def list_page(
        self, resource: ResourceType, namespace: str | None, query: dict[str, str]
    ) -> Obj:
        token = query.get("continue")
        if token:
            with self._lock:
                if token not in self._continues:
                    raise StatusError(410, "Expired", "the provided continue parameter is too old")
                items, rv = self._continues.pop(token)
        else:
            items, rv = self.store.list(
                resource, namespace, field_selector(query.get("fieldSelector", ""))
            )
        limit = int(query.get("limit") or 0)
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if limit and len(items) > limit:
            items, rest = items[:limit], items[limit:]
            token = new_continue_token()
            with self._lock:
                self._continues[token] = (rest, rv)
            meta["continue"] = token
        return {
            "kind": f"{resource.kind}List",
            "apiVersion": resource.api_version,
            "metadata": meta,
            "items": items,
        }


def wait_until(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``check`` until it returns something truthy; fail the test with its last value."""
    import time

    deadline = time.monotonic() + timeout
    value = check()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        time.sleep(interval)
        value = check()
    return value


__all__ = [
    "CALICO_VPP_NETWORKS",
    "ENDPOINT_SLICES",
    "EVENTS",
    "NADS",
    "NODES",
    "PODS",
    "SERVICES",
    "FakeKubeApi",
    "ResourceType",
    "StatusError",
    "resource_from_crd",
    "wait_until",
]
