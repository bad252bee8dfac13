"""What a request handler gets, and how handlers register themselves.

A handler is a plain function of (context, decoded request). It validates
first and raises ``ApiError`` before changing anything, so an error leaves
the state untouched. ``reply`` handlers return the reply's fields (context
and retval are filled in by the dispatcher), ``dump`` handlers the list of
details, ``cursor`` handlers the reply fields and the details.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from agent.vppsim.codec import ApiSchema, Msg
from agent.vppsim.errors import INVALID_SW_IF_INDEX, ApiError
from agent.vppsim.netdev import NetDevices
from agent.vppsim.state import Interface, VppState


class Client(Protocol):
    """The connection a request came from, as handlers may see it."""

    client_index: int
    name: str

    def close_after_reply(self) -> None: ...

    def push_event(self, payload: bytes) -> None: ...


class ClientRegistry(Protocol):
    def find(self, client_index: int) -> Client | None: ...

    def drop(self, client: Client) -> None: ...


class EventHub(Protocol):
    def subscribe(self, client: Client, pid: int) -> bool: ...

    def unsubscribe(self, client: Client) -> bool: ...


@dataclass(frozen=True)
class SimConfig:
    version: str
    vhost_net: bool
    pid: int


@dataclass
class Ctx:
    state: VppState
    devices: NetDevices
    schema: ApiSchema
    config: SimConfig
    client: Client
    clients: ClientRegistry
    events: EventHub


HandlerKind = Literal["reply", "dump", "cursor"]


@dataclass(frozen=True)
class Handler:
    name: str
    kind: HandlerKind
    mutating: bool
    fn: Callable[[Ctx, Msg], Any]


REGISTRY: dict[str, Handler] = {}

ReplyFn = Callable[[Ctx, Msg], Msg]
DumpFn = Callable[[Ctx, Msg], list[Msg]]
CursorFn = Callable[[Ctx, Msg], tuple[Msg, list[Msg]]]


def reply(name: str, *, mutating: bool) -> Callable[[ReplyFn], ReplyFn]:
    def register(fn: ReplyFn) -> ReplyFn:
        REGISTRY[name] = Handler(name, "reply", mutating, fn)
        return fn

    return register


def dump(name: str) -> Callable[[DumpFn], DumpFn]:
    def register(fn: DumpFn) -> DumpFn:
        REGISTRY[name] = Handler(name, "dump", False, fn)
        return fn

    return register


def cursor(name: str) -> Callable[[CursorFn], CursorFn]:
    def register(fn: CursorFn) -> CursorFn:
        REGISTRY[name] = Handler(name, "cursor", False, fn)
        return fn

    return register


def interface(ctx: Ctx, sw_if_index: int, retval: int = INVALID_SW_IF_INDEX) -> Interface:
    """The interface or the API error VPP gives for a bad index."""
    iface = ctx.state.interfaces.get(sw_if_index)
    if iface is None:
        raise ApiError(retval, f"no interface {sw_if_index}")
    return iface


def random_mac() -> bytes:
    """VPP's ethernet_mac_address_generate: locally administered 02:fe:xx:xx:xx:xx."""
    return bytes([0x02, 0xFE]) + secrets.token_bytes(4)
