"""Scrape-time metrics: state read where it lives, when Prometheus asks.

Readiness, VPP's connection, the sources' sync, the objects vppnet wants
and owns, and VPP's interface counters are not events to count but state to
show; copying them into gauges on every change would be one more thing to
keep in step. A collector reads them at scrape time instead. No failure
here may break /metrics: VPP being away is reported as ``vppnet_vpp_up 0``.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agent.telemetry.counters import CountersSnapshot, InterfaceCounterSource
from agent.vppobjects import VppObject

log = logging.getLogger(__name__)

POD_LABELS = ["namespace", "pod", "interface", "network"]
COUNTERS = {
    "rx_packets": "packets VPP received",
    "rx_bytes": "bytes VPP received",
    "tx_packets": "packets VPP sent",
    "tx_bytes": "bytes VPP sent",
}
SIMPLE = {
    "drops": "packets VPP dropped",
    "rx_errors": "receive errors",
    "tx_errors": "transmit errors",
    "rx_miss": "packets missed on receive",
}


class StatusView(Protocol):
    """The parts of the runtime's status the metrics show (RuntimeStatus has them)."""

    @property
    def ready(self) -> bool: ...
    @property
    def vpp_connected(self) -> bool: ...
    @property
    def vpp_reconnects(self) -> int: ...
    @property
    def last_error(self) -> str: ...


@dataclass
class RuntimeView:
    """Where the collector reads; callables so that it always sees the current objects."""

    status: StatusView
    synced: Callable[[], Mapping[str, bool]]
    desired: Callable[[], Iterable[VppObject]]
    owned: Callable[[], Iterable[VppObject] | None]  # None: not known right now
    pending: Callable[[], int]
    counters: InterfaceCounterSource | None


def _kinds(objects: Iterable[VppObject]) -> Tally[str]:
    return Tally(type(o).__name__ for o in objects)


class RuntimeCollector(Collector):
    def __init__(self, view: RuntimeView) -> None:
        self.view = view
        self._owned: Tally[str] = Tally()

    def collect(self) -> Iterator[Metric]:
        yield from self._health()
        yield from self._objects()
        yield from self._interfaces()

    def _health(self) -> Iterator[Metric]:
        status = self.view.status
        yield GaugeMetricFamily(
            "vppnet_ready", "1 once the first full sync is done and the CNI serves", status.ready
        )
        yield GaugeMetricFamily(
            "vppnet_vpp_connected",
            "1 while the agent's API connection to VPP is up",
            status.vpp_connected,
        )
        yield CounterMetricFamily(
            "vppnet_vpp_reconnects",
            "times VPP came back after being lost",
            status.vpp_reconnects,
        )
        synced = GaugeMetricFamily(
            "vppnet_source_synced",
            "1 once a source has delivered its first complete picture",
            labels=["source"],
        )
        for source, done in sorted(self.view.synced().items()):
            synced.add_metric([source], 1 if done else 0)
        yield synced

    def _objects(self) -> Iterator[Metric]:
        desired = GaugeMetricFamily(
            "vppnet_objects_desired",
            "VPP objects the model asks for, by kind",
            labels=["kind"],
        )
        for kind, n in sorted(_kinds(self.view.desired()).items()):
            desired.add_metric([kind], n)
        yield desired
        try:
            owned = self.view.owned()
        except RuntimeError as e:  # changed while being counted: show the last count
            log.debug("owned objects changed during a scrape: %s", e)
            owned = None
        if owned is not None:
            self._owned = _kinds(owned)
        family = GaugeMetricFamily(
            "vppnet_objects_owned",
            "VPP objects vppnet owns (as last read from or written to VPP), by kind",
            labels=["kind"],
        )
        for kind, n in sorted(self._owned.items()):
            family.add_metric([kind], n)
        yield family
        yield GaugeMetricFamily(
            "vppnet_objects_pending",
            "objects that failed or were skipped and are retried at the next converge",
            self.view.pending(),
        )

    def _interfaces(self) -> Iterator[Metric]:
        source = self.view.counters
        snap = source.snapshot() if source is not None else CountersSnapshot()
        yield GaugeMetricFamily(
            "vppnet_vpp_up", "1 when VPP's API answered the last counter read", snap.api_up
        )
        yield GaugeMetricFamily(
            "vppnet_vpp_stats_up",
            "1 when VPP's stats segment was readable at the last counter read",
            snap.stats_up,
        )
        names = {**COUNTERS, **SIMPLE}
        per_if = {
            c: CounterMetricFamily(
                f"vppnet_interface_{c}", f"{what}, per VPP interface", labels=["vpp_interface"]
            )
            for c, what in names.items()
        }
        per_pod = {
            c: CounterMetricFamily(
                f"vppnet_pod_interface_{c}", f"{what}, per pod interface", labels=POD_LABELS
            )
            for c, what in names.items()
        }
        present: set[str] = set(COUNTERS)
        for row in snap.rows:
            c = row.counters
            values = {
                "rx_packets": c.rx_packets,
                "rx_bytes": c.rx_bytes,
                "tx_packets": c.tx_packets,
                "tx_bytes": c.tx_bytes,
                **dict(c.simple),
            }
            present.update(values)
            labels = row.pod_labels()
            for name, value in values.items():
                per_if[name].add_metric([row.vpp_name], value)
                if labels is not None:
                    per_pod[name].add_metric(list(labels), value)
        for name in names:
            if name in present:  # a counter VPP does not keep is absent, not zero
                yield per_if[name]
                yield per_pod[name]
