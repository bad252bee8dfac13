"""The simulator object tests, the demo and ``vppnet sim`` drive."""

from __future__ import annotations

import collections
import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType, TracebackType
from typing import Literal

from agent.apidefs import api_files
from agent.vppsim.codec import ApiSchema
from agent.vppsim.dispatch import Dispatcher
from agent.vppsim.handlers import SimConfig
from agent.vppsim.netdev import DevicesMode, NetDevices
from agent.vppsim.state import VppState
from agent.vppsim.stats import SimStats
from agent.vppsim.transport import ApiServer

log = logging.getLogger(__name__)


class Simulator:
    """A VPP binary-API server on a unix socket, holding VPP-like state.

    ``start()`` returns once the socket accepts; clients are served from
    background threads. ``stop()`` closes every client, removes the socket
    file and every Linux device the simulator created. ``stats_socket``: where
    to serve VPP's stats segment (interface counters, see
    :mod:`agent.vppsim.stats`); None serves none.
    """

    def __init__(
        self,
        socket_path: str | os.PathLike[str],
        *,
        vhost_net: bool = True,
        devices: Literal["auto", "real", "record"] = "auto",
        version: str = "26.06-release",
        socket_mode: int = 0o600,
        stats_socket: str | os.PathLike[str] | None = None,
        stats_interval: float = 1.0,
    ) -> None:
        self.socket_path = Path(socket_path)
        self.schema = ApiSchema(api_files())
        self._devices = NetDevices(devices)
        self._server = ApiServer(self.socket_path, socket_mode)
        self._dispatcher = Dispatcher(
            self.schema,
            self._devices,
            SimConfig(version=version, vhost_net=vhost_net, pid=os.getpid()),
            self._server,
        )
        self._server.dispatcher = self._dispatcher
        self._stats = (
            SimStats(
                stats_socket,
                lambda: self._dispatcher.state,
                self._dispatcher.lock,
                real_devices=lambda: self._devices.real,
                interval=stats_interval,
                mode=socket_mode,
            )
            if stats_socket is not None
            else None
        )
        self._started = False

    # -- life cycle -------------------------------------------------------------
    def start(self) -> None:
        if self._started:
            return
        self._devices.start()
        self._server.start()
        if self._stats is not None:
            self._stats.start()
        self._started = True
        log.info("vppsim: serving the VPP API on %s", self.socket_path)

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._server.stop()
        if self._stats is not None:
            self._stats.stop()
        with self._dispatcher.lock:
            self._devices.delete_all()
            self._dispatcher.events.clear()

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what tests look at ------------------------------------------------------
    @property
    def state(self) -> VppState:
        return self._dispatcher.state

    @property
    def mutations(self) -> int:
        return self._dispatcher.mutations

    @property
    def calls(self) -> collections.Counter[str]:
        return self._dispatcher.calls

    @property
    def real_devices(self) -> bool:
        """Whether tap/tun interfaces get a real Linux device (known after start())."""
        return self._devices.real

    @property
    def lock(self) -> threading.RLock:
        """Hold it to read ``state`` consistently while clients are active."""
        return self._dispatcher.lock

    # -- what tests do -------------------------------------------------------------
    def reset(self) -> None:
        """Back to a fresh VPP (local0, tables 0); counters and injected errors cleared."""
        with self._dispatcher.lock:
            self._devices.delete_all()
            self._dispatcher.state = VppState()
            self._dispatcher.reset_counters()
            if self._stats is not None:
                self._stats.forget()

    def inject_error(self, message: str, retval: int, count: int = 1) -> None:
        """The next ``count`` calls of ``message`` answer ``retval`` and change nothing
        (``count=0`` ends an injection early)."""
        if message not in self.schema.services:
            raise ValueError(f"{message} is not a request message of the API")
        self._dispatcher.inject_error(message, retval, count)

    def drop_replies(self, message: str, count: int = 1) -> None:
        """Test hook: the next ``count`` calls of ``message`` are applied but never answered,
        so the client hangs half-way through its work (to be killed there, say)."""
        if message not in self.schema.services:
            raise ValueError(f"{message} is not a request message of the API")
        self._dispatcher.drop_replies(message, count)

    def update_stats(self) -> None:
        """Refresh the stats segment now instead of at the next tick."""
        if self._stats is None:
            raise RuntimeError("this simulator serves no stats segment (stats_socket=None)")
        self._stats.update()

    def drop_clients(self) -> None:
        """Close every client connection abruptly, as a VPP crash would."""
        self._server.drop_all()


def serve_forever(
    socket_path: str | os.PathLike[str],
    *,
    vhost_net: bool = True,
    devices: Literal["auto", "real", "record"] = "auto",
    version: str = "26.06-release",
    socket_mode: int = 0o600,
    stats_socket: str | os.PathLike[str] | None = None,
) -> None:
    """Run a simulator until SIGTERM or SIGINT, then clean up (socket, devices)."""
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    sim = Simulator(
        socket_path,
        vhost_net=vhost_net,
        devices=devices,
        version=version,
        socket_mode=socket_mode,
        stats_socket=stats_socket,
    )
    try:
        with sim:
            done.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


__all__ = ["DevicesMode", "Simulator", "serve_forever"]
