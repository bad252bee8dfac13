"""Compiled wire layouts for VPP API types.

Every node knows its wire size when fixed. Fixed nodes also expose a
``struct`` format fragment and a flat value count, so that a struct made only
of fixed parts (most VPP messages, and every nested address/prefix/path) is
packed and unpacked with ONE ``struct.Struct`` call instead of one call per
field: that is what makes the simulator fast enough to take tens of thousands
of messages per second. Variable parts (strings, counted arrays) break a
struct into segments, each fixed run still handled in one call.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Msg = dict[str, Any]
"""A decoded message or struct: field name -> Python value."""

_U32 = struct.Struct(">I")
_F64 = struct.Struct("=d")


class CodecError(ValueError):
    """The bytes (or the value to encode) do not fit the definition."""


class CodecValueError(CodecError):
    """Well-formed bytes whose value cannot be represented (bad family, prefix length)."""


class Node:
    """Base of all layout nodes; fixed nodes set ``fmt``/``nvals``/``size``."""

    fmt: str | None = None
    nvals: int = 0
    size: int | None = None

    def build(self, vals: Sequence[Any], i: int) -> tuple[Any, int]:
        raise CodecError(f"{type(self).__name__} is not a fixed-size node")

    def flatten(self, value: Any, out: list[Any]) -> None:
        raise CodecError(f"{type(self).__name__} is not a fixed-size node")

    def decode(self, buf: bytes, off: int, ctx: Msg) -> tuple[Any, int]:
        """Generic decode for fixed nodes; variable nodes override it."""
        st = _struct_for(self)
        try:
            vals = st.unpack_from(buf, off)
        except struct.error as e:
            raise CodecError(f"message too short at offset {off}") from e
        value, _ = self.build(vals, 0)
        return value, off + st.size

    def encode(self, value: Any, out: bytearray, ctx: Mapping[str, Any]) -> None:
        st = _struct_for(self)
        flat: list[Any] = []
        self.flatten(value, flat)
        out += pack_values(st, flat)


_STRUCT_CACHE: dict[str, struct.Struct] = {}


def _struct_for(node: Node) -> struct.Struct:
    assert node.fmt is not None
    return make_struct(node.fmt)


def make_struct(fmt: str) -> struct.Struct:
    st = _STRUCT_CACHE.get(fmt)
    if st is None:
        st = struct.Struct(">" + fmt)
        _STRUCT_CACHE[fmt] = st
    return st


def pack_values(st: struct.Struct, flat: list[Any]) -> bytes:
    try:
        return st.pack(*flat)
    except (struct.error, TypeError) as e:
        raise CodecError(f"cannot pack values: {e}") from e


class IntNode(Node):
    """u8..i64, bool and enums: one struct code, value passed through."""

    def __init__(self, code: str) -> None:
        self.fmt = code
        self.nvals = 1
        self.size = struct.calcsize(">" + code)

    def build(self, vals: Sequence[Any], i: int) -> tuple[Any, int]:
        return vals[i], i + 1

    def flatten(self, value: Any, out: list[Any]) -> None:
        out.append(0 if value is None else value)


class F64Node(Node):
    """f64 travels in host byte order (papi ``=d``), unlike everything else."""

    fmt = "8s"
    nvals = 1
    size = 8

    def build(self, vals: Sequence[Any], i: int) -> tuple[Any, int]:
        return _F64.unpack(vals[i])[0], i + 1

    def flatten(self, value: Any, out: list[Any]) -> None:
        out.append(_F64.pack(float(value or 0.0)))


class BytesNode(Node):
    """``u8 x[N]``: raw bytes, shorter input zero padded (as papi does)."""

    def __init__(self, n: int) -> None:
        self.fmt = f"{n}s"
        self.nvals = 1
        self.size = n

    def build(self, vals: Sequence[Any], i: int) -> tuple[Any, int]:
        return vals[i], i + 1

    def flatten(self, value: Any, out: list[Any]) -> None:
        if not value:
            out.append(b"")
            return
        raw = bytes(value)
        if len(raw) > self.size:  # type: ignore[operator]
            raise CodecError(f"{len(raw)} bytes do not fit u8[{self.size}]")
        out.append(raw)


class FixedStringNode(Node):
    """``string x[N]``: NUL padded; like C's strncpy into the field we keep a NUL."""

    def __init__(self, n: int, limit: int) -> None:
        self.fmt = f"{n}s"
        self.nvals = 1
        self.size = n
        self.maxlen = max(0, min(n, limit or n) - 1)

    def build(self, vals: Sequence[Any], i: int) -> tuple[Any, int]:
        raw: bytes = vals[i]
        return raw.split(b"\0", 1)[0].decode("ascii", "replace"), i + 1

    def flatten(self, value: Any, out: list[Any]) -> None:
        if not value:
            out.append(b"")
            return
        out.append(str(value).encode("ascii", "replace")[: self.maxlen])


class VarStringNode(Node):
    """``string x[]``: u32 length then the bytes, no NUL."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def decode(self, buf: bytes, off: int, ctx: Msg) -> tuple[Any, int]:
        if off + 4 > len(buf):
            raise CodecError("variable string length missing")
        (n,) = _U32.unpack_from(buf, off)
        off += 4
        if off + n > len(buf):
            raise CodecError(f"variable string of {n} bytes exceeds the message")
        return bytes(buf[off : off + n]).decode("ascii", "replace"), off + n

    def encode(self, value: Any, out: bytearray, ctx: Mapping[str, Any]) -> None:
        raw = str(value).encode("ascii", "replace") if value else b""
        if self.limit and len(raw) > self.limit - 1:
            raw = raw[: self.limit - 1]
        out += _U32.pack(len(raw))
        out += raw


class FixedArrayNode(Node):
    """``T x[N]`` with T fixed: N elements in one run."""

    def __init__(self, elem: Node, n: int) -> None:
        assert elem.fmt is not None
        self.elem = elem
        self.n = n
        self.fmt = elem.fmt * n
        self.nvals = elem.nvals * n
        self.size = (elem.size or 0) * n
        self._plain = isinstance(elem, IntNode)

    def build(self, vals: Sequence[Any], i: int) -> tuple[Any, int]:
        if self._plain:
            return list(vals[i : i + self.n]), i + self.n
        items = []
        for _ in range(self.n):
            item, i = self.elem.build(vals, i)
            items.append(item)
        return items, i

    def flatten(self, value: Any, out: list[Any]) -> None:
        items = list(value) if value else []
        if len(items) > self.n:
            raise CodecError(f"{len(items)} items do not fit a fixed array of {self.n}")
        items.extend([None] * (self.n - len(items)))
        for item in items:
            self.elem.flatten(item, out)


class VarArrayNode(Node):
    """``T x[count]`` (count in an earlier field) or the legacy ``T x[0]`` tail."""

    def __init__(self, elem: Node, count_field: str | None) -> None:
        if elem.fmt is None or not elem.size:
            raise CodecError("variable arrays of variable-size elements are not VPP API")
        self.elem = elem
        self.count_field = count_field
        self.st = make_struct(elem.fmt)
        self._u8 = isinstance(elem, IntNode) and elem.fmt == "B"

    def decode(self, buf: bytes, off: int, ctx: Msg) -> tuple[Any, int]:
        size = self.st.size
        avail = len(buf) - off
        if self.count_field is None:
            if avail % size:
                raise CodecError("legacy variable array is not a whole number of elements")
            count = avail // size
        else:
            count = int(ctx.get(self.count_field) or 0)
            if count * size > avail:
                raise CodecError(f"array of {count} elements exceeds the message")
        if self._u8:
            return bytes(buf[off : off + count]), off + count
        items = []
        build = self.elem.build
        unpack = self.st.unpack_from
        for _ in range(count):
            item, _n = build(unpack(buf, off), 0)
            items.append(item)
            off += size
        return items, off

    def encode(self, value: Any, out: bytearray, ctx: Mapping[str, Any]) -> None:
        if not value:
            return
        if self._u8 and isinstance(value, bytes | bytearray):
            out += value
            return
        for item in value:
            flat: list[Any] = []
            self.elem.flatten(item, flat)
            out += pack_values(self.st, flat)


Converter = Callable[[Any], Any]
"""Turns a built raw value into the Python value handlers want (or back)."""
