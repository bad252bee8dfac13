"""One Felix connection: frames in, model updates out, status frames back.

Reading never stops while the connection lives (Felix blocks when its pipe is
full, and the proxy's journal would grow): each read is decoded and applied
as one batch, and the batch's effect on the model is a single
``ClusterState.update`` (split every ``batch_messages`` messages). Garbled
frames, unknown payloads and messages that do not convert are reported and
skipped; nothing a peer sends ends the connection or the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from agent.felix import messages, projection
from agent.felix.changes import ChangeSet
from agent.felix.config import FelixSettings
from agent.felix.convert_policy import ConversionError
from agent.felix.framing import (
    FrameDecoder,
    FrameEvent,
    Oversize,
    Truncated,
    encode_frame,
    read_frames,
)
from agent.felix.stats import FelixStats
from agent.felix.sync import FelixSync, Outcome, ProtocolViolationError
from agent.model import PodInterfaceKey
from agent.state import ClusterState

log = logging.getLogger(__name__)

DEFAULT_REPORTING_INTERVAL = 30.0  # Felix's ReportingIntervalSecs default

Changed = Callable[[set[PodInterfaceKey], bool], None]
"""``changed(endpoint_keys, full)``: the model changed after InSync (``full``: a snapshot)."""


class ModelWriter:
    """Writes Felix's store into the model; remembers which pools and nodes are Felix's.

    Shared by successive connections, so a new Felix's snapshot withdraws what the
    previous one contributed and no longer mentions.
    """

    def __init__(self, state: ClusterState, stats: FelixStats) -> None:
        self.state = state
        self.stats = stats
        self.ownership = projection.Ownership()

    def snapshot(self, sync: FelixSync) -> bool:
        change, owned = projection.full(sync.store, self.ownership)
        return self._update(change, owned, "felix: in sync, snapshot applied")

    def batch(self, sync: FelixSync, changes: ChangeSet) -> bool:
        change, owned = projection.incremental(changes, sync.store, self.ownership)
        return self._update(change, owned, changes.summary())

    def _update(
        self, change: projection.ModelChange, owned: projection.Ownership, reason: str
    ) -> bool:
        try:
            self.state.update(change, reason)
        except Exception as e:  # the model refused the change: keep the old one, say why
            self.stats.internal_errors += 1
            self.stats.problem(f"model update failed ({reason}): {e}")
            log.exception("felix model update failed")
            return False
        self.ownership = owned
        self.stats.model_updates += 1
        return True


class FelixSession:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        settings: FelixSettings,
        stats: FelixStats,
        model: ModelWriter,
        changed: Changed,
        started: float,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.settings = settings
        self.stats = stats
        self.model = model
        self.changed = changed
        self.started = started  # monotonic time the agent's driver started (for uptime)
        self.sync = FelixSync()
        self.encoder = messages.StatusEncoder()
        self.active = True  # False once replaced by a newer connection or closed
        self._heartbeat: asyncio.Task[None] | None = None

    async def run(self) -> None:
        """Read until EOF (or until closed); never raises for anything the peer sent."""
        decoder = FrameDecoder(self.settings.max_frame_bytes)
        try:
            async for events in read_frames(self.reader, decoder):
                if not self.active:
                    break
                self.process(events)
        except (ConnectionError, OSError) as e:
            log.info("felix connection error: %s", e)
        except Exception:  # a bug: end this connection (the proxy reconnects), not the agent
            self.stats.internal_errors += 1
            log.exception("felix connection failed")
        finally:
            self.close()
            log.info("felix connection ended in state %s", self.sync.state)

    def process(self, events: list[FrameEvent]) -> None:
        changes = ChangeSet()
        pending = 0
        for event in events:
            if not isinstance(event, bytes):
                self._framing_problem(event)
                continue
            self.stats.frames += 1
            outcome = self._handle(event, changes)
            if outcome is Outcome.REACHED_IN_SYNC:
                self._reached_in_sync()
                changes, pending = ChangeSet(), 0
            elif outcome is not None and self.sync.in_sync:
                pending += 1
                if pending >= self.settings.batch_messages:
                    self._apply(changes)
                    changes, pending = ChangeSet(), 0
        if changes and self.sync.in_sync:
            self._apply(changes)

    def _handle(self, frame: bytes, changes: ChangeSet) -> Outcome | None:
        try:
            envelope = messages.decode(frame)
        except messages.MalformedMessageError as e:
            self.stats.malformed += 1
            self.stats.problem(str(e))
            return None
        if envelope.kind is None or envelope.payload is None:
            self._unknown(envelope)
            return None
        try:
            outcome = self.sync.handle(envelope.kind, envelope.payload, changes)
        except (ConversionError, ProtocolViolationError) as e:
            self.stats.rejected += 1
            self.stats.problem(f"{envelope.kind} rejected: {e}")
            return None
        except Exception as e:  # a bug must cost one message, not the connection
            self.stats.internal_errors += 1
            self.stats.problem(f"{envelope.kind} failed: {e!r}")
            log.exception("felix: handling %s failed", envelope.kind)
            return None
        finally:
            for problem in self.sync.store.problems:
                self.stats.problem(problem)
            self.sync.store.problems.clear()
        self.stats.messages += 1
        if envelope.kind == "config_update":
            self._configured()
        return outcome

    def _framing_problem(self, event: Oversize | Truncated) -> None:
        if isinstance(event, Oversize):
            self.stats.oversize += 1
        else:
            self.stats.truncated += 1
        self.stats.problem(str(event))

    def _unknown(self, envelope: messages.Envelope) -> None:
        if not envelope.unknown_fields:
            self.stats.empty_envelopes += 1
            self.stats.problem_once("empty", "empty ToDataplane envelope (no payload); ignored")
            return
        self.stats.unknown_payloads += 1
        for number in envelope.unknown_fields:
            self.stats.problem_once(
                f"unknown-{number}",
                f"ToDataplane payload field {number} is unknown to this vppnet; ignored",
            )

    def _reached_in_sync(self) -> None:
        if self.active and self.model.snapshot(self.sync):
            self.changed(set(self.sync.store.workload_endpoints), True)

    def _apply(self, changes: ChangeSet) -> None:
        if self.active and self.model.batch(self.sync, changes):
            self.changed(changes.workload_endpoints.keys(), False)

    # ---- replies ------------------------------------------------------------------

    def send(self, payload: bytes) -> bool:
        if not self.active or self.writer.is_closing():
            return False
        self.writer.write(encode_frame(payload))
        return True

    async def drain(self) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.drain()

    def _configured(self) -> None:
        hostname = self.sync.store.config.get("FelixHostname")
        local = self.model.state.model.local_node_name
        if hostname and hostname != local:
            self.stats.problem(
                f"Felix runs for node {hostname!r} but this agent is node {local!r}; "
                "its endpoints are applied anyway"
            )
        if self._heartbeat is None:
            self._heartbeat = asyncio.get_running_loop().create_task(self._heartbeats())

    def reporting_interval(self) -> float:
        """Seconds between process status reports; 0 disables them (as in Felix)."""
        if self.settings.status_interval is not None:
            return self.settings.status_interval
        raw = self.sync.store.config.get("ReportingIntervalSecs", "")
        try:
            return max(0.0, float(raw.removesuffix("s"))) if raw else DEFAULT_REPORTING_INTERVAL
        except ValueError:
            return DEFAULT_REPORTING_INTERVAL

    async def _heartbeats(self) -> None:
        while self.active:
            interval = self.reporting_interval()
            if interval <= 0:
                return
            uptime = time.monotonic() - self.started
            if self.send(self.encoder.process_status(uptime)):
                self.stats.heartbeats += 1
                await self.drain()
            await asyncio.sleep(interval)

    def close(self) -> None:
        self.active = False
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        self.writer.close()

    async def wait_closed(self) -> None:
        """After :meth:`close`: wait for the heartbeat task to finish."""
        if self._heartbeat is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
