"""Apply a plan: phase by phase, each phase pipelined, errors kept per object.

One object failing (VPP refuses it, or a reference cannot be resolved)
fails that change and skips the changes that need it, and the rest of the
plan still applies. Only a lost connection stops the run. The observed
state and the ownership index are updated as changes land, so the next
plan starts from the truth.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from agent.reconcile.index import OwnershipIndex, tag_for
from agent.reconcile.observe import Observed
from agent.reconcile.plan import Change, Op, Plan, describe
from agent.reconcile.steps import Phase, Step, UnresolvedError, steps_for
from agent.vpp.connection import VppConnection
from agent.vpp.errors import VppError
from agent.vpp.request import Request
from agent.vppobjects import (
    INTERFACE_TYPES,
    NPOL_TYPES,
    CnatTranslation,
    InterfaceAddress,
    InterfaceSettings,
    MemifSocket,
    Route,
    VppName,
)

log = logging.getLogger(__name__)

Recorder = Callable[[Change, Observed, OwnershipIndex], None]
EXTRA_RECORDERS: list[Recorder] = []
"""Feature modules keeping index records of their own kinds; they register on import."""


@dataclass
class ApplyReport:
    applied: list[Change] = field(default_factory=list)
    failed: list[tuple[Change, str]] = field(default_factory=list)
    skipped: list[tuple[Change, str]] = field(default_factory=list)
    calls: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped

    def render(self) -> str:
        lines = [f"  failed  {describe(c.obj)}: {why}" for c, why in self.failed]
        lines += [f"  skipped {describe(c.obj)}: {why}" for c, why in self.skipped]
        head = (
            f"applied {len(self.applied)} change(s) in {self.calls} VPP call(s)"
            + (f", {len(self.failed)} failed" if self.failed else "")
            + (f", {len(self.skipped)} skipped" if self.skipped else "")
        )
        return "\n".join([head, *lines])


class Applier:
    def __init__(self, conn: VppConnection, observed: Observed, index: OwnershipIndex) -> None:
        self.conn = conn
        self.observed = observed
        self.index = index

    def apply(self, plan: Plan) -> ApplyReport:
        report = ApplyReport()
        work = [(change, steps_for(change)) for change in plan.changes]
        failed: dict[int, str] = {}  # position in work -> why
        failed_keys: set[str] = set()
        for phase in Phase:
            batch: list[tuple[int, Step, Request[Any]]] = []
            for pos, (change, steps) in enumerate(work):
                if pos in failed:
                    continue
                blocked = self._blocked(change, failed_keys) if failed_keys else ""
                if blocked:
                    failed[pos] = blocked
                    report.skipped.append((change, blocked))
                    continue
                for step in steps:
                    if step.phase != phase or pos in failed:
                        continue
                    try:
                        batch.append((pos, step, step.build(self.observed)))
                    except UnresolvedError as e:
                        self._fail(report, failed, failed_keys, pos, change, str(e))
            if not batch:
                continue
            results = self.conn.pipeline([req for _, _, req in batch])
            report.calls += len(batch)
            for (pos, step, _req), result in zip(batch, results, strict=True):
                change = work[pos][0]
                if isinstance(result, VppError):
                    if pos not in failed:
                        self._fail(report, failed, failed_keys, pos, change, str(result))
                elif step.done is not None:
                    step.done(result, self.observed)
        debug = log.isEnabledFor(logging.DEBUG)
        for pos, (change, _steps) in enumerate(work):
            if pos not in failed:
                self._record(change)
                report.applied.append(change)
                if debug:  # one line per programmed change
                    kind = type(change.obj).__name__
                    log.debug(
                        "%s %s %s",
                        change.op.value,
                        kind,
                        change.key,
                        extra={"operation": change.op.value, "kind": kind, "key": change.key},
                    )
            else:
                self._record_partial(change)
        return report

    def _blocked(self, change: Change, failed_keys: set[str]) -> str:
        if change.op is Op.DELETE:
            return ""
        for need in change.obj.needs():
            if need in failed_keys:
                return f"needs {need}, which failed"
        return ""

    def _fail(
        self,
        report: ApplyReport,
        failed: dict[int, str],
        failed_keys: set[str],
        pos: int,
        change: Change,
        why: str,
    ) -> None:
        failed[pos] = why
        report.failed.append((change, why))
        if change.op is not Op.DELETE:
            failed_keys.add(change.key)
        log.warning("%s %s failed: %s", change.op.value, change.key, why)

    def _record(self, change: Change) -> None:
        """Bring the observed cache and the ownership index in line with a landed change."""
        obj, o, index = change.obj, self.observed, self.index
        # an updated route or translation keeps its index entry; an npol object's record
        # is journaled by its recorder: neither needs the index rewritten
        kept = change.op is Op.UPDATE and isinstance(obj, Route | CnatTranslation)
        if not kept and not isinstance(obj, NPOL_TYPES):
            index.dirty = True
        for recorder in EXTRA_RECORDERS:
            recorder(change, o, index)
        if change.op is Op.DELETE:
            o.objects.pop(change.key, None)
            if isinstance(obj, INTERFACE_TYPES):
                index.interfaces.pop(tag_for(obj.name), None)
            elif isinstance(obj, Route):
                index.routes.discard(change.key)
            elif isinstance(obj, CnatTranslation):
                index.cnat.discard(change.key)
                o.cnat_ids.pop(change.key, None)
            elif isinstance(obj, MemifSocket):
                index.memif_sockets.pop(obj.name, None)
                o.memif_socket_ids.pop(obj.name, None)
            elif isinstance(obj, InterfaceAddress):
                index.addresses.discard(change.key)
            return
        o.objects[change.key] = obj
        for stale in (o.foreign, o.unowned, o.unseen):
            stale.pop(change.key, None)
        if isinstance(obj, INTERFACE_TYPES):
            index.interfaces[tag_for(obj.name)] = obj
        elif isinstance(obj, Route):
            index.routes.add(change.key)
            o.overridable.discard(change.key)
        elif isinstance(obj, CnatTranslation):
            index.cnat.add(change.key)
        elif isinstance(obj, MemifSocket):
            index.memif_sockets[obj.name] = obj.path
        elif isinstance(obj, InterfaceAddress) and isinstance(obj.interface, VppName):
            index.addresses.add(change.key)

    def _record_partial(self, change: Change) -> None:
        """An interface made but not fully set up: remember it with unknown settings.

        The next plan then sees settings that differ from the desired ones and
        applies them again, instead of trusting a record of calls that failed.
        """
        obj = change.obj
        if (
            change.op is Op.CREATE
            and isinstance(obj, INTERFACE_TYPES)
            and obj.name in self.observed.sw_if_index
        ):
            partial = replace(obj, settings=InterfaceSettings(admin_up=False))
            self.observed.objects[change.key] = partial
            self.index.interfaces[tag_for(obj.name)] = partial
