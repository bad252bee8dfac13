"""The control socket's wire protocol: one JSON request line, one JSON reply line.

A request is ``{"request": "<name>", ...arguments}``; a reply is
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "<message>"}``. One
exchange per connection keeps both ends trivial and lets ``socat`` or ``nc -U``
be a client too. Requests are bounded (:data:`MAX_REQUEST` bytes) so a stray
writer cannot make the agent buffer without end; replies are not (a node's
views are what they are), but a client bounds what it waits for by a timeout.
"""

from __future__ import annotations

import json
from typing import Any, Final

MAX_REQUEST: Final = 8192  # bytes, newline included
REQUESTS: Final = (
    "status",
    "pods",
    "networks",
    "services",
    "policies",
    "desired",
    "drift",
    "explain-policy",
)


class ControlError(Exception):
    """The agent answered with an error, or could not be asked at all."""


class AgentUnavailableError(ControlError):
    """No agent answers on the control socket (not running, or another path)."""


class BadRequestError(ValueError):
    """A request the agent refuses; the message goes back to the client."""


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def decode_request(line: bytes) -> tuple[str, dict[str, Any]]:
    """(name, arguments) of one request line; :class:`BadRequestError` naming what is wrong."""
    if len(line) > MAX_REQUEST or not line.endswith(b"\n"):
        raise BadRequestError(f"request too long or not terminated (limit {MAX_REQUEST} bytes)")
    try:
        message = json.loads(line)
    except ValueError as e:
        raise BadRequestError(f"request is not JSON: {e}") from None
    if not isinstance(message, dict):
        raise BadRequestError("request must be a JSON object")
    name = message.pop("request", None)
    if not isinstance(name, str):
        raise BadRequestError('request: missing the "request" field (a string)')
    if name not in REQUESTS:
        raise BadRequestError(f"unknown request {name!r}; known: {', '.join(REQUESTS)}")
    return name, message


def ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def error(message: str) -> dict[str, Any]:
    return {"ok": False, "error": message}
