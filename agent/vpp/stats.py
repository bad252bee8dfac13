"""VPP's interface counters, read from its stats segment with vpp_papi's ``VPPStats``.

Counters are not in the binary API: VPP keeps them in a shared-memory
segment handed out over ``stats.sock`` (see agent/vppsim/statseg.py for its
layout). Each read connects, copies the interface counters out and
disconnects: a restarted VPP makes a new segment, and a mapping kept across
the restart would go on showing the dead one's numbers. A read is a few
hundred microseconds, and the metrics endpoint caches what it gets.

The counters are indexed by sw_if_index and summed over VPP's threads;
the interface names and tags come from the binary API, not from the
segment's ``/if/names`` (VPP leaves holes there for deleted interfaces,
which vpp_papi's reader closes up, shifting every later index).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vpp_papi.vpp_stats import VPPStats

from agent.vpp.errors import VppConnectionError

DEFAULT_STATS_SOCKET = "/run/vpp/stats.sock"

COMBINED = {"rx": "/if/rx", "tx": "/if/tx"}
"""Combined (packets and bytes) counters read per interface."""
SIMPLE = {
    "drops": "/if/drops",
    "rx_errors": "/if/rx-error",
    "tx_errors": "/if/tx-error",
    "rx_miss": "/if/rx-miss",
}
"""Simple (packets only) counters read when the segment has them."""


@dataclass(frozen=True, slots=True)
class InterfaceCounters:
    """One interface's counters, summed over threads; simple ones absent when VPP has none."""

    sw_if_index: int
    rx_packets: int = 0
    rx_bytes: int = 0
    tx_packets: int = 0
    tx_bytes: int = 0
    simple: tuple[tuple[str, int], ...] = ()


def read_interface_counters(path: str, timeout: float = 1.0) -> dict[int, InterfaceCounters]:
    """Every interface's counters by sw_if_index; VppConnectionError when unreadable."""
    stats = VPPStats(socketname=path, timeout=timeout)
    try:
        stats.connect()
    except Exception as e:  # OSError (no socket, refused), IndexError (no fd in the reply),
        # or papi's bare Exception for a segment version it does not know
        raise VppConnectionError(f"VPP stats segment at {path}: {e}") from e
    try:
        return _interfaces(stats)
    except (OSError, KeyError, ValueError) as e:
        raise VppConnectionError(f"VPP stats segment at {path}: {e!r}") from e
    finally:
        stats.disconnect()


def _interfaces(stats: Any) -> dict[int, InterfaceCounters]:
    present = set(stats.ls(["^/if/"]))
    combined: dict[str, list[tuple[int, int]]] = {}
    for what, name in COMBINED.items():
        combined[what] = _sum_combined(stats[name]) if name in present else []
    simple: dict[str, list[int]] = {
        what: _sum_simple(stats[name]) for what, name in SIMPLE.items() if name in present
    }
    size = max([len(v) for v in combined.values()] + [len(v) for v in simple.values()] + [0])
    out = {}
    for i in range(size):
        rx = combined["rx"][i] if i < len(combined["rx"]) else (0, 0)
        tx = combined["tx"][i] if i < len(combined["tx"]) else (0, 0)
        out[i] = InterfaceCounters(
            i,
            rx_packets=rx[0],
            rx_bytes=rx[1],
            tx_packets=tx[0],
            tx_bytes=tx[1],
            simple=tuple((what, v[i]) for what, v in simple.items() if i < len(v)),
        )
    return out


def _sum_combined(per_thread: Any) -> list[tuple[int, int]]:
    size = max((len(row) for row in per_thread), default=0)
    totals = [[0, 0] for _ in range(size)]
    for row in per_thread:
        for i, pair in enumerate(row):
            totals[i][0] += int(pair[0])
            totals[i][1] += int(pair[1])
    return [(p, b) for p, b in totals]


def _sum_simple(per_thread: Any) -> list[int]:
    size = max((len(row) for row in per_thread), default=0)
    totals = [0] * size
    for row in per_thread:
        for i, value in enumerate(row):
            totals[i] += int(value)
    return totals
