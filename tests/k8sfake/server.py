"""The HTTP side of the fake API server: Kubernetes REST paths, list, watch and writes.

Speaks what the official client sends: JSON lists with ``limit``/``continue``
paging, watches as a chunked stream of JSON event lines (``ADDED``,
``MODIFIED``, ``DELETED``, ``BOOKMARK`` when ``allowWatchBookmarks`` is set,
an ``ERROR`` event with a 410 ``Expired`` status for a compacted version),
``timeoutSeconds`` ending a watch cleanly, field selectors (an object leaving
the selection is seen as ``DELETED``, entering it as ``ADDED``), merge and
JSON patches on objects and their status subresource, and ``Status`` objects
for errors.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from tests.k8sfake.errors import StatusError
from tests.k8sfake.patch import json_patch, merge_patch
from tests.k8sfake.store import Event, Obj, ResourceType, Selector

if TYPE_CHECKING:
    from tests.k8sfake import FakeKubeApi


def field_selector(text: str) -> Selector:
    """``a.b=x,c!=y`` over dotted object paths (the API server's field selectors)."""
    terms: list[tuple[list[str], str, bool]] = []
    for term in filter(None, (t.strip() for t in text.split(","))):
        negate = "!=" in term
        path, value = term.split("!=" if negate else "==" if "==" in term else "=", 1)
        terms.append((path.split("."), value, negate))

    def matches(obj: Obj) -> bool:
        for path, value, negate in terms:
            node: Any = obj
            for part in path:
                node = node.get(part) if isinstance(node, dict) else None
            if (str(node if node is not None else "") == value) == negate:
                return False
        return True

    return matches


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``FakeKubeApi.requests`` instead."""

    # -- plumbing -----------------------------------------------------------

    def _send(self, code: int, body: Obj) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"null")
        except json.JSONDecodeError:
            raise StatusError(400, "BadRequest", "request body is not JSON") from None

    def _route(self) -> tuple[ResourceType, str | None, str | None, str | None, dict[str, str]]:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [p for p in url.path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise StatusError(404, "NotFound", f"no API at {url.path}")
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise StatusError(404, "NotFound", f"no API at {url.path}")
        resource = self.server.api.resource(group, version, rest[0])
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub not in (None, "status") or (sub == "status" and not resource.status_subresource):
            raise StatusError(404, "NotFound", f"no subresource {sub!r} of {resource.plural}")
        return resource, namespace, name, sub, query

    def _handle(self, method: str) -> None:
        api = self.server.api
        epoch = api.drops  # a watch that arrived before drop_watches() is dropped too
        api.record(method, self.path)
        try:
            api.maybe_fail(method, self.path)
            resource, namespace, name, sub, query = self._route()
            if method == "GET" and name is None and query.get("watch") in ("true", "1"):
                self._watch(resource, namespace, query, epoch)
                return
            self._send(*self._dispatch(method, resource, namespace, name, sub, query))
        except StatusError as failure:
            self._send(failure.code, failure.status())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # -- requests -------------------------------------------------------------

    def _dispatch(
        self,
        method: str,
        resource: ResourceType,
        namespace: str | None,
        name: str | None,
        sub: str | None,
        query: dict[str, str],
    ) -> tuple[int, Obj]:
        store = self.server.api.store
        ns = namespace or ""
        if method == "GET" and name is None:
            return 200, self.server.api.list_page(resource, namespace, query)
        if method == "GET" and name is not None:
            return 200, store.get(resource, ns, name)
        if method == "POST" and name is None:
            return 201, store.create(resource, ns, self._body())
        if name is None:
            raise StatusError(405, "MethodNotAllowed", f"{method} needs an object name")
        if method == "DELETE":
            return 200, store.delete(resource, ns, name)
        body = self._body()
        if method == "PUT":
            return 200, store.update(resource, ns, name, lambda _: body, status=sub == "status")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype == "application/json-patch+json":
            if not isinstance(body, list):
                raise StatusError(400, "BadRequest", "a JSON patch is a list of operations")
            change = lambda obj: json_patch(obj, body)  # noqa: E731
        elif ctype == "application/merge-patch+json" or (
            ctype == "application/strategic-merge-patch+json" and not resource.group
        ):
            change = lambda obj: merge_patch(obj, body)  # noqa: E731
        else:
            raise StatusError(415, "UnsupportedMediaType", f"unsupported patch type {ctype!r}")
        return 200, store.update(resource, ns, name, change, status=sub == "status")

    def _watch(
        self, resource: ResourceType, namespace: str | None, query: dict[str, str], epoch: int
    ) -> None:
        api, store = self.server.api, self.server.api.store
        select = field_selector(query.get("fieldSelector", ""))
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        deadline = time.monotonic() + float(query.get("timeoutSeconds") or 1800)
        store._bucket(resource)  # 404 before the stream starts, like the API server
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        watch = api.open_watch(self.connection, epoch)
        try:
            self._stream(resource, namespace, query, select, bookmarks, deadline, watch)
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            api.close_watch(watch)
            self.close_connection = True

    def _stream(
        self,
        resource: ResourceType,
        namespace: str | None,
        query: dict[str, str],
        select: Selector,
        bookmarks: bool,
        deadline: float,
        watch: threading.Event,
    ) -> None:
        api, store = self.server.api, self.server.api.store
        rv = int(query.get("resourceVersion") or 0)
        with store.cond:
            if rv and rv < store.compacted:
                expired = StatusError(
                    410, "Expired", f"too old resource version: {rv} ({store.compacted})"
                )
                self._event("ERROR", expired.status())
                return
            if not rv:  # no version: the current state first, as synthetic ADDED events
                items, rv = store.list(resource, namespace, select)
                for item in items:
                    self._event("ADDED", item)
        next_bookmark = time.monotonic() + api.bookmark_interval
        while not watch.is_set():
            now = time.monotonic()
            if now >= deadline or not store.served(resource):  # a deleted CRD ends its watches
                return
            with store.cond:
                pending = [
                    e
                    for e in store.events_since(resource, rv)
                    if namespace is None or e.obj["metadata"].get("namespace") == namespace
                ]
                if not pending:
                    current = store.rv
                    if bookmarks and now >= next_bookmark:
                        self._bookmark(resource, current)
                        next_bookmark = now + api.bookmark_interval
                        rv = max(rv, current)
                        continue
                    store.cond.wait(min(deadline, next_bookmark) - now)
                    continue
            for event in pending:
                self._deliver(event, select)
                rv = event.rv

    def _deliver(self, event: Event, select: Selector) -> None:
        now = select(event.obj)
        before = event.old is not None and select(event.old)
        if event.type == "MODIFIED" and now != before:
            self._event("ADDED" if now else "DELETED", event.obj)
        elif now or (event.type == "DELETED" and before):
            self._event(event.type, event.obj)

    def _bookmark(self, resource: ResourceType, rv: int) -> None:
        self._event(
            "BOOKMARK",
            {
                "kind": resource.kind,
                "apiVersion": resource.api_version,
                "metadata": {"resourceVersion": str(rv)},
            },
        )

    def _event(self, kind: str, obj: Obj) -> None:
        self._chunk(json.dumps({"type": kind, "object": obj}).encode() + b"\n")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, api: FakeKubeApi) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.api = api


def new_continue_token() -> str:
    return uuid.uuid4().hex


def shutdown_socket(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
