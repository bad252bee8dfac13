"""Struct and union layouts: the composite nodes of the codec."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agent.vppsim.codec.nodes import (
    CodecError,
    IntNode,
    Msg,
    Node,
    make_struct,
    pack_values,
)

Field = tuple[str, Node, Any]
"""(name, node, default used when an encoded value omits the field)."""


class _Run:
    """Consecutive fixed fields packed/unpacked with one struct call."""

    __slots__ = ("build_fields", "flat_fields", "st")

    def __init__(self, fields: list[Field]) -> None:
        self.st = make_struct("".join(n.fmt or "" for _, n, _ in fields))
        self.build_fields = [(name, None if type(n) is IntNode else n) for name, n, _ in fields]
        self.flat_fields = [
            (name, None, 0 if default is None else default)
            if type(n) is IntNode
            else (name, n, default)
            for name, n, default in fields
        ]


class StructNode(Node):
    """A VPP ``typedef`` or message: fields in order, no padding."""

    def __init__(self, name: str, fields: list[Field]) -> None:
        self.name = name
        self.fields = fields
        self.field_names = [f[0] for f in fields]
        self._counts: list[tuple[str, str]] = []
        for fname, node, _ in fields:
            count_field = getattr(node, "count_field", None)
            if count_field is not None:
                self._counts.append((count_field, fname))
        self._segments: list[_Run | Field] = []
        run: list[Field] = []
        for f in fields:
            if f[1].fmt is not None:
                run.append(f)
                continue
            if run:
                self._segments.append(_Run(run))
                run = []
            self._segments.append(f)
        if run:
            self._segments.append(_Run(run))
        if all(f[1].fmt is not None for f in fields):
            self.fmt = "".join(f[1].fmt or "" for f in fields)
            self.nvals = sum(f[1].nvals for f in fields)
            self.size = sum(f[1].size or 0 for f in fields)
            self._run = _Run(fields)

    # -- fixed (nested) form -------------------------------------------------
    def build(self, vals: Sequence[Any], i: int) -> tuple[Any, int]:
        d: Msg = {}
        for name, node in self._run.build_fields:
            if node is None:
                d[name] = vals[i]
                i += 1
            else:
                d[name], i = node.build(vals, i)
        return d, i

    def flatten(self, value: Any, out: list[Any]) -> None:
        _flatten_fields(self._run, value or {}, out)

    # -- general form ----------------------------------------------------------
    def decode(self, buf: bytes, off: int, ctx: Msg) -> tuple[Any, int]:
        d: Msg = {}
        for seg in self._segments:
            if isinstance(seg, _Run):
                st = seg.st
                if off + st.size > len(buf):
                    raise CodecError(f"{self.name}: message too short at offset {off}")
                vals = st.unpack_from(buf, off)
                off += st.size
                i = 0
                for name, node in seg.build_fields:
                    if node is None:
                        d[name] = vals[i]
                        i += 1
                    else:
                        d[name], i = node.build(vals, i)
            else:
                d[seg[0]], off = seg[1].decode(buf, off, d)
        return d, off

    def encode(self, value: Any, out: bytearray, ctx: Mapping[str, Any]) -> None:
        value = self._with_counts(value or {})
        for seg in self._segments:
            if isinstance(seg, _Run):
                flat: list[Any] = []
                _flatten_fields(seg, value, flat)
                out += pack_values(seg.st, flat)
            else:
                seg[1].encode(value.get(seg[0]), out, value)

    def _with_counts(self, value: Mapping[str, Any]) -> Mapping[str, Any]:
        """Fill omitted count fields from their array; reject inconsistent ones."""
        if not self._counts:
            return value
        fixed = dict(value)
        for count_field, array_field in self._counts:
            items = fixed.get(array_field)
            n = len(items) if items else 0
            given = fixed.get(count_field)
            if given is None:
                fixed[count_field] = n
            elif given != n:
                raise CodecError(
                    f"{self.name}.{count_field}={given} but {array_field} has {n} items"
                )
        return fixed


def _flatten_fields(run: _Run, value: Mapping[str, Any], out: list[Any]) -> None:
    if not isinstance(value, Mapping):
        raise CodecError(f"expected a mapping, got {type(value).__name__}")
    get = value.get
    for name, node, default in run.flat_fields:
        v = get(name)
        if node is None:
            out.append(default if v is None else v)
        elif v is None and default is not None:
            node.flatten(default, out)
        else:
            node.flatten(v, out)


class UnionValue:
    """A decoded union: the raw bytes, members decoded on demand.

    VPP unions carry no tag; which member is meant depends on a sibling field
    (``af``, ``proto``, ``type``). Decoding every member eagerly, as papi does,
    costs time on hot paths (every route path has one), so the raw bytes are
    kept and re-encoded verbatim when the object is dumped back.
    """

    __slots__ = ("node", "raw")

    def __init__(self, node: UnionNode, raw: bytes) -> None:
        self.node = node
        self.raw = raw

    def __getitem__(self, member: str) -> Any:
        sub = self.node.members[member]
        value, _ = sub.decode(self.raw, 0, {})
        return value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnionValue) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"UnionValue({self.node.name}, {self.raw.hex()})"


class UnionNode(Node):
    """Size of the largest member; one member's bytes, zero padded."""

    def __init__(self, name: str, members: dict[str, Node]) -> None:
        self.name = name
        self.members = members
        sizes = [m.size for m in members.values()]
        if any(s is None for s in sizes):
            raise CodecError(f"union {name} has a variable-size member")
        n = max((s or 0 for s in sizes), default=0)
        self.size = n
        self.fmt = f"{n}s"
        self.nvals = 1

    def build(self, vals: Sequence[Any], i: int) -> tuple[Any, int]:
        return UnionValue(self, vals[i]), i + 1

    def flatten(self, value: Any, out: list[Any]) -> None:
        out.append(self.to_bytes(value))

    def to_bytes(self, value: Any) -> bytes:
        if not value:
            return b""
        if isinstance(value, UnionValue):
            return value.raw
        if isinstance(value, bytes | bytearray):
            return bytes(value)
        if isinstance(value, Mapping):
            if len(value) != 1:
                raise CodecError(f"union {self.name} takes exactly one member")
            ((member, v),) = value.items()
            if member not in self.members:
                raise CodecError(f"union {self.name} has no member {member}")
            buf = bytearray()
            self.members[member].encode(v, buf, {})
            return bytes(buf)
        raise CodecError(f"cannot encode {type(value).__name__} as union {self.name}")
