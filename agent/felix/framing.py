"""Felix's frame format: an 8-byte little-endian length, then that many protobuf bytes.

The same framing carries ToDataplane (Felix to driver) and FromDataplane
(driver to Felix). There is no magic, version or checksum, so the decoder can
only defend itself through the length:

* partial reads are the normal case on pipes and sockets: the decoder is fed
  whatever arrived and returns only whole frames;
* a zero-length frame is valid (an envelope with no payload);
* a length above the limit is not buffered: the decoder reports an
  :class:`Oversize` event and discards that many bytes as they arrive, so the
  frames after it still line up and memory stays bounded. (Closing the
  connection instead would not help: felix-proxy replays Felix's stream from
  its start to every new connection, so the same frame would come back.)
* EOF inside a frame is reported as :class:`Truncated`.

The decoder is sans-I/O; :func:`read_frames` drives it from an asyncio stream
and :func:`read_frames_blocking` from a file descriptor (tests, benchmarks).
"""

from __future__ import annotations

import asyncio
import os
import struct
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Final

HEADER: Final = struct.Struct("<Q")
DEFAULT_MAX_FRAME: Final = 64 * 1024 * 1024
"""64 MiB: several times Felix's largest plausible message (an IP set of a million members)."""

READ_CHUNK: Final = 256 * 1024


@dataclass(frozen=True, slots=True)
class Oversize:
    """A frame announced more bytes than the limit; its payload is being skipped."""

    length: int
    limit: int

    def __str__(self) -> str:
        return f"frame of {self.length} bytes exceeds the limit of {self.limit}; skipped"


@dataclass(frozen=True, slots=True)
class Truncated:
    """The stream ended inside a frame (``expected`` is None when inside the header)."""

    received: int
    expected: int | None

    def __str__(self) -> str:
        if self.expected is None:
            return f"stream ended inside a frame header ({self.received} of 8 bytes)"
        return f"stream ended inside a frame ({self.received} of {self.expected} bytes)"


FrameEvent = bytes | Oversize | Truncated
"""What the decoder yields: a whole payload, or a framing problem to report."""


def encode_frame(payload: bytes) -> bytes:
    """One frame: the length prefix, then the payload."""
    return HEADER.pack(len(payload)) + payload


class FrameDecoder:
    """Incremental frame decoder: :meth:`feed` bytes, get whole payloads back."""

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        if max_frame < 0:
            raise ValueError("max_frame must not be negative")
        self.max_frame = max_frame
        self._buf = bytearray()
        self._skip = 0  # bytes of an oversize frame still to discard
        self._skip_total = 0

    @property
    def buffered(self) -> int:
        """Bytes held for an incomplete frame (never more than the limit plus a header)."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes | Oversize]:
        """Consume ``data``; return the frames (and oversize reports) it completed, in order."""
        events: list[bytes | Oversize] = []
        buf = self._buf
        view = memoryview(data)
        if self._skip:
            taken = min(self._skip, len(view))
            self._skip -= taken
            view = view[taken:]
        buf += view
        pos, end = 0, len(buf)
        while end - pos >= HEADER.size:
            (length,) = HEADER.unpack_from(buf, pos)
            if length > self.max_frame:
                events.append(Oversize(length, self.max_frame))
                pos += HEADER.size
                taken = min(length, end - pos)
                pos += taken
                self._skip, self._skip_total = length - taken, length
                continue
            stop = pos + HEADER.size + length
            if stop > end:
                break
            events.append(bytes(buf[pos + HEADER.size : stop]))
            pos = stop
        del buf[:pos]
        return events

    def close(self) -> Truncated | None:
        """At end of stream: report a frame left incomplete, if any, and reset."""
        problem: Truncated | None = None
        if self._skip:
            problem = Truncated(self._skip_total - self._skip, self._skip_total)
        elif len(self._buf) >= HEADER.size:
            (length,) = HEADER.unpack_from(self._buf, 0)
            problem = Truncated(len(self._buf) - HEADER.size, length)
        elif self._buf:
            problem = Truncated(len(self._buf), None)
        self._buf.clear()
        self._skip = self._skip_total = 0
        return problem


async def read_frames(
    reader: asyncio.StreamReader, decoder: FrameDecoder, chunk: int = READ_CHUNK
) -> AsyncIterator[list[FrameEvent]]:
    """Yield the frames of each read until EOF; a trailing partial frame comes last.

    Yielding per read (rather than per frame) lets the caller apply a burst of
    messages as one batch.
    """
    while data := await reader.read(chunk):
        events: list[FrameEvent] = list(decoder.feed(data))
        if events:
            yield events
    trailing = decoder.close()
    if trailing is not None:
        yield [trailing]


def write_frame(writer: asyncio.StreamWriter, payload: bytes) -> None:
    """Queue one frame on an asyncio stream (the caller drains)."""
    writer.write(encode_frame(payload))


def read_frames_blocking(
    fd: int, decoder: FrameDecoder, chunk: int = READ_CHUNK
) -> Iterator[FrameEvent]:
    """Yield frames read from a blocking file descriptor until EOF."""
    while data := os.read(fd, chunk):
        yield from decoder.feed(data)
    trailing = decoder.close()
    if trailing is not None:
        yield trailing


def write_all(fd: int, data: bytes) -> None:
    """Write every byte to a blocking descriptor (``os.write`` may write fewer)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_frame_blocking(fd: int, payload: bytes) -> None:
    """Write one frame to a blocking file descriptor."""
    write_all(fd, encode_frame(payload))
