"""The BGP speaker: a supervised gobgpd, kept in step with the cluster model both ways.

Model -> gobgpd: on every model change (nodes, networks, pods, services,
Calico's BGP resources) a coalescing worker recomputes the global settings
(started once per gobgpd), the peers (:mod:`agent.bgp.peers`) and the
advertisements (:mod:`plugins.routing`), and makes gobgpd match them.

gobgpd -> model -> VPP: a thread follows gobgpd's best-path events; what
peers taught us (:mod:`agent.bgp.learned`) is written to
``model.learned_routes`` and the dataplane converges, so the connectivity and
networks plugins program those routes with the right encapsulation.

gobgpd crashing is noticed by a supervisor thread, which starts it again
after a doubling delay (reset once a gobgpd ran ``stable_after`` seconds),
re-adds the global settings, peers and paths, and keeps the routes learned
before as stale until the peers are back (graceful restart), so forwarding
does not stop. Problems with the configuration (a BGPPeer with a bad
selector, a missing Secret) are reported in :attr:`BgpSpeaker.status` and
logged once each; they never stop the speaker.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from agent.bgp import learned, paths
from agent.bgp.announcer import Announcer
from agent.bgp.client import GobgpClient
from agent.bgp.config import BgpSettings
from agent.bgp.errors import BgpApiError, BgpConfigError, BgpError
from agent.bgp.globalconf import global_config
from agent.bgp.learned import LearnedRib
from agent.bgp.peering import PeerManager, restart_complete, session_states
from agent.bgp.peers import SecretReader, desired_peers, local_asn
from agent.bgp.process import GobgpdProcess
from agent.dataplane import Dataplane
from agent.model import DEFAULT_NETWORK, ClusterModel
from agent.proto_gen import gobgp_pb2 as pb
from agent.state import ClusterState
from agent.vpp import VppError
from agent.worker import Backoff, DebouncedWorker
from plugins import routing

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0  # a failed gobgpd sync or learned-route flush runs again after this

_MODEL_FIELDS = tuple(
    f.name for f in dataclasses.fields(ClusterModel) if f.name != "learned_routes"
)


@dataclass
class BgpStatus:
    """What health checks, ``vppnet show`` and tests look at."""

    running: bool = False
    pid: int | None = None
    restarts: int = 0
    started: bool = False  # StartBgp done on the current gobgpd
    peers: dict[str, str] = field(default_factory=dict)  # address -> session state
    announced: int = 0
    learned: int = 0
    stale: int = 0
    problems: list[str] = field(default_factory=list)
    last_error: str = ""


class BgpSpeaker:
    def __init__(
        self,
        state: ClusterState,
        dataplane: Dataplane,
        settings: BgpSettings,
        *,
        secrets: SecretReader | None = None,
        learned_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.state = state
        self.dataplane = dataplane
        self.settings = settings
        self.secrets = secrets
        self.status = BgpStatus()
        self.rib = LearnedRib()
        self._announcer = Announcer()
        self._peers = PeerManager()
        self._process: GobgpdProcess | None = None
        self._client: GobgpClient | None = None
        self._lock = threading.RLock()  # one sync at a time; guards process/client swaps
        self._stopping = threading.Event()
        # start and stop run whole, one after the other: an agent torn down while its
        # speaker starts (the start's thread goes on after the await is cancelled) must
        # not have the start launch threads after the stop has joined them
        self._life = threading.Lock()
        self._restarting_until = 0.0  # > 0: after a crash, until the peers are back
        self._reported: set[str] = set()
        # told each newly found problem with a BGP object (BGPPeer x): Events, metrics
        self.observers: list[Callable[[BgpConfigError], None]] = []
        self._flushed = -1
        self._peers_synced = False  # the current gobgpd has been given its peers
        # where the learned routes are kept across agent restarts (None: not kept)
        self.learned_file = Path(learned_file) if learned_file is not None else None
        self._threads: list[threading.Thread] = []
        self._sync = DebouncedWorker(
            "bgp-sync",
            self._sync_once,
            debounce=settings.debounce_seconds,
            max_delay=settings.max_delay_seconds,
            backoff=Backoff(RETRY_SECONDS, RETRY_SECONDS),
        )
        self._flush = DebouncedWorker(
            "bgp-learned",
            self._flush_once,
            debounce=settings.debounce_seconds,
            max_delay=settings.max_delay_seconds,
            backoff=Backoff(RETRY_SECONDS, RETRY_SECONDS),
        )
        state.subscribe(self._on_model_change)
        if self.learned_file is not None and self.rib.restore(learned.load(self.learned_file)):
            # before the agent's first reconcile, which would otherwise delete their routes
            routes = self.rib.routes()
            state.update(
                lambda m: replace(m, learned_routes=routes),
                f"{len(routes)} BGP route(s) learned before the restart",
            )

    # -- life cycle --------------------------------------------------------------

    async def start(self) -> None:
        """Start gobgpd and everything around it; BgpError (e.g. no gobgpd) if it cannot."""
        await asyncio.to_thread(self.start_sync)

    async def stop(self) -> None:
        await asyncio.to_thread(self.stop_sync)

    def start_sync(self) -> None:
        with self._life:
            self._stopping.clear()
            process = GobgpdProcess(self.settings)  # GobgpdMissingError names the path
            with self._lock:
                self._launch(process, restarting=False)
            self._sync.start()
            self._flush.start()
            supervisor = threading.Thread(
                target=self._supervise, name="bgp-supervisor", daemon=True
            )
            supervisor.start()
            self._threads.append(supervisor)
            self._sync.trigger()

    def stop_sync(self) -> None:
        """Stop gobgpd (its peers see a clean Cease) and the threads. Learned routes stay
        in the model: VPP keeps forwarding while the agent is away."""
        with self._life:
            self._stopping.set()
            self._sync.stop()
            self._flush.stop()
            with self._lock:
                if self._client is not None:
                    self._client.close()
                    self._client = None
                if self._process is not None:
                    self._process.stop()
            for thread in self._threads:
                thread.join(5)
            self._threads = []
            self.status.running = False

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Until the pending model sync and learned-route flush are done (tests)."""
        deadline = time.monotonic() + timeout
        return self._sync.wait_idle(timeout) and self._flush.wait_idle(
            max(0.0, deadline - time.monotonic())
        )

    def kill_gobgpd(self) -> None:
        """SIGKILL gobgpd, as a crash would (fault-injection for tests and drills)."""
        with self._lock:
            if self._process is not None:
                self._process.kill()

    def resync(self) -> None:
        """Re-read gobgpd's RIB and peers, then sync (the agent's periodic drift repair)."""
        with self._lock:
            if self._client is not None:
                try:
                    self._announcer.read(self._client)
                except BgpApiError as e:
                    self.status.last_error = str(e)
        self._sync.trigger()

    # -- gobgpd ------------------------------------------------------------------

    def _launch(self, process: GobgpdProcess, restarting: bool) -> None:
        """Start a gobgpd and follow it; the caller holds the lock."""
        process.start()
        self._process = process
        self._client = GobgpClient(process.target, self.settings.request_timeout)
        self._announcer = Announcer()
        self._peers.reset()
        self._peers_synced = False
        self.status.started = False
        self.status.running = True
        self.status.pid = process.pid
        if restarting:
            self.rib.begin_restart()
        if restarting or self.rib.stale_count:  # a crash, or routes kept from before a restart
            self._restarting_until = time.monotonic() + self.settings.graceful_restart.restart_time
        watcher = threading.Thread(
            target=self._watch, args=(self._client,), name="bgp-watch", daemon=True
        )
        watcher.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [watcher]

    def _supervise(self) -> None:
        delay = self.settings.restart_backoff_initial
        launched = time.monotonic()
        while not self._stopping.wait(0.2):
            process = self._process
            if process is not None and process.alive():
                if time.monotonic() - launched >= self.settings.stable_after:
                    delay = self.settings.restart_backoff_initial
                self._check_restart()
                continue
            if process is not None:
                self.status.running = False
                log.error(
                    "gobgpd exited (status %s); restarting in %.1f s. Its last output:\n%s",
                    process.wait(0),
                    delay,
                    process.output() or "(none)",
                )
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, self.settings.restart_backoff_max)
            try:
                with self._lock:
                    if self._stopping.is_set():
                        return
                    if self._client is not None:
                        self._client.close()
                    self._launch(GobgpdProcess(self.settings), restarting=True)
            except BgpError as e:
                self.status.last_error = str(e)
                log.error("cannot restart gobgpd: %s", e)
                continue
            self.status.restarts += 1
            launched = time.monotonic()
            self._sync.trigger()

    def _check_restart(self) -> None:
        """End the stale phase once every peer is back with its table, or time is up."""
        if not self._restarting_until:
            return
        client = self._client
        try:
            # peers not given yet would look like "no peer left to wait for"
            done = client is not None and self._peers_synced and restart_complete(client.peers())
        except BgpApiError:
            done = False
        if done or time.monotonic() >= self._restarting_until:
            self._restarting_until = 0.0
            dropped = self.rib.end_restart()
            log.info("BGP graceful restart over; %d stale route(s) not learned again", dropped)
            self._flush.trigger()
            self._sync.trigger()  # later peer changes no longer carry the restarting flag

    # -- model -> gobgpd ---------------------------------------------------------

    def _on_model_change(self, old: ClusterModel, new: ClusterModel, _reason: str) -> None:
        if self._stopping.is_set():
            return
        if any(getattr(old, name) is not getattr(new, name) for name in _MODEL_FIELDS):
            self._sync.trigger()

    def _sync_once(self) -> bool:
        with self._lock:
            client = self._client
            if client is None or self._stopping.is_set():
                return True
            model = self.state.model
            problems: list[str] = []
            try:
                if not self.status.started:
                    self._start_bgp(client, model)
                plan = desired_peers(model, self.settings, self.secrets)
                problems += [str(p) for p in plan.problems]
                self._tell([p for p in plan.problems if str(p) not in self._reported])
                restarting = bool(self._restarting_until)
                problems += self._peers.sync(
                    client, plan.peers, self.settings.graceful_restart, restarting
                )
                self._peers_synced = True
                local = model.nodes.get(model.local_node_name)
                asn = local_asn(model, self.settings, local) if local is not None else 0
                problems += self._announcer.sync(client, routing.render(model), asn)
                self.status.peers = session_states(client.peers())
            except BgpConfigError as e:
                problems.append(str(e))
            except BgpApiError as e:
                self.status.last_error = str(e)
                self._report([*problems, str(e)])
                return False
            self.status.announced = self._announcer.count
            self._report(problems)
            return True

    def _start_bgp(self, client: GobgpClient, model: ClusterModel) -> None:
        config = global_config(model, self.settings)
        if client.get_global().asn == 0:
            client.start(config)
        self.status.started = True
        self._announcer.read(client)  # empty for a fresh gobgpd; whatever it kept otherwise
        log.info("BGP started: AS %d, router id %s", config.asn, config.router_id)

    def _tell(self, problems: list[BgpConfigError]) -> None:
        for problem in problems:
            for observer in self.observers:
                try:
                    observer(problem)
                except Exception:  # telemetry must never stop the BGP sync
                    log.exception("BGP problem observer failed")

    def _report(self, problems: list[str]) -> None:
        self.status.problems = problems
        for problem in problems:
            if problem not in self._reported:
                log.warning("BGP: %s", problem)
        self._reported = set(problems)

    # -- gobgpd -> model -> VPP --------------------------------------------------

    def _watch(self, client: GobgpClient) -> None:
        """Follow one gobgpd's events. A stream lost while that gobgpd still runs is
        opened again; its first events replay the current table."""
        while not self._stopping.is_set() and self._client is client:
            try:
                for event in client.watch():
                    if event.HasField("table"):
                        if any(self._learn(path) for path in event.table.paths):
                            self._flush.trigger()
                    elif event.HasField("peer") and event.peer.type == event.peer.STATE:
                        self._sync.trigger()  # refresh the session states shown in status
            except BgpApiError as e:
                process = self._process
                if self._stopping.is_set() or self._client is not client:
                    return
                if process is None or not process.alive():
                    return  # the supervisor restarts gobgpd and follows the new one
                log.warning("BGP event stream lost (%s); following it again", e)
            self._stopping.wait(1.0)

    def _learn(self, path: pb.Path) -> bool:
        try:
            decoded = paths.decode(path)
        except ValueError:
            return False  # a family vppnet does not route (EVPN, flowspec...)
        network = DEFAULT_NETWORK
        if decoded.vni is not None:
            found = next(
                (n.name for n in self.state.model.networks.values() if n.vni == decoded.vni), None
            )
            if found is None:
                return False  # a VPN route of no network we know
            network = found
        return self.rib.apply(decoded, network)

    def _flush_once(self) -> bool:
        version = self.rib.version
        routes = self.rib.routes()
        if version != self._flushed:
            self.state.update(
                lambda m: replace(m, learned_routes=routes), f"{len(routes)} BGP route(s)"
            )
            self._flushed = version
            if self.learned_file is not None:
                try:
                    learned.save(self.learned_file, routes.values())
                except OSError as e:
                    log.error("cannot keep the learned BGP routes in %s: %s", self.learned_file, e)
        self.status.learned = len(routes)
        self.status.stale = self.rib.stale_count
        try:
            result = self.dataplane.converge("bgp")
        except VppError as e:
            self.status.last_error = f"programming learned routes: {e}"
            return False
        for change, why in result.report.failed:
            log.warning("BGP route %s not programmed: %s", change.key, why)
        return result.report.ok
