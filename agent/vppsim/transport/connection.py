"""One client connection: frames in, replies out, strictly in arrival order.

papi writes a header and its payload with two ``sendall`` calls, so frames are
cut out of a receive buffer by length, never assumed to match ``recv``
boundaries. A frame that is too long or cannot be decoded closes only this
connection; the state is untouched because nothing was dispatched.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import struct
import threading
from typing import TYPE_CHECKING

from agent.vppsim.dispatch import ProtocolError

if TYPE_CHECKING:
    from agent.vppsim.transport.server import ApiServer

log = logging.getLogger(__name__)

HEADER = struct.Struct(">QII")
MAX_FRAME = 8 * 1024 * 1024
MAX_PENDING_EVENTS = 100_000
REGISTRATION_BIT = 0x80000000  # SOCK_API_REG_HANDLE_BIT
_RECV_SIZE = 256 * 1024
_SEND_TIMEOUT = struct.pack("ll", 10, 0)


def frame(payloads: list[bytes]) -> bytes:
    return b"".join(HEADER.pack(0, len(p), 0) + p for p in payloads)


class Connection:
    def __init__(self, sock: socket.socket, registration: int, server: ApiServer) -> None:
        self.sock = sock
        self.registration = registration
        self.client_index = registration | REGISTRATION_BIT
        self.name = ""
        self.server = server
        self._send_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._closing = False
        self._closed = False
        self._events: queue.SimpleQueue[bytes | None] | None = None
        self.thread = threading.Thread(
            target=self._serve, name=f"vppsim-client-{registration}", daemon=True
        )
        # a client that stops reading must not block the simulator forever
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _SEND_TIMEOUT)

    def __repr__(self) -> str:
        return f"Connection({self.client_index:#x}, {self.name!r})"

    # -- handlers.Client --------------------------------------------------------
    def close_after_reply(self) -> None:
        self._closing = True

    def push_event(self, payload: bytes) -> None:
        """Queue an event; this connection's event thread writes it."""
        with self._state_lock:
            if self._closed:
                return
            if self._events is None:
                self._events = queue.SimpleQueue()
                threading.Thread(
                    target=self._event_loop,
                    args=(self._events,),
                    name=f"vppsim-events-{self.registration}",
                    daemon=True,
                ).start()
            events = self._events
        if events.qsize() > MAX_PENDING_EVENTS:
            log.warning("vppsim: %r does not read its events; closing it", self)
            self.close()
            return
        events.put(payload)

    # -- life cycle -----------------------------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        """Idempotent; wakes the reader (shutdown) and the event writer (None)."""
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
            events = self._events
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        if events is not None:
            events.put(None)

    @property
    def closed(self) -> bool:
        return self._closed

    def _event_loop(self, events: queue.SimpleQueue[bytes | None]) -> None:
        while (payload := events.get()) is not None:
            if not self._send([payload]):
                return

    def _send(self, payloads: list[bytes]) -> bool:
        if not payloads:
            return True
        data = frame(payloads)
        try:
            with self._send_lock:
                self.sock.sendall(data)
        except OSError as e:
            if not self._closed:
                log.info("vppsim: %r: send failed (%s); closing", self, e)
            self.close()
            return False
        return True

    def _serve(self) -> None:
        try:
            self._read_loop()
        except ProtocolError as e:
            log.warning("vppsim: %r: %s; closing the connection", self, e)
        except OSError as e:
            if not self._closed:
                log.info("vppsim: %r: %s", self, e)
        finally:
            self.close()
            self.server.forget(self)

    def _read_loop(self) -> None:
        buf = bytearray()
        dispatcher = self.server.dispatcher
        while not self._closed:
            chunk = self.sock.recv(_RECV_SIZE)
            if not chunk:
                return
            buf += chunk
            pos = 0
            while len(buf) - pos >= HEADER.size:
                _, length, _ = HEADER.unpack_from(buf, pos)
                if length > MAX_FRAME:
                    raise ProtocolError(f"frame of {length} bytes exceeds {MAX_FRAME}")
                end = pos + HEADER.size + length
                if len(buf) < end:
                    break
                payload = bytes(buf[pos + HEADER.size : end])
                pos = end
                if not self._send(dispatcher.handle(self, payload)):
                    return
                if self._closing:
                    return
            if pos:
                del buf[:pos]
