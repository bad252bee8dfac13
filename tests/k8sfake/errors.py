"""API failures, rendered as the API server renders them: a ``Status`` object."""

from __future__ import annotations

from typing import Any


class StatusError(Exception):
    """A request the fake API server refuses, with the HTTP code and Kubernetes reason."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message

    def status(self) -> dict[str, Any]:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
