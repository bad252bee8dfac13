"""Decode a request, run its handler under the lock, encode what goes back.

Everything that reaches VPP's state goes through ``Dispatcher.handle``, one
request at a time (one lock), which is what makes the counters exact and the
state consistent with several clients connected.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

from agent.vppsim.codec import ApiSchema, CodecError, CodecValueError, MessageDef, Msg, ServiceDef
from agent.vppsim.errors import INVALID_VALUE, UNIMPLEMENTED, UNSPECIFIED, ApiError
from agent.vppsim.events import Subscriptions
from agent.vppsim.handlers import REGISTRY, Client, ClientRegistry, Ctx, Handler, SimConfig
from agent.vppsim.netdev import NetDevices
from agent.vppsim.state import VppState

log = logging.getLogger(__name__)


class ProtocolError(Exception):
    """The frame cannot be a VPP API message: the connection is closed."""


class Dispatcher:
    def __init__(
        self,
        schema: ApiSchema,
        devices: NetDevices,
        config: SimConfig,
        clients: ClientRegistry,
    ) -> None:
        self.schema = schema
        self.devices = devices
        self.config = config
        self.clients = clients
        self.lock = threading.RLock()
        self.state = VppState()
        self.events = Subscriptions(schema)
        self.calls: Counter[str] = Counter()
        self.mutations = 0
        self._injected: dict[str, list[int]] = {}
        self._dropped: dict[str, int] = {}  # test hook, empty unless drop_replies() is called
        self._ignored: set[int] = set()
        missing = sorted(n for n in schema.services if n not in REGISTRY)
        if missing:
            log.error("vppsim: no handler for %s; they will answer UNIMPLEMENTED", missing)

    def inject_error(self, message: str, retval: int, count: int) -> None:
        with self.lock:
            if count > 0:
                self._injected[message] = [retval, count]
            else:  # 0: no more injected failures of this message
                self._injected.pop(message, None)

    def drop_replies(self, message: str, count: int) -> None:
        with self.lock:
            self._dropped[message] = count

    def reset_counters(self) -> None:
        self.calls.clear()
        self.mutations = 0
        self._injected.clear()

    def handle(self, client: Client, payload: bytes) -> list[bytes]:
        """The payloads to send back to ``client``, in order (possibly none)."""
        if len(payload) < 2:
            raise ProtocolError(f"frame of {len(payload)} bytes has no message id")
        msg_id = int.from_bytes(payload[:2], "big")
        mdef = self.schema.by_id.get(msg_id)
        svc = self.schema.services.get(mdef.name) if mdef is not None else None
        if mdef is None or svc is None:
            if msg_id not in self._ignored:
                self._ignored.add(msg_id)
                name = mdef.name if mdef is not None else "unknown"
                log.warning("vppsim: ignoring message id %d (%s): not a request", msg_id, name)
            return []
        try:
            msg = mdef.decode(payload)
        except CodecValueError as e:
            log.warning("vppsim: %s with an invalid value: %s", mdef.name, e)
            return self._error_reply(mdef, svc, payload, INVALID_VALUE)
        except CodecError as e:
            raise ProtocolError(f"cannot decode {mdef.name}: {e}") from e
        with self.lock:
            self.calls[mdef.name] += 1
            out = self._run(client, mdef, svc, msg)
            self.events.publish(self.state.interfaces.take_events())
            if self._dropped.get(mdef.name):
                self._dropped[mdef.name] -= 1
                log.warning("vppsim: %s applied, its reply withheld (drop_replies)", mdef.name)
                return []
        return out

    def _run(self, client: Client, mdef: MessageDef, svc: ServiceDef, msg: Msg) -> list[bytes]:
        handler = REGISTRY.get(mdef.name)
        injected = self._injected.get(mdef.name)
        if injected is not None:
            retval = injected[0]
            injected[1] -= 1
            if injected[1] <= 0:
                del self._injected[mdef.name]
            return self._failure(svc, msg, handler, retval)
        if handler is None:
            return self._failure(svc, msg, handler, UNIMPLEMENTED)
        ctx = Ctx(
            self.state, self.devices, self.schema, self.config, client, self.clients, self.events
        )
        try:
            result: Any = handler.fn(ctx, msg)
        except ApiError as e:
            log.debug("vppsim: %s -> %d %s", mdef.name, e.retval, e.reason)
            return self._failure(svc, msg, handler, e.retval)
        except Exception:
            log.exception("vppsim: handler for %s failed", mdef.name)
            return self._failure(svc, msg, handler, UNSPECIFIED)
        if handler.kind == "dump":
            return self._stream(svc.reply, msg, result)
        if handler.kind == "cursor":
            fields, details = result
            return [*self._stream(svc.stream_msg, msg, details), self._reply(svc, msg, fields)]
        unchanged = bool(result.pop("unchanged", False))  # a handler's no-op (see npol)
        if handler.mutating and result.get("retval", 0) == 0 and not unchanged:
            self.mutations += 1
        if svc.reply is None:
            return []
        return [self._reply(svc, msg, result)]

    def _failure(
        self, svc: ServiceDef, msg: Msg, handler: Handler | None, retval: int
    ) -> list[bytes]:
        """An error changes nothing; a dump just has no details (VPP dumps have no retval)."""
        if svc.reply is None or (handler is not None and handler.kind == "dump"):
            return []
        if handler is None and svc.stream and svc.stream_msg is None:
            return []
        return [self._reply(svc, msg, {"retval": retval})]

    def _reply(self, svc: ServiceDef, msg: Msg, fields: Msg) -> bytes:
        assert svc.reply is not None
        rdef = self.schema.messages[svc.reply]
        if "context" in rdef.fields:
            fields = {**fields, "context": msg.get("context", 0)}
        return rdef.encode(fields)

    def _stream(self, name: str | None, msg: Msg, details: list[Msg]) -> list[bytes]:
        if name is None or not details:
            return []
        ddef = self.schema.messages[name]
        context = msg.get("context", 0)
        return [ddef.encode({**d, "context": context}) for d in details]

    def _error_reply(
        self, mdef: MessageDef, svc: ServiceDef, payload: bytes, retval: int
    ) -> list[bytes]:
        if svc.reply is None or (svc.stream and svc.stream_msg is None):
            return []
        offset = 6 if "client_index" in mdef.fields else 2
        context = int.from_bytes(payload[offset : offset + 4], "big")
        with self.lock:
            self.calls[mdef.name] += 1
        return [self._reply(svc, {"context": context}, {"retval": retval})]
