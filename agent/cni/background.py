"""The CNI server on its own event loop in a thread, for callers that are not asyncio.

The agent runs :class:`CniServer` in its main loop; the demo, the benchmark
and the tests are synchronous, and this gives them the very same server
(same gRPC socket, same backend) without making them async.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from agent.cni.server import CniServer

T = TypeVar("T")


class ServerThread:
    """``with ServerThread(server):`` serves until the block ends."""

    def __init__(self, server: CniServer) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="cni-server", daemon=True
        )

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> None:
        """Serve; if the server cannot start (socket path taken, say) nothing keeps running."""
        self._thread.start()
        try:
            self.run(self.server.start())
        except BaseException:
            self._halt()
            raise

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            self.run(self.server.stop())
        finally:
            self._halt()

    def _halt(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
