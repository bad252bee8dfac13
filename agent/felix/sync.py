"""The sync state machine of one Felix connection.

::

    WAITING_FOR_CONFIG --ConfigUpdate--> SYNCING --InSync--> IN_SYNC

Felix always sends its ConfigUpdate first, then its datastore snapshot, then
InSync once, then incremental updates. Every message is stored from
ConfigUpdate on; the caller turns the store into the model at InSync and
applies each later batch incrementally, so nothing reaches the dataplane
before Felix's snapshot is complete.

Configuration changes: Felix restarts itself (and so its driver) when any
parameter other than :data:`RESTART_FREE_KEYS` changes, and likewise when the
encapsulation it started with changes. The machine records such a change as
``restart_expected`` and keeps applying messages: they are still Felix's
truth, and the restarted Felix will resend everything on a new connection,
which starts a new machine. Nothing needs the agent itself to restart:
plugins read Felix's config from the model, so a new snapshot reconfigures
them.

Out-of-order messages (anything before ConfigUpdate, a second InSync) are
protocol violations: reported and ignored, never fatal.
"""

from __future__ import annotations

import logging
from enum import Enum, StrEnum
from typing import Final

from google.protobuf.message import Message

from agent.felix.changes import ChangeSet
from agent.felix.store import FelixStore
from agent.proto_gen import felixbackend_pb2 as pb

log = logging.getLogger(__name__)

RESTART_FREE_KEYS: Final = frozenset(
    {"CalicoVersion", "ClusterGUID", "ClusterType", "HealthTimeoutOverrides"}
)
"""The config parameters Felix changes without restarting itself."""


class SyncState(StrEnum):
    WAITING_FOR_CONFIG = "waiting-for-config"
    SYNCING = "syncing"
    IN_SYNC = "in-sync"


class Outcome(Enum):
    APPLIED = "applied"
    REACHED_IN_SYNC = "reached-in-sync"


TRANSITIONS: Final = {
    (SyncState.WAITING_FOR_CONFIG, "config_update"): SyncState.SYNCING,
    (SyncState.SYNCING, "in_sync"): SyncState.IN_SYNC,
}
"""(state, payload) -> next state; every other payload keeps the state."""


class ProtocolViolationError(ValueError):
    """A message Felix would never send in the current state; it is ignored."""


class FelixSync:
    """State machine plus store for one connection (a new Felix means a new machine)."""

    def __init__(self) -> None:
        self.state = SyncState.WAITING_FOR_CONFIG
        self.store = FelixStore()
        self.restart_expected: str | None = None
        self._encapsulation: pb.Encapsulation | None = None

    @property
    def in_sync(self) -> bool:
        return self.state is SyncState.IN_SYNC

    def handle(self, kind: str, message: Message, changes: ChangeSet) -> Outcome:
        """Store one payload and advance the state.

        Raises :class:`ProtocolViolationError` for an out-of-order message and
        :class:`~agent.felix.convert_policy.ConversionError` for one that does not
        convert; in both cases nothing changed.
        """
        if self.state is SyncState.WAITING_FOR_CONFIG and kind != "config_update":
            raise ProtocolViolationError(f"{kind} before Felix's first ConfigUpdate; ignored")
        if kind == "in_sync" and self.state is SyncState.IN_SYNC:
            raise ProtocolViolationError("a second InSync from the same Felix; ignored")
        if kind == "config_update" and self.state is not SyncState.WAITING_FOR_CONFIG:
            assert isinstance(message, pb.ConfigUpdate)
            self._check_restart(dict(message.config))
        if kind == "encapsulation":
            assert isinstance(message, pb.Encapsulation)
            self._check_encapsulation(message)
        self.store.apply(kind, message, changes)
        following = TRANSITIONS.get((self.state, kind))
        if following is None:
            return Outcome.APPLIED
        log.info("felix sync: %s -> %s", self.state, following)
        self.state = following
        return Outcome.REACHED_IN_SYNC if following is SyncState.IN_SYNC else Outcome.APPLIED

    def _check_restart(self, config: dict[str, str]) -> None:
        old = self.store.config
        changed = sorted(
            key
            for key in old.keys() | config.keys()
            if old.get(key) != config.get(key) and key not in RESTART_FREE_KEYS
        )
        if changed:
            self._expect_restart(f"Felix config changed ({', '.join(changed)})")

    def _check_encapsulation(self, message: pb.Encapsulation) -> None:
        if self._encapsulation is None:
            self._encapsulation = message
        elif self._encapsulation != message:
            self._expect_restart("Felix's encapsulation changed")

    def _expect_restart(self, why: str) -> None:
        self.restart_expected = why
        log.warning(
            "%s: Felix restarts itself and its driver; the new Felix resyncs everything "
            "on a new connection (until then the update is applied as sent)",
            why,
        )
