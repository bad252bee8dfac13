"""Felix's framing: whole frames out of any slicing of the stream, bounded memory, no crash."""

from __future__ import annotations

import asyncio
import itertools
import os
import struct

from hypothesis import given
from hypothesis import strategies as st

from agent.felix.framing import (
    FrameDecoder,
    FrameEvent,
    Oversize,
    Truncated,
    encode_frame,
    read_frames,
    read_frames_blocking,
    write_frame_blocking,
)

LIMIT = 64


def feed_in_pieces(decoder: FrameDecoder, data: bytes, cuts: list[int]) -> list[object]:
    events: list[object] = []
    positions = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    for start, stop in itertools.pairwise(positions):
        events += decoder.feed(data[start:stop])
    return events


def test_a_frame_is_an_8_byte_little_endian_length_then_the_payload() -> None:
    assert encode_frame(b"abc") == struct.pack("<Q", 3) + b"abc"
    assert encode_frame(b"") == b"\x00" * 8


def test_zero_length_frames_are_frames() -> None:
    assert FrameDecoder().feed(encode_frame(b"") * 3) == [b"", b"", b""]


def test_byte_by_byte_delivery_yields_each_frame_once() -> None:
    stream = encode_frame(b"hello") + encode_frame(b"") + encode_frame(b"x" * 300)
    decoder = FrameDecoder()
    out = [frame for byte in stream for frame in decoder.feed(bytes([byte]))]
    assert out == [b"hello", b"", b"x" * 300]
    assert decoder.buffered == 0 and decoder.close() is None


def test_an_oversize_frame_is_skipped_and_the_next_one_lines_up() -> None:
    decoder = FrameDecoder(max_frame=LIMIT)
    stream = encode_frame(b"a" * (LIMIT + 1)) + encode_frame(b"after")
    events = decoder.feed(stream[:20]) + decoder.feed(stream[20:])
    assert events == [Oversize(LIMIT + 1, LIMIT), b"after"]
    assert "exceeds the limit of 64" in str(events[0])


def test_an_oversize_frame_is_never_buffered() -> None:
    decoder = FrameDecoder(max_frame=LIMIT)
    decoder.feed(struct.pack("<Q", 10**12))
    for _ in range(100):
        assert decoder.feed(b"\x00" * 4096) == []
        assert decoder.buffered == 0
    assert decoder.close() == Truncated(409600, 10**12)


def test_eof_inside_a_frame_is_reported() -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_frame(b"0123456789")[:12])
    assert decoder.close() == Truncated(4, 10)
    decoder.feed(b"\x05\x00")
    problem = decoder.close()
    assert problem == Truncated(2, None) and "frame header" in str(problem)
    assert decoder.close() is None  # close resets


@given(st.lists(st.binary(max_size=200), max_size=20), st.lists(st.integers(0, 10**6)))
def test_any_slicing_of_a_valid_stream_gives_back_the_frames(
    payloads: list[bytes], cuts: list[int]
) -> None:
    decoder = FrameDecoder(max_frame=1000)
    stream = b"".join(encode_frame(p) for p in payloads)
    assert feed_in_pieces(decoder, stream, cuts) == payloads
    assert decoder.close() is None


@given(st.binary(max_size=3000), st.lists(st.integers(0, 10**6), max_size=30))
def test_arbitrary_bytes_never_raise_and_memory_stays_bounded(data: bytes, cuts: list[int]) -> None:
    decoder = FrameDecoder(max_frame=LIMIT)
    events = feed_in_pieces(decoder, data, cuts)
    assert decoder.buffered <= LIMIT + 8
    for event in events:
        assert isinstance(event, bytes | Oversize)
        if isinstance(event, bytes):
            assert len(event) <= LIMIT
    trailing = decoder.close()
    assert trailing is None or trailing.received <= len(data)
    assert decoder.buffered == 0


@given(
    st.lists(st.one_of(st.binary(max_size=80), st.just(b"")), max_size=10),
    st.lists(st.integers(0, 10**6), max_size=10),
)
def test_slicing_never_changes_what_garbage_decodes_to(
    payloads: list[bytes], cuts: list[int]
) -> None:
    """Oversize frames included, the result depends on the bytes, not on how they arrive."""
    stream = b"".join(encode_frame(p) for p in payloads)
    whole = FrameDecoder(max_frame=40).feed(stream)
    assert feed_in_pieces(FrameDecoder(max_frame=40), stream, cuts) == whole
    assert whole == [p if len(p) <= 40 else Oversize(len(p), 40) for p in payloads]


def test_blocking_read_and_write_over_a_pipe() -> None:
    r, w = os.pipe()
    try:
        write_frame_blocking(w, b"one")
        write_frame_blocking(w, b"")
        os.write(w, encode_frame(b"two")[:10])
        os.close(w)
        w = -1
        assert list(read_frames_blocking(r, FrameDecoder())) == [b"one", b"", Truncated(2, 3)]
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_async_reader_batches_per_read_and_reports_a_truncated_tail() -> None:
    async def main() -> list[list[FrameEvent]]:
        reader = asyncio.StreamReader()
        reader.feed_data(encode_frame(b"a") + encode_frame(b"b") + encode_frame(b"c")[:3])
        reader.feed_eof()
        return [batch async for batch in read_frames(reader, FrameDecoder())]

    assert asyncio.run(main()) == [[b"a", b"b"], [Truncated(3, None)]]
