"""VPP's statistics segment, byte for byte: a memfd shared over ``stats.sock``.

VPP publishes its counters in shared memory: a client connects to the stats
socket (SOCK_SEQPACKET), receives the segment's memfd as SCM_RIGHTS, maps it
read-only and walks it. vpp_papi's ``VPPStats`` is such a client, and this
module writes exactly what it reads (stat_segment_shared_header_t, version 2):

* the shared header at offset 0: version, base (the writer's address of the
  segment; every pointer in it is ``base + offset``), epoch, in_progress,
  directory vector, error vector;
* VPP vectors: the element count as a u32 eight bytes before the first
  element (vec_len);
* the directory: a vector of ``{u32 type; u64 value; char name[128]}``
  entries, value being the scalar itself or a pointer to the data;
* combined counters: a vector (per thread) of pointers to vectors of
  ``{u64 packets; u64 bytes}`` indexed by sw_if_index; simple counters the
  same with one u64; name vectors: a vector of pointers to NUL-terminated
  string vectors (a null pointer where an index has no name).

Writers follow VPP's optimistic-locking protocol: raise ``in_progress``,
rewrite, bump ``epoch``, lower ``in_progress``; a reader that saw either
change retries. The segment has a fixed size, as VPP's does (a client maps
the size it saw at connect time), and every update rewrites the whole
layout: the simulator's directory is small.
"""

from __future__ import annotations

import logging
import mmap
import os
import socket
import struct
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

VERSION: Final = 2
BASE: Final = 0x7F00_0000_0000
"""The address the segment pretends to live at; readers subtract it from pointers."""
DEFAULT_SIZE: Final = 4 << 20

TYPE_SCALAR: Final = 1
TYPE_SIMPLE: Final = 2
TYPE_COMBINED: Final = 3
TYPE_NAME_VECTOR: Final = 4

_HEADER = struct.Struct("QPQQPP")
_IN_PROGRESS = struct.Struct("Q")
_IN_PROGRESS_AT: Final = 24  # offset of in_progress in the header
_DIRENTRY = struct.Struct("IQ128s")
_U32 = struct.Struct("I")
_VEC_HEADER: Final = 8
_ALIGN: Final = 16


class SegmentFullError(RuntimeError):
    """The layout does not fit the segment's fixed size."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One directory entry: ``value`` is an int (scalar), a list of names, or a
    per-thread list of per-index counters (ints: simple; pairs: combined)."""

    name: str
    type: int
    value: (
        int | Sequence[str | None] | Sequence[Sequence[int]] | Sequence[Sequence[tuple[int, int]]]
    )


class _Layout:
    """A bump allocator building the segment's image past the header."""

    def __init__(self, size: int) -> None:
        self.image = bytearray(size)
        self.used = _HEADER.size

    def vector(self, element_size: int, count: int) -> tuple[int, int]:
        """Space for a vector; returns (offset of its first element, pointer to it)."""
        start = -(-(self.used + _VEC_HEADER) // _ALIGN) * _ALIGN
        end = start + element_size * count
        if end + _ALIGN >= len(self.image):  # readers insist a vector ends before the size
            raise SegmentFullError(f"stats segment of {len(self.image)} bytes is full")
        _U32.pack_into(self.image, start - _VEC_HEADER, count)
        self.used = end
        return start, BASE + start

    def string(self, text: str) -> int:
        data = text.encode("ascii", "replace") + b"\0"
        start, ptr = self.vector(1, len(data))
        self.image[start : start + len(data)] = data
        return ptr

    def pointers(self, ptrs: Sequence[int]) -> int:
        start, ptr = self.vector(8, len(ptrs))
        struct.pack_into(f"{len(ptrs)}Q", self.image, start, *ptrs)
        return ptr

    def counters(
        self,
        per_thread: Sequence[Sequence[int]] | Sequence[Sequence[tuple[int, int]]],
        combined: bool,
    ) -> int:
        threads = []
        for row in per_thread:
            if combined:
                flat = [v for pair in row for v in pair]  # type: ignore[union-attr]
                start, ptr = self.vector(16, len(row))
            else:
                flat = list(row)
                start, ptr = self.vector(8, len(row))
            struct.pack_into(f"{len(flat)}Q", self.image, start, *flat)
            threads.append(ptr)
        return self.pointers(threads)

    def entry_value(self, entry: Entry) -> int:
        if entry.type == TYPE_SCALAR:
            assert isinstance(entry.value, int)
            return entry.value
        assert not isinstance(entry.value, int)
        if entry.type == TYPE_NAME_VECTOR:
            names = [self.string(n) if isinstance(n, str) else 0 for n in entry.value]
            return self.pointers(names)
        return self.counters(entry.value, entry.type == TYPE_COMBINED)  # type: ignore[arg-type]


class StatsSegment:
    """The memfd and its writable mapping; ``publish`` replaces the whole directory."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self.fd = os.memfd_create("vppsim-stats", os.MFD_CLOEXEC)
        os.ftruncate(self.fd, size)
        self._map = mmap.mmap(self.fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self.epoch = 0
        self._lock = threading.Lock()
        self.publish([])

    def publish(self, entries: Sequence[Entry]) -> None:
        """Lay ``entries`` out and swap them in under the in_progress/epoch protocol."""
        layout = _Layout(self.size)
        values = [layout.entry_value(e) for e in entries]
        start, directory = layout.vector(_DIRENTRY.size, len(entries))
        for i, (entry, value) in enumerate(zip(entries, values, strict=True)):
            name = entry.name.encode("ascii")[:127]
            _DIRENTRY.pack_into(layout.image, start + i * _DIRENTRY.size, entry.type, value, name)
        with self._lock:
            m = self._map
            _IN_PROGRESS.pack_into(m, _IN_PROGRESS_AT, 1)
            try:
                m[_HEADER.size : layout.used] = layout.image[_HEADER.size : layout.used]
                self.epoch += 1
                _HEADER.pack_into(m, 0, VERSION, BASE, self.epoch, 1, directory, 0)
            finally:
                _IN_PROGRESS.pack_into(m, _IN_PROGRESS_AT, 0)

    def close(self) -> None:
        with self._lock:
            self._map.close()
            os.close(self.fd)


def interface_entries(
    names: Mapping[int, str],
    rx: Mapping[int, tuple[int, int]],
    tx: Mapping[int, tuple[int, int]],
    heartbeat: int,
) -> list[Entry]:
    """VPP's interface counters for one (main) thread, indexed by sw_if_index."""
    size = max(names, default=-1) + 1
    return [
        Entry("/sys/heartbeat", TYPE_SCALAR, heartbeat),
        Entry("/if/names", TYPE_NAME_VECTOR, [names.get(i) for i in range(size)]),
        Entry("/if/rx", TYPE_COMBINED, [[rx.get(i, (0, 0)) for i in range(size)]]),
        Entry("/if/tx", TYPE_COMBINED, [[tx.get(i, (0, 0)) for i in range(size)]]),
    ]


class StatsSocket:
    """``stats.sock``: every client that connects gets the segment's fd, then EOF."""

    def __init__(self, path: str | os.PathLike[str], segment: StatsSegment, mode: int) -> None:
        self.path = Path(path)
        self.segment = segment
        self.mode = mode
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)  # as VPP makes its run directory
        self.path.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.bind(str(self.path))
        os.chmod(self.path, self.mode)
        sock.listen(16)
        sock.settimeout(0.2)
        self._sock = sock
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="vppsim-stats", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                try:
                    socket.send_fds(conn, [b"\0"], [self.segment.fd])
                except OSError as e:  # the client went away first: its problem, not ours
                    log.debug("vppsim: stats client left before its fd: %s", e)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.path.unlink(missing_ok=True)
