"""The agent side of Felix's external dataplane driver: a unix socket felix-proxy dials.

One Felix connection is served at a time; a new connection replaces the old
one (a new proxy means a new Felix: the old one is gone or about to be).
Each connection is a :class:`~agent.felix.session.FelixSession` with its own
sync state machine; the model keeps the previous Felix's data until the new
one reaches InSync, so a Felix restart causes no dataplane churn.

After InSync, every model change from Felix wakes the converge worker, which
runs ``Dataplane.converge()`` in a thread (coalescing whatever arrived
meanwhile) and then reports changed endpoint statuses to Felix. Changes to
pod interfaces made by other sources (the CNI server) also re-evaluate the
status of the endpoints they belong to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Protocol

from agent.dataplane import ConvergeResult
from agent.felix.config import FelixSettings
from agent.felix.messages import endpoint_id
from agent.felix.session import FelixSession, ModelWriter
from agent.felix.stats import FelixStats
from agent.felix.status import EndpointStatusTracker, StatusChange
from agent.felix.sync import SyncState
from agent.felix.unixsock import inode_of, listen_unix, remove_if_same
from agent.model import ClusterModel, PodInterfaceKey
from agent.state import ClusterState
from agent.vppobjects import VppObject

log = logging.getLogger(__name__)


class DataplaneLike(Protocol):
    """What the server needs of :class:`agent.dataplane.Dataplane`."""

    @property
    def desired(self) -> Mapping[str, VppObject]: ...

    def converge(self, trigger: str = ...) -> ConvergeResult: ...


class FelixDriverServer:
    def __init__(
        self,
        state: ClusterState,
        dataplane: DataplaneLike,
        settings: FelixSettings | None = None,
    ) -> None:
        self.state = state
        self.dataplane = dataplane
        self.settings = settings or FelixSettings()
        self.stats = FelixStats()
        self.synced = asyncio.Event()  # set once the model holds a complete Felix snapshot
        self.statuses = EndpointStatusTracker()
        self._model = ModelWriter(state, self.stats)
        self._session: FelixSession | None = None
        self._server: asyncio.Server | None = None
        self._inode: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dirty = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._worker: asyncio.Task[None] | None = None
        self._subscribed = False
        self._started = time.monotonic()

    @property
    def sync_state(self) -> SyncState | None:
        """The current connection's state; None while no Felix is connected."""
        return self._session.sync.state if self._session else None

    @property
    def session(self) -> FelixSession | None:
        return self._session

    async def start(self) -> None:
        """Listen on the settings' socket (mode 0600) and start the converge worker."""
        self._loop = asyncio.get_running_loop()
        sock = listen_unix(self.settings.socket)
        self._inode = inode_of(self.settings.socket)
        self._server = await asyncio.start_unix_server(self._serve, sock=sock)
        if not self._subscribed:
            self.state.subscribe(self._on_model_change)
            self._subscribed = True
        self._worker = self._loop.create_task(self._converge_loop())
        log.info("felix driver listening on %s", self.settings.socket)

    async def stop(self) -> None:
        """Stop listening, drop the connection, stop the worker; the model is kept."""
        if self._server is not None:
            self._server.close()
        session = self._session
        if session is not None:
            session.close()
            await session.wait_closed()
        tasks = [*self._tasks, *([self._worker] if self._worker else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        remove_if_same(self.settings.socket, self._inode)
        self._loop = None

    # ---- connections -------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        previous = self._session
        if previous is not None:
            log.warning("a new Felix connection replaces the previous one")
            previous.close()
        self.stats.connections += 1
        self.statuses.reset()
        session = FelixSession(
            reader, writer, self.settings, self.stats, self._model, self._changed, self._started
        )
        self._session = session
        log.info("Felix connected (connection %d)", self.stats.connections)
        try:
            await session.run()
        finally:
            if self._session is session:
                self._session = None
            if task is not None:
                self._tasks.discard(task)

    def _changed(self, keys: set[PodInterfaceKey], full: bool) -> None:
        if full:
            self.synced.set()
            keys = keys | set(self.statuses.reported)
        self.statuses.mark(keys)
        self._dirty.set()

    def _on_model_change(self, old: ClusterModel, new: ClusterModel, reason: str) -> None:
        """State listener (any thread): pod interfaces of known endpoints came or went."""
        loop = self._loop
        if loop is None or old.pod_interfaces is new.pod_interfaces:
            return
        before, after = old.pod_interfaces, new.pod_interfaces
        keys = {k for k in before.keys() | after.keys() if before.get(k) is not after.get(k)}
        keys = {k for k in keys if k in new.workload_endpoints or k in old.workload_endpoints}
        if keys:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody to tell
                loop.call_soon_threadsafe(self._changed, keys, False)

    # ---- converge and report -----------------------------------------------------------

    async def _converge_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            session = self._session
            if session is None or not session.sync.in_sync:
                continue  # nothing reaches the dataplane before InSync
            try:
                result = await asyncio.to_thread(self.dataplane.converge, "felix")
            except Exception as e:
                self.stats.converge_failures += 1
                self.stats.problem(
                    f"converge failed: {e!r}; retrying in {self.settings.converge_retry:g} s"
                )
                await asyncio.sleep(self.settings.converge_retry)
                self._dirty.set()
                continue
            self.stats.converges += 1
            await self._report(result)

    async def _report(self, result: ConvergeResult) -> None:
        session = self._session
        if session is None or not self.settings.endpoint_status:
            return
        changes = self.statuses.evaluate(self.state.model, self.dataplane.desired, result)
        store = session.sync.store
        for change in changes:
            if self._send_status(session, change, store.endpoint_messages.get(change.key)):
                self.stats.status_updates += 1
        if changes:
            await session.drain()

    def _send_status(self, session: FelixSession, change: StatusChange, endpoint: object) -> bool:
        key = change.key
        wid = endpoint_id(change.orchestrator, key.workload_id, key.interface)
        if change.status is None:
            return session.send(session.encoder.endpoint_status_remove(wid))
        return session.send(
            session.encoder.endpoint_status(wid, change.status, endpoint)  # type: ignore[arg-type]
        )
