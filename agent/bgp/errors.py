"""The BGP speaker's errors: each names what failed, so a log line is enough to act on."""

from __future__ import annotations


class BgpError(Exception):
    """Something about BGP on this node went wrong; the message says what."""


class GobgpdMissingError(BgpError):
    """The gobgpd binary is not where the settings say (or not in PATH)."""


class BgpApiError(BgpError):
    """A gobgpd gRPC call failed: ``operation`` (e.g. ``AddPeer 192.168.0.2``) and gRPC's code."""

    def __init__(self, operation: str, code: str, details: str) -> None:
        super().__init__(f"gobgpd {operation}: {code}: {details}")
        self.operation = operation
        self.code = code
        self.details = details


class BgpConfigError(BgpError):
    """A BGP input that cannot be used, naming the object and the field (``BGPPeer x:
    spec.peerSelector: ...``). The object is skipped and reported; the rest goes on."""

    def __init__(self, obj: str, field: str, message: str) -> None:
        super().__init__(f"{obj}: {field}: {message}")
        self.obj = obj
        self.field = field
        self.message = message
