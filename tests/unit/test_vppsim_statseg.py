"""The simulator's stats segment, read by vpp_papi's own VPPStats client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from vpp_papi.vpp_stats import VPPStats

from agent.vpp import VppError
from agent.vpp.stats import read_interface_counters
from agent.vppsim import Simulator
from agent.vppsim.statseg import (
    TYPE_COMBINED,
    TYPE_SIMPLE,
    Entry,
    SegmentFullError,
    StatsSegment,
    StatsSocket,
    interface_entries,
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[StatsSegment, str]]:
    segment = StatsSegment()
    sock = StatsSocket(tmp_path / "stats.sock", segment, 0o600)
    sock.start()
    yield segment, str(tmp_path / "stats.sock")
    sock.stop()
    segment.close()


def test_vppstats_reads_names_and_counters_and_sees_updates(
    served: tuple[StatsSegment, str],
) -> None:
    segment, path = served
    segment.publish(interface_entries({0: "local0", 1: "tap0"}, {1: (5, 700)}, {0: (2, 3)}, 1))
    stats = VPPStats(path)
    stats.connect()
    try:
        assert stats["/if/names"] == ["local0", "tap0"]
        assert stats["/if/rx"][:, 1].sum_packets() == 5
        assert stats["/if/rx"][:, 1].sum_octets() == 700
        assert stats["/if/tx"][0][0]["bytes"] == 3
        assert stats["/sys/heartbeat"] == 1
        # a new interface appears through the epoch protocol, on the same mapping
        segment.publish(
            interface_entries({0: "local0", 1: "tap0", 2: "tun0"}, {1: (6, 800)}, {}, 2)
        )
        assert stats["/if/names"] == ["local0", "tap0", "tun0"]
        assert stats["/if/rx"][:, 1].sum_packets() == 6
        assert stats["/sys/heartbeat"] == 2
    finally:
        stats.disconnect()


def test_deleted_interfaces_leave_holes_and_counters_stay_indexed(
    served: tuple[StatsSegment, str],
) -> None:
    """VPP's name vector has a null where an interface was deleted (papi skips it);
    the counters stay indexed by sw_if_index, which is what the agent's reader uses."""
    segment, path = served
    segment.publish(interface_entries({0: "local0", 3: "tun1"}, {3: (9, 90)}, {}, 1))
    stats = VPPStats(path)
    stats.connect()
    try:
        assert stats["/if/names"] == ["local0", "tun1"]
    finally:
        stats.disconnect()
    counters = read_interface_counters(path)
    assert counters[3].rx_packets == 9 and counters[3].rx_bytes == 90
    assert counters[1].rx_packets == 0
    assert counters[3].simple == ()  # the simulator keeps no drop counters: absent, not 0


def test_reader_sums_threads_and_reads_simple_counters(served: tuple[StatsSegment, str]) -> None:
    segment, path = served
    segment.publish(
        [
            Entry("/if/rx", TYPE_COMBINED, [[(1, 10), (2, 20)], [(3, 30), (4, 40)]]),
            Entry("/if/tx", TYPE_COMBINED, [[(0, 0), (1, 1)]]),
            Entry("/if/drops", TYPE_SIMPLE, [[0, 5], [0, 6]]),
        ]
    )
    counters = read_interface_counters(path)
    assert counters[1].rx_packets == 6 and counters[1].rx_bytes == 60
    assert counters[0].rx_packets == 4
    assert counters[1].tx_packets == 1
    assert dict(counters[1].simple) == {"drops": 11}


def test_a_layout_too_big_for_the_segment_is_refused_and_the_old_one_stays(
    tmp_path: Path,
) -> None:
    segment = StatsSegment(size=64 << 10)
    sock = StatsSocket(tmp_path / "stats.sock", segment, 0o600)
    sock.start()
    try:
        segment.publish(interface_entries({0: "local0"}, {0: (1, 1)}, {}, 1))
        names = {i: f"tap{i}-with-a-long-name-to-fill-the-segment" * 2 for i in range(2000)}
        with pytest.raises(SegmentFullError):
            segment.publish(interface_entries(names, {}, {}, 2))
        assert read_interface_counters(str(tmp_path / "stats.sock"))[0].rx_packets == 1
    finally:
        sock.stop()
        segment.close()


def test_no_stats_socket_is_a_clear_vpp_error(tmp_path: Path) -> None:
    with pytest.raises(VppError, match=r"stats segment at .*missing\.sock"):
        read_interface_counters(str(tmp_path / "missing.sock"))


def test_recording_simulator_serves_zero_counters_for_its_interfaces(tmp_path: Path) -> None:
    """Without real devices no packet passes anywhere: every interface counts zero."""
    with Simulator(
        tmp_path / "api.sock", devices="record", stats_socket=tmp_path / "stats.sock"
    ) as sim:
        sim.update_stats()
        counters = read_interface_counters(str(tmp_path / "stats.sock"))
        with sim.lock:
            indexes = {i.sw_if_index for i in sim.state.interfaces}
        assert set(counters) == indexes
        assert all(c.rx_packets == c.tx_packets == 0 for c in counters.values())
    assert not (tmp_path / "stats.sock").exists()


def test_simulator_without_stats_socket_refuses_update(tmp_path: Path) -> None:
    with (
        Simulator(tmp_path / "api.sock", devices="record") as sim,
        pytest.raises(RuntimeError, match="no stats segment"),
    ):
        sim.update_stats()


def test_reset_simulator_counts_its_new_interfaces_from_zero(tmp_path: Path) -> None:
    with Simulator(
        tmp_path / "api.sock", devices="record", stats_socket=tmp_path / "stats.sock"
    ) as sim:
        assert sim._stats is not None
        sim._stats._last[0] = ((7, 70), (0, 0))  # what local0 counted before the reset
        sim.update_stats()
        assert read_interface_counters(str(tmp_path / "stats.sock"))[0].rx_packets == 7
        sim.reset()
        sim.update_stats()
        assert read_interface_counters(str(tmp_path / "stats.sock"))[0].rx_packets == 0
