"""Model -> VPP, incrementally: what the agent's sources call after changing the model.

The dataplane renders the whole desired state from the current model (pure
and cheap at node scale), compares it with what it rendered last time, and
asks the reconciler to converge only the keys that changed, plus those that
failed before. So a CNI ADD programs one pod's objects and nothing else, and
a failed object is retried at the next converge instead of being forgotten.
A resync (start-up, periodic) reads VPP afresh and converges everything,
which repairs drift made behind the agent's back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from agent.model import ClusterModel
from agent.reconcile import ApplyReport, Plan, Reconciler
from agent.state import ClusterState
from agent.vppobjects import VppObject
from plugins.incremental import Desired

log = logging.getLogger(__name__)

Render = Callable[[ClusterModel], Mapping[str, VppObject]]


@dataclass
class ConvergeResult:
    plan: Plan
    report: ApplyReport
    keys: frozenset[str] = field(default_factory=frozenset)  # what this run looked at

    def errors_for(self, keys: Collection[str]) -> list[str]:
        """Why any of ``keys`` did not land (failed, skipped or in conflict)."""
        wanted = set(keys)
        errors = [f"{c.key}: {why}" for c, why in self.report.failed if c.key in wanted]
        errors += [f"{c.key}: skipped, {why}" for c, why in self.report.skipped if c.key in wanted]
        errors += [
            f"{c.obj.key}: held by a foreign {c.holder}"
            for c in self.plan.conflicts
            if c.obj.key in wanted
        ]
        return errors


def changed_keys(old: Mapping[str, VppObject], new: Mapping[str, VppObject]) -> set[str]:
    """The keys whose object differs; told by an incremental render, else compared
    (unchanged objects are usually the very same object, which costs nothing)."""
    if isinstance(new, Desired) and new.derived_from(old):
        return set(new.changed)
    return {
        k
        for k in new.keys() | old.keys()
        if old.get(k) is not new.get(k) and old.get(k) != new.get(k)
    }


ConvergeObserver = Callable[[str, float, ConvergeResult], None]
"""Told (trigger, seconds, result) after every converge and resync: the metrics' hook."""


class Dataplane:
    def __init__(self, state: ClusterState, reconciler: Reconciler, render: Render) -> None:
        self.state = state
        self.reconciler = reconciler
        self.render = render
        self.observers: list[ConvergeObserver] = []
        self._desired: Mapping[str, VppObject] = {}
        self._pending: set[str] = set()
        self._rendered = -1  # the state version the last render was of
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """How many keys failed, were skipped or are held by others, to retry next time."""
        return len(self._pending)

    def _observe(self, trigger: str, started: float, result: ConvergeResult) -> None:
        seconds = time.monotonic() - started
        for observer in self.observers:
            try:
                observer(trigger, seconds, result)
            except Exception:  # telemetry must never fail a converge
                log.exception("converge observer failed")

    @property
    def desired(self) -> Mapping[str, VppObject]:
        """What the last converge aimed for."""
        return self._desired

    def converge(self, trigger: str = "other") -> ConvergeResult:
        """Program what changed in the model since the last converge (and past failures).

        ``trigger`` names the source that asks (cni, felix, kubernetes, bgp) for the metrics.
        """
        wanted = self.state.version  # the caller's change is in the model by now
        with self._lock:
            if self._rendered >= wanted and not self._pending:
                # a converge run meanwhile (another CNI ADD's, say) rendered and programmed
                # this change already: rendering again would find nothing to do
                return ConvergeResult(Plan(), ApplyReport(), frozenset())
            started = time.monotonic()
            version = self.state.version  # first: the model read next is at least as new
            desired = self.render(self.state.model)
            old = self._desired
            keys = frozenset(changed_keys(old, desired) | self._pending)
            if not keys:
                self._desired = desired
                self._rendered = version
                return ConvergeResult(Plan(), ApplyReport(), keys)
            plan, report = self.reconciler.converge(desired, keys)
            result = self._finish(desired, plan, report, keys)
            self._rendered = version
            self._observe(trigger, started, result)
            return result

    def resync(self, trigger: str = "resync") -> ConvergeResult:
        """Read VPP afresh and converge every key; the plan lists what drift was repaired."""
        with self._lock:
            started = time.monotonic()
            desired = self.render(self.state.model)
            plan = self.reconciler.plan(desired, refresh=True)
            report = self.reconciler.apply(plan)
            if plan.changes:
                log.info(
                    "resync applied %d change(s): %s",
                    len(plan.changes),
                    ", ".join(c.key for c in plan.changes[:10]),
                )
            result = self._finish(desired, plan, report, frozenset(desired))
            self._observe(trigger, started, result)
            return result

    def _finish(
        self,
        desired: Mapping[str, VppObject],
        plan: Plan,
        report: ApplyReport,
        keys: frozenset[str],
    ) -> ConvergeResult:
        self._desired = desired
        self._pending = (
            {c.key for c, _ in report.failed}
            | {c.key for c, _ in report.skipped}
            | {c.obj.key for c in plan.conflicts}
        )
        return ConvergeResult(plan, report, keys)
