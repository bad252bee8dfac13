"""VPP's interface counters joined with who each interface belongs to.

The counters come from VPP's stats segment (indexed by sw_if_index), the
interface names and tags from the binary API (``sw_interface_dump``), and
the owner of a tagged interface from the cluster model: a pod interface's
tag is ``tag_for(interface_name(pod))``, so the model says which namespace,
pod, interface and network a VPP interface carries. A read is cached for a
few seconds so that scrapes do not each walk VPP; a failure is reported, not
raised, so /metrics keeps answering while VPP is away.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.model import DEFAULT_NETWORK, ClusterModel, PodInterface
from agent.reconcile.index import tag_for
from agent.vpp import VppConnection, VppError, interfaces
from agent.vpp.stats import InterfaceCounters, read_interface_counters
from plugins.pods import interface_name

log = logging.getLogger(__name__)

DEFAULT_NETWORK_LABEL = "default"


@dataclass(frozen=True, slots=True)
class InterfaceRow:
    """One VPP interface's counters, with its pod when it is a pod interface."""

    vpp_name: str
    counters: InterfaceCounters
    pod: PodInterface | None = None

    def pod_labels(self) -> tuple[str, str, str, str] | None:
        """(namespace, pod, interface, network) of a pod interface, else None."""
        if self.pod is None:
            return None
        network = self.pod.network if self.pod.network != DEFAULT_NETWORK else "default"
        k = self.pod.key
        return k.namespace, k.pod, k.interface, network


@dataclass(frozen=True, slots=True)
class CountersSnapshot:
    api_up: bool = False
    stats_up: bool = False
    error: str = ""
    rows: list[InterfaceRow] = field(default_factory=list)


class InterfaceCounterSource:
    """Reads and joins at most once per ``cache_seconds``; thread-safe for concurrent scrapes."""

    def __init__(
        self,
        conn: VppConnection,
        stats_socket: str | None,
        model: Callable[[], ClusterModel],
        cache_seconds: float = 5.0,
    ) -> None:
        self.conn = conn
        self.stats_socket = stats_socket
        self.model = model
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._last: CountersSnapshot | None = None
        self._when = 0.0

    def snapshot(self) -> CountersSnapshot:
        with self._lock:
            now = time.monotonic()
            if self._last is None or now - self._when >= self.cache_seconds:
                self._last = self._read()
                self._when = time.monotonic()
            return self._last

    def _read(self) -> CountersSnapshot:
        try:
            vpp_ifs = self.conn.dump(interfaces.dump()) if self.conn.connected else None
        except VppError as e:
            return CountersSnapshot(error=f"VPP API: {e}")
        if vpp_ifs is None:
            return CountersSnapshot(error="VPP API: not connected")
        if self.stats_socket is None:
            return CountersSnapshot(api_up=True, error="no stats socket configured")
        try:
            counters = read_interface_counters(self.stats_socket)
        except VppError as e:
            log.debug("interface counters unavailable: %s", e)
            return CountersSnapshot(api_up=True, error=str(e))
        pods = {tag_for(interface_name(p)): p for p in self.model().pod_interfaces.values()}
        rows = [
            InterfaceRow(i.name, counters[i.sw_if_index], pods.get(i.tag) if i.tag else None)
            for i in vpp_ifs
            if i.sw_if_index in counters
        ]
        return CountersSnapshot(api_up=True, stats_up=True, rows=rows)
