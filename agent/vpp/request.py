"""Typed descriptions of VPP calls, built by the feature modules.

A feature module never talks to the socket: it returns a :class:`Request`
(one message, one reply) or a :class:`Dump` (a stream of details) that says
which message to send, with which fields, and how to turn the answer into a
typed value. The connection executes them one at a time or pipelined; the
reconciler builds many and sends them in one batch. Keeping construction
pure also lets tests check the exact fields of a call without any VPP.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

ANY_INTERFACE = 0xFFFFFFFF  # ~0: "all interfaces" in dumps, "none" in paths


@dataclass(frozen=True, slots=True)
class Request(Generic[T]):
    """One request message whose reply carries a retval."""

    msg: str
    args: Mapping[str, Any]
    parse: Callable[[Any], T]
    what: str = ""  # human description for errors, e.g. "tap pod/a/b/eth0"

    def describe(self) -> str:
        return f"{self.msg} ({self.what})" if self.what else self.msg


@dataclass(frozen=True, slots=True)
class Dump(Generic[T]):
    """A dump request; each details message becomes one ``T``."""

    msg: str
    args: Mapping[str, Any]
    parse: Callable[[Any], T]


def _ignore_reply(_reply: Any) -> None:
    return None


def command(msg: str, what: str = "", **args: Any) -> Request[None]:
    """A request whose reply carries nothing but the retval."""
    return Request(msg, args, _ignore_reply, what)


def returning_sw_if_index(msg: str, what: str = "", **args: Any) -> Request[int]:
    """A create request whose reply names the new interface."""
    return Request(msg, args, _sw_if_index_of, what)


def _sw_if_index_of(reply: Any) -> int:
    return int(reply.sw_if_index)
