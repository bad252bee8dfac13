"""The Calico CNI gRPC dataplane server (``cni.CniDataplane``) on a unix socket.

Calico's CNI plugin dials the socket named in its CNI config
(``dataplane_options.socket``) for every ADD and DEL, with a 5 second
deadline. The socket is created with a restrictive mode (0600 by default:
only root, i.e. the kubelet's CNI plugin, may ask for pod interfaces), and
a stale socket left by a previous agent is replaced, but never a file that
is not a socket. No request can crash the server: anything unexpected
becomes an unsuccessful reply naming the error.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import grpc

from agent.cni.backend import CniBackend
from agent.cni.config import CniSettings
from agent.cni.node import VhostNetProbe, vhost_net_available
from agent.cni.store import CniStore
from agent.dataplane import Dataplane
from agent.proto_gen import cnibackend_pb2_grpc
from agent.proto_gen.cnibackend_pb2 import AddReply, AddRequest, DelReply, DelRequest
from agent.state import ClusterState

log = logging.getLogger(__name__)


CniObserver = Callable[[str, AddRequest | DelRequest, AddReply | DelReply, float], None]
"""Told (operation "add"/"del", request, reply, seconds) after every request: metrics, Events."""


class _Servicer(cnibackend_pb2_grpc.CniDataplaneServicer):
    def __init__(self, backend: CniBackend, observers: list[CniObserver]) -> None:
        self.backend = backend
        self.observers = observers

    async def Add(self, request: AddRequest, context: object) -> AddReply:  # noqa: N802
        started = time.monotonic()
        try:
            reply = await self.backend.add(request)
        except Exception as e:  # a bug must cost one ADD, never the server
            log.exception("CNI ADD %s in %s: internal error", request.interface_name, request.netns)
            reply = AddReply(successful=False, error_message=f"internal error: {e!r}")
        self._observe("add", request, reply, started)
        return reply

    async def Del(self, request: DelRequest, context: object) -> DelReply:  # noqa: N802
        started = time.monotonic()
        try:
            reply = await self.backend.delete(request)
        except Exception as e:
            log.exception("CNI DEL %s in %s: internal error", request.interface_name, request.netns)
            reply = DelReply(successful=False, error_message=f"internal error: {e!r}")
        self._observe("del", request, reply, started)
        return reply

    def _observe(
        self,
        operation: str,
        request: AddRequest | DelRequest,
        reply: AddReply | DelReply,
        started: float,
    ) -> None:
        seconds = time.monotonic() - started
        for observer in self.observers:
            try:
                observer(operation, request, reply, seconds)
            except Exception:  # telemetry must never fail a CNI request
                log.exception("CNI observer failed")


class CniServer:
    """The server and the backend it serves; ``start()``/``stop()`` in the agent's loop.

    ``vhost_net``: None probes ``/dev/vhost-net`` now (once, up front); a bool
    or a probe callable decides instead (tests pretend either way). ``store``:
    the one :func:`agent.cni.load_persisted` returned, else the state file is
    read here.
    """

    def __init__(
        self,
        state: ClusterState,
        dataplane: Dataplane,
        config: CniSettings,
        *,
        vhost_net: bool | VhostNetProbe | None = None,
        store: CniStore | None = None,
    ) -> None:
        self.config = config
        if vhost_net is None:
            self.vhost_net = vhost_net_available(config.vhost_net_path)
        else:
            self.vhost_net = vhost_net if isinstance(vhost_net, bool) else vhost_net()
        if not self.vhost_net:
            log.warning(
                "no vhost-net device at %s on this node: tun and tap pod interfaces fall "
                "back to veth pairs attached to VPP with af_packet",
                config.vhost_net_path,
            )
        self.backend = CniBackend(
            state,
            dataplane,
            config,
            store if store is not None else CniStore.load(config.state_file),
            vhost_net=self.vhost_net,
        )
        self.observers: list[CniObserver] = []
        self._server: grpc.aio.Server | None = None

    @property
    def socket_path(self) -> Path:
        return Path(self.config.socket)

    async def start(self) -> None:
        if self._server is not None:
            return
        path = self.socket_path
        _clear_stale_socket(path)
        server = grpc.aio.server()
        cnibackend_pb2_grpc.add_CniDataplaneServicer_to_server(
            _Servicer(self.backend, self.observers), server
        )
        old_umask = os.umask(0o177)  # the socket is born 0600: no window with a wider mode
        try:
            server.add_insecure_port(f"unix:{path}")
        finally:
            os.umask(old_umask)
        os.chmod(path, self.config.socket_mode)
        try:
            await server.start()
        except BaseException:
            # Cancelled while starting (the agent torn down during start-up), grpc already
            # counts the server as running: close it now, or it would keep the socket and,
            # once garbage, try to shut itself down on a loop that is gone.
            await _close_now(server, path)
            raise
        self._server = server
        log.info("CNI gRPC server on %s (mode %o)", path, self.config.socket_mode)

    async def stop(self, grace: float | None = 1.0) -> None:
        """Finish the requests in flight (up to ``grace`` seconds), then close the socket."""
        server, self._server = self._server, None
        if server is None:
            return
        await server.stop(grace)
        self.socket_path.unlink(missing_ok=True)


async def _close_now(server: grpc.aio.Server, path: Path) -> None:
    """Stop ``server`` without a grace period, even from a task being cancelled."""
    try:
        await server.stop(None)
    except asyncio.InvalidStateError:
        # grpc's serving loop could not report a start that was cancelled, and its
        # shutdown trips on that; the C core was told to shut down before it did.
        log.debug("CNI gRPC server stopped during its start-up")
    finally:
        path.unlink(missing_ok=True)


def _clear_stale_socket(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise FileExistsError(f"CNI socket path {path} exists and is not a socket")
    path.unlink()
