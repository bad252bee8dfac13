"""The listening socket and the set of connected clients."""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from agent.vppsim.transport.connection import Connection

if TYPE_CHECKING:
    from agent.vppsim.dispatch import Dispatcher
    from agent.vppsim.handlers import Client

log = logging.getLogger(__name__)


class ApiServer:
    """Accepts clients; each gets a registration, like VPP's socket API."""

    def __init__(self, path: Path, mode: int) -> None:
        self.path = path
        self.mode = mode
        self.dispatcher: Dispatcher
        self._lock = threading.Lock()
        self._conns: dict[int, Connection] = {}
        self._listener: socket.socket | None = None
        self._wake: tuple[int, int] | None = None
        self._accept_thread: threading.Thread | None = None

    def start(self) -> None:
        if self.path.exists() or self.path.is_symlink():
            if not stat.S_ISSOCK(self.path.lstat().st_mode):
                raise FileExistsError(f"{self.path} exists and is not a socket")
            self.path.unlink()  # a stale socket of a previous run, as VPP removes it
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self.path))
            os.chmod(self.path, self.mode)
            listener.listen(128)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        self._wake = os.pipe()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="vppsim-accept", daemon=True
        )
        self._accept_thread.start()

    def stop(self) -> None:
        if self._listener is None or self._wake is None:
            return
        os.write(self._wake[1], b"x")
        if self._accept_thread is not None:
            self._accept_thread.join(5)
        self._listener.close()
        for fd in self._wake:
            os.close(fd)
        self._listener = None
        self._wake = None
        conns = self.drop_all()
        for c in conns:
            if c.thread is not threading.current_thread():
                c.thread.join(5)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _accept_loop(self) -> None:
        assert self._listener is not None and self._wake is not None
        listener, wake = self._listener, self._wake[0]
        while True:
            ready, _, _ = select.select([listener.fileno(), wake], [], [])
            if wake in ready:
                return
            try:
                sock, _ = listener.accept()
            except OSError as e:
                log.warning("vppsim: accept failed: %s", e)
                continue
            with self._lock:
                registration = next(i for i in range(len(self._conns) + 1) if i not in self._conns)
                conn = Connection(sock, registration, self)
                self._conns[registration] = conn
            conn.start()

    # -- handlers.ClientRegistry --------------------------------------------------
    def find(self, client_index: int) -> Connection | None:
        with self._lock:
            conn = self._conns.get(client_index & ~0x80000000)
        return conn if conn is not None and conn.client_index == client_index else None

    def drop(self, client: Client) -> None:
        if isinstance(client, Connection):
            client.close()

    # ------------------------------------------------------------------------------
    def drop_all(self) -> list[Connection]:
        with self._lock:
            conns = list(self._conns.values())
        for c in conns:
            c.close()
        return conns

    def forget(self, conn: Connection) -> None:
        with self._lock:
            if self._conns.get(conn.registration) is conn:
                del self._conns[conn.registration]
        with self.dispatcher.lock:
            self.dispatcher.events.unsubscribe(conn)

    def connections(self) -> list[Connection]:
        with self._lock:
            return list(self._conns.values())
