"""One error type for every failed Kubernetes API call, whatever the client raised.

The official client raises ``ApiException`` (and subclasses) for HTTP
statuses, urllib3 errors for broken connections, ``OSError`` and
``ValueError`` for the rest; callers care about the status code (404 not
served, 409 conflict, 410 gone) and a message naming the call.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException

CLIENT_ERRORS = (ApiException, urllib3.exceptions.HTTPError, OSError, ValueError)


class ApiError(Exception):
    """A failed API call: ``status`` is the HTTP code, 0 when the server was not reached."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}" if status else f"{reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def gone(self) -> bool:
        """410: the resourceVersion (or continue token) is too old; list again."""
        return self.status == 410

    @property
    def not_served(self) -> bool:
        """404 on a collection: the resource (a CRD) is not installed."""
        return self.status == 404

    @property
    def conflict(self) -> bool:
        return self.status == 409


def api_error(exc: Exception) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ApiException):
        status = int(exc.status or 0)
        reason, message = str(exc.reason or ""), str(exc.reason or "")
        with contextlib.suppress(ValueError, TypeError):
            body = json.loads(exc.body or "")
            reason, message = body.get("reason", reason), body.get("message", message)
        return ApiError(status, reason, message)
    return ApiError(0, type(exc).__name__, str(exc) or "connection failed")


def call(what: str, fn: Callable[[], Any]) -> Any:
    """Run one client call; every failure becomes an :class:`ApiError` naming ``what``."""
    try:
        return fn()
    except CLIENT_ERRORS as exc:
        error = api_error(exc)
        raise ApiError(error.status, error.reason, f"{what}: {error.message}") from exc
