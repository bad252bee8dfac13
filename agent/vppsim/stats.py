"""The simulator's interface counters, from the real Linux devices behind its interfaces.

The simulator moves no packets of its own, so the only honest counters are
the ones the kernel keeps for the devices it created (``devices="real"``):

* tap/tun: VPP reads what the pod (or host) sends into the device, so the
  simulator drains each device's queue as VPP's tap driver would, and the
  kernel's *tx* counters of that device are VPP's *rx*; VPP's tx is the
  kernel's rx (frames written into the device: none, the simulator sends
  nothing);
* af_packet: VPP receives what arrives on the host interface, so the
  kernel's rx is VPP's rx and its tx VPP's tx.

Every other interface (local0, loopbacks, memif, tunnels), and every
interface when the simulator only records (``devices="record"``), counts
zero: no packet passes there. The counters are refreshed every
``interval`` seconds (and on ``update()``) and published in a VPP stats
segment (:mod:`agent.vppsim.statseg`) that vpp_papi's ``VPPStats`` reads.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyroute2.netlink.exceptions import NetlinkError

from agent.vppsim.netdev import _netlink
from agent.vppsim.state import VppState
from agent.vppsim.statseg import (
    SegmentFullError,
    StatsSegment,
    StatsSocket,
    interface_entries,
)

log = logging.getLogger(__name__)

DRAIN_BUDGET = 10_000
"""Frames read from one device per update: VPP's rx is bounded per poll as well."""

Pair = tuple[int, int]  # packets, bytes


@dataclass(frozen=True, slots=True)
class _Source:
    """Where one VPP interface's counters come from in Linux."""

    sw_if_index: int
    netns: str | None  # a netns path, None: the simulator's own
    ifindex: int  # 0: look up ``ifname``
    ifname: str
    swapped: bool  # tap/tun: Linux tx is VPP rx


class SimStats:
    """The stats socket, the segment and the thread keeping the counters fresh."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        state: Callable[[], VppState],
        lock: threading.RLock,
        *,
        real_devices: Callable[[], bool],
        interval: float = 1.0,
        mode: int = 0o600,
    ) -> None:
        self.path = Path(path)
        self._state = state
        self._lock = lock
        self._real = real_devices
        self.interval = interval
        self._mode = mode
        self.segment: StatsSegment | None = None
        self._socket: StatsSocket | None = None
        self._last: dict[int, tuple[Pair, Pair]] = {}  # sw_if_index -> (rx, tx)
        self._heartbeat = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._update_lock = threading.Lock()

    def start(self) -> None:
        """A fresh segment, as a restarted VPP makes (clients must reconnect)."""
        self.segment = StatsSegment()
        self._socket = StatsSocket(self.path, self.segment, self._mode)
        self.update()
        self._socket.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="vppsim-counters", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._socket is not None:
            self._socket.stop()
            self._socket = None
        if self.segment is not None:
            self.segment.close()
            self.segment = None

    def forget(self) -> None:
        """A fresh VPP (``Simulator.reset``) counts from zero: its indexes are new interfaces."""
        with self._update_lock:
            self._last = {}

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.update()
            except Exception:  # a counter refresh must never take the simulator down
                log.exception("vppsim: refreshing the stats segment failed")

    def update(self) -> None:
        """Receive what waits in the devices, read the kernel's counters, publish."""
        with self._update_lock:
            with self._lock:
                state = self._state()
                names = {i.sw_if_index: i.name for i in state.interfaces}
                sources = self._sources(state) if self._real() else []
            counters = self._read(sources)
            live = {sw: self._last.get(sw, ((0, 0), (0, 0))) for sw in names}
            live.update({sw: c for sw, c in counters.items() if sw in names})
            self._last = live
            self._heartbeat += 1
            entries = interface_entries(
                names,
                {sw: c[0] for sw, c in live.items()},
                {sw: c[1] for sw, c in live.items()},
                self._heartbeat,
            )
            if self.segment is None:
                return
            try:
                self.segment.publish(entries)
            except SegmentFullError as e:
                log.error("vppsim: %s; counters not updated", e)

    @staticmethod
    def _sources(state: VppState) -> list[_Source]:
        """Call under the simulator's lock: device fds are closed only under it."""
        out = []
        for sw, tap in state.taps.items():
            if tap.device is None:
                continue
            _drain(tap.device.fd)
            out.append(_Source(sw, tap.device.netns, tap.device.ifindex, tap.device.name, True))
        for sw, af in state.af_packet.items():
            out.append(_Source(sw, None, 0, af.host_if_name, False))
        return out

    @staticmethod
    def _read(sources: list[_Source]) -> dict[int, tuple[Pair, Pair]]:
        by_netns: dict[str | None, list[_Source]] = defaultdict(list)
        for s in sources:
            by_netns[s.netns].append(s)
        out: dict[int, tuple[Pair, Pair]] = {}
        for netns, group in by_netns.items():
            try:
                with _netlink(netns) as ipr:
                    for s in group:
                        try:
                            links = (
                                ipr.link("get", index=s.ifindex)
                                if s.ifindex
                                else ipr.link("get", ifname=s.ifname)
                            )
                        except NetlinkError:
                            continue  # deleted meanwhile: the last counters stand
                        stats = links[0].get_attr("IFLA_STATS64") if links else None
                        if stats is None:
                            continue
                        rx = (int(stats["rx_packets"]), int(stats["rx_bytes"]))
                        tx = (int(stats["tx_packets"]), int(stats["tx_bytes"]))
                        out[s.sw_if_index] = (tx, rx) if s.swapped else (rx, tx)
            except (OSError, NetlinkError) as e:
                log.debug("vppsim: counters in %s unreadable: %s", netns, e)
        return out


def _drain(fd: int) -> int:
    """Read every frame queued on a tun/tap fd (what VPP's tap rx does); the count read."""
    os.set_blocking(fd, False)
    n = 0
    while n < DRAIN_BUDGET:
        try:
            os.read(fd, 65536)
        except (BlockingIOError, InterruptedError):
            break
        except OSError as e:
            log.debug("vppsim: reading tun fd %d: %s", fd, e)
            break
        n += 1
    return n
