"""The agent's event metrics: what happened (converges, CNI requests, errors, drift).

Everything is registered in the agent's own ``CollectorRegistry``, never the
process-global one, so a test can run several agents in one process and
each scrape shows one agent. State that already exists elsewhere (readiness,
VPP's counters, owned objects) is not copied here but read at scrape time by
:mod:`agent.telemetry.collector`.

The hooks below are what the layers call; they take plain values (a trigger
name, seconds, a ConvergeResult) so that no layer below the runtime imports
prometheus_client.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram

from agent.bgp.errors import BgpConfigError
from agent.dataplane import ConvergeResult
from agent.reconcile import Change

log = logging.getLogger(__name__)

LATENCY_BUCKETS: Final = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
DRIFT_LOG_KEYS: Final = 10
"""Keys named in the drift warning; the rest are counted."""


def kind_of(change: Change) -> str:
    """The desired-object kind (agent/vppobjects.py class name) a change is about."""
    return type(change.obj).__name__


class AgentMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.converge_seconds = Histogram(
            "vppnet_converge_duration_seconds",
            "Time to program one converge (model change to VPP), by what triggered it",
            ["trigger"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.changes = Counter(
            "vppnet_changes_applied",
            "VPP objects created, updated or deleted by the reconciler",
            ["kind", "operation"],
            registry=registry,
        )
        self.vpp_calls = Counter(
            "vppnet_vpp_calls",
            "VPP API calls made by the reconciler's apply",
            registry=registry,
        )
        self.cni_seconds = Histogram(
            "vppnet_cni_request_duration_seconds",
            "Time to answer a CNI ADD or DEL, by operation and result",
            ["operation", "result"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.errors = Counter(
            "vppnet_errors",
            "Errors by kind (apply, skipped, conflict, resync, vpp_lost, cni_add, cni_del, "
            "kubernetes_object, bgp_config)",
            ["kind"],
            registry=registry,
        )
        self.resyncs = Counter(
            "vppnet_resyncs",
            "Full reads of VPP followed by a converge, by reason",
            ["reason"],
            registry=registry,
        )
        self.drift = Counter(
            "vppnet_drift_repaired",
            "Objects the periodic resync had to create, update or delete (drift)",
            ["kind"],
            registry=registry,
        )
        self.k8s_events = Counter(
            "vppnet_kubernetes_events",
            "Kubernetes Events vppnet reported, by involved object kind and reason",
            ["object_kind", "reason"],
            registry=registry,
        )
        for kind in ("apply", "skipped", "conflict", "resync", "vpp_lost", "cni_add", "cni_del"):
            self.errors.labels(kind)  # present at 0 from the first scrape

    # -- hooks ---------------------------------------------------------------------
    def converged(self, trigger: str, seconds: float, result: ConvergeResult) -> None:
        """The dataplane's observer: one converge or resync finished."""
        if not result.keys and not result.plan.changes:
            return  # nothing to do is not a converge worth timing
        self.converge_seconds.labels(trigger).observe(seconds)
        report = result.report
        self.vpp_calls.inc(report.calls)
        for change in report.applied:
            self.changes.labels(kind_of(change), change.op.value).inc()
        if report.failed:
            self.errors.labels("apply").inc(len(report.failed))
        if report.skipped:
            self.errors.labels("skipped").inc(len(report.skipped))
        if result.plan.conflicts:
            self.errors.labels("conflict").inc(len(result.plan.conflicts))

    def resynced(self, reason: str, result: ConvergeResult | None) -> None:
        """A resync ran (None: it failed); a periodic one counts and names its repairs.

        ``reason`` is the runtime's (start-up, periodic, VPP came back), slugged for a label.
        """
        reason = reason.lower().replace(" ", "-")
        self.resyncs.labels(reason).inc()
        if result is None:
            self.errors.labels("resync").inc()
            return
        if reason != "periodic" or not result.plan.changes:
            return
        changes = result.plan.changes
        for kind, n in Tally(kind_of(c) for c in changes).items():
            self.drift.labels(kind).inc(n)
        named = ", ".join(f"{c.op.value} {c.key}" for c in changes[:DRIFT_LOG_KEYS])
        more = f" and {len(changes) - DRIFT_LOG_KEYS} more" if len(changes) > DRIFT_LOG_KEYS else ""
        log.warning(
            "periodic resync repaired drift in %d object(s): %s%s",
            len(changes),
            named,
            more,
            extra={"drift_repaired": len(changes)},
        )

    def cni(self, operation: str, ok: bool, seconds: float) -> None:
        self.cni_seconds.labels(operation, "success" if ok else "failure").observe(seconds)
        if not ok:
            self.errors.labels(f"cni_{operation}").inc()

    def bgp_problem(self, error: BgpConfigError) -> None:
        """The BGP speaker's observer: a BGP peer or setting it had to skip (newly found)."""
        self.errors.labels("bgp_config").inc()

    def vpp_lost(self) -> None:
        self.errors.labels("vpp_lost").inc()

    def event(self, object_kind: str, reason: str, kind: str) -> None:
        """A Kubernetes Event went out; a Warning is a user-facing error."""
        self.k8s_events.labels(object_kind, reason).inc()
        if kind == "Warning":
            self.errors.labels("kubernetes_object").inc()
