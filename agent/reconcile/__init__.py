"""Desired vs observed: the one place that decides what VPP calls to make.

Plugins render desired objects; :class:`Reconciler` reads VPP (once per
refresh), diffs, and applies the difference through agent.vpp. It keeps the
observed state between runs, so converging a few keys (a CNI ADD) costs a
diff of those keys and their VPP calls, not a dump of the whole of VPP; a
periodic :meth:`Reconciler.refresh` repairs drift.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Collection, Mapping

from agent.reconcile import neighbors as _neighbors  # noqa: F401  (registers static neighbours)
from agent.reconcile import npol as _npol  # noqa: F401  (registers the npol kinds)
from agent.reconcile import services as _services  # noqa: F401  (registers cnat/SNAT kinds)
from agent.reconcile.apply import Applier, ApplyReport
from agent.reconcile.diff import diff
from agent.reconcile.index import IndexWriteError, OwnershipIndex
from agent.reconcile.observe import Observed, observe
from agent.reconcile.plan import Change, Conflict, Op, Plan
from agent.vpp import (
    VppConnection,
    af_packet,
    cnat,
    interfaces,
    ip,
    ipip,
    memif,
    messages_of,
    tap,
    vpe,
    vxlan,
)
from agent.vpp import npol as npol_api  # not "npol": that is agent.reconcile.npol
from agent.vppobjects import VppObject

log = logging.getLogger(__name__)

REQUIRED_MESSAGES = messages_of(
    interfaces, ip, tap, af_packet, memif, vxlan, ipip, cnat, npol_api, vpe
)


class Reconciler:
    def __init__(
        self, conn: VppConnection, index_path: str | os.PathLike[str] | None = None
    ) -> None:
        self.conn = conn
        self.index = OwnershipIndex.load(index_path)
        self._observed: Observed | None = None
        self._lock = threading.RLock()

    def fold_journal(self) -> None:
        """Rewrite the index with its journal folded in (a clean stop), so that the file
        alone is whole: what an older vppnet, which knows no journal, would read."""
        with self._lock:
            path = self.index.journal_path
            if path is None or not path.exists():
                return
            self.index.dirty = True
            try:
                self.index.save()
            except IndexWriteError as e:  # the journal stays: the next start replays it
                log.error("%s", e)

    def refresh(self) -> Observed:
        """Read VPP afresh (start-up, periodic resync, after a failed apply)."""
        with self._lock:
            self._observed = observe(self.conn, self.index)
            return self._observed

    @property
    def last_observed(self) -> Observed | None:
        """The cached view of VPP without reading it (None after a failed apply): for metrics,
        which must neither wait for a converge in progress nor cause a read of VPP."""
        return self._observed

    @property
    def observed(self) -> Observed:
        with self._lock:
            return self._observed if self._observed is not None else self.refresh()

    def plan(
        self,
        desired: Mapping[str, VppObject],
        keys: Collection[str] | None = None,
        *,
        refresh: bool = False,
    ) -> Plan:
        with self._lock:
            observed = self.refresh() if refresh else self.observed
            return diff(desired, observed, keys)

    def apply(self, plan: Plan) -> ApplyReport:
        """Apply a plan made from the current observed state; save the index."""
        with self._lock:
            report = Applier(self.conn, self.observed, self.index).apply(plan)
            if self.index.needs_save:
                try:
                    self.index.save()
                except IndexWriteError as e:  # disk full, say: VPP has the change already
                    log.error("%s; the previous index is kept, saving again at the next apply", e)
            if not report.ok:
                self._observed = None  # a failure may leave VPP in a state we did not predict
            return report

    def converge(
        self, desired: Mapping[str, VppObject], keys: Collection[str] | None = None
    ) -> tuple[Plan, ApplyReport]:
        with self._lock:
            plan = self.plan(desired, keys)
            return plan, self.apply(plan)


__all__ = [
    "REQUIRED_MESSAGES",
    "ApplyReport",
    "Change",
    "Conflict",
    "Op",
    "Plan",
    "Reconciler",
]
