"""The agent's control socket: read-only answers for ``vppnet show``, ``plan --live``...

An asyncio unix-socket server in the agent's event loop. Each connection
carries one request line and gets one reply line (:mod:`agent.control.protocol`).
The views are computed in a worker thread, so a large model or the drift
view's read of VPP never holds up the event loop. Every failure (a garbled or
oversized request, a client that says nothing, a view that raises, VPP being
away) becomes an error reply or a closed connection, never an exception out of
the server: the agent's dataplane matters more than its control socket.

The socket is created mode 0600 (root only), without a window in which it is
wider (:func:`agent.felix.unixsock.listen_unix`), and nothing it answers can
change the agent or VPP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from agent.control.config import ControlSettings
from agent.control.explain import explain_policy
from agent.control.protocol import MAX_REQUEST, BadRequestError, decode_request, encode, error, ok
from agent.control.views import Views
from agent.explain_policy import ExplainError
from agent.felix.unixsock import inode_of, listen_unix, remove_if_same
from agent.vpp import VppError

log = logging.getLogger(__name__)

READ_TIMEOUT: Final = 5.0  # seconds a client may take to send its request line


class ControlServer:
    def __init__(self, settings: ControlSettings, views: Views) -> None:
        self.settings = settings
        self.views = views
        self.requests = 0  # answered, errors included (tests and curiosity)
        self.read_timeout = READ_TIMEOUT
        self._server: asyncio.Server | None = None
        self._inode: int | None = None
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "status": lambda _: views.status_view(),
            "pods": lambda _: views.pods(),
            "networks": lambda _: views.networks(),
            "services": lambda _: views.services(),
            "policies": lambda _: views.policies(),
            "desired": lambda _: views.desired(),
            "drift": lambda _: views.drift(),
            "explain-policy": self._explain_policy,
        }

    @property
    def path(self) -> Path:
        return Path(self.settings.socket)

    async def start(self) -> None:
        if self._server is not None or not self.settings.enabled:
            return
        try:
            sock = listen_unix(self.path)
        except OSError as e:
            # operators lose their view, not the node its dataplane: run on, and say why
            log.error("control socket %s: %s; running without it", self.path, e)
            return
        self._inode = inode_of(self.path)
        self._server = await asyncio.start_unix_server(
            self._connection, sock=sock, limit=MAX_REQUEST
        )
        log.info("control socket on %s (mode 600)", self.path)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2.0)
        remove_if_same(self.path, self._inode)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            reply = await self._reply(reader)
            self.requests += 1
            writer.write(encode(reply))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away; nothing to tell it
        except Exception:  # a bug costs one reply, never the server
            log.exception("control socket: a request failed")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _reply(self, reader: asyncio.StreamReader) -> dict[str, Any]:
        try:
            line = await asyncio.wait_for(reader.readline(), self.read_timeout)
        except TimeoutError:
            return error(f"no request line within {self.read_timeout:g} s")
        except (ValueError, asyncio.LimitOverrunError):
            return error(f"request too long (limit {MAX_REQUEST} bytes)")
        if line and not line.endswith(b"\n") and reader.at_eof():
            line += b"\n"  # the client closed its side after the request: that ends it too
        try:
            name, args = decode_request(line)
            return ok(await asyncio.to_thread(self._handlers[name], args))
        except (BadRequestError, ExplainError) as e:
            return error(str(e))
        except VppError as e:
            return error(f"VPP: {e}")
        except Exception as e:
            log.exception("control socket: request failed")
            return error(f"internal error: {e!r}")

    def _explain_policy(self, args: dict[str, Any]) -> dict[str, Any]:
        fields = {}
        for name in ("target", "direction", "packet"):
            value = args.get(name)
            if not isinstance(value, str):
                raise BadRequestError(f"explain-policy: {name!r} must be a string")
            fields[name] = value
        return explain_policy(
            self.views.npol_records(),
            fields["target"],
            fields["direction"],
            fields["packet"],
            self.views.model(),
        )
