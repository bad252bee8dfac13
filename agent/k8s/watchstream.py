"""One watch request as an iterator of events, stoppable from another thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kubernetes import watch

from agent.k8s.errors import CLIENT_ERRORS, ApiError, api_error

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: str  # ADDED | MODIFIED | DELETED | BOOKMARK
    obj: Obj

    @property
    def resource_version(self) -> str | None:
        meta = self.obj.get("metadata")
        version = meta.get("resourceVersion") if isinstance(meta, dict) else None
        return str(version) if version else None


class WatchStream:
    """One watch request as an iterator of events; :meth:`stop` ends it from any thread.

    Built on ``kubernetes.watch.Watch``. A 410 ``Expired`` ERROR event, an HTTP
    failure or a dropped connection all raise :class:`ApiError`; the stream ends
    normally when the server's ``timeoutSeconds`` runs out.
    """

    def __init__(self, what: str, lister: Callable[..., Any], kwargs: dict[str, Any]) -> None:
        self._what = what
        self._lister = lister
        self._kwargs = kwargs
        self._watch = watch.Watch(return_type="object")  # type: ignore[no-untyped-call]
        self._stopped = threading.Event()

    def __iter__(self) -> Iterator[WatchEvent]:
        if self._stopped.is_set():
            return
        stream = self._watch.stream(self._lister, **self._kwargs)  # type: ignore[no-untyped-call]
        try:
            for raw in stream:
                if self._stopped.is_set():
                    return
                obj = raw.get("raw_object") if isinstance(raw, dict) else None
                if isinstance(obj, dict):
                    yield WatchEvent(str(raw.get("type")), obj)
        except CLIENT_ERRORS as exc:
            if self._stopped.is_set():
                return
            error = api_error(exc)
            raise ApiError(
                error.status, error.reason, f"watch {self._what}: {error.message}"
            ) from exc
        finally:
            with contextlib.suppress(Exception):
                stream.close()

    def stop(self) -> None:
        """Unblock the reading thread (shuts the connection down); safe to call repeatedly."""
        self._stopped.set()
        with contextlib.suppress(Exception):
            self._watch.stop()  # type: ignore[no-untyped-call]
