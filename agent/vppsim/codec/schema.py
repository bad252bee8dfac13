"""Load ``*.api.json`` definitions and compile them into codecs.

The message table VPP announces is derived from the same files: memclnt
messages get the fixed ids VPP gives them (papi hard-codes 15/16), every
other module a contiguous block from 29 on, in file-name order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.vppsim.codec.addresses import (
    AddressNode,
    FamilyPrefixNode,
    Ip4AddressNode,
    Ip6AddressNode,
    MacNode,
    PrefixNode,
)
from agent.vppsim.codec.msgids import FIRST_MODULE_ID, MEMCLNT_IDS
from agent.vppsim.codec.nodes import (
    BytesNode,
    CodecError,
    F64Node,
    FixedArrayNode,
    FixedStringNode,
    IntNode,
    Msg,
    Node,
    VarArrayNode,
    VarStringNode,
)
from agent.vppsim.codec.structs import Field, StructNode, UnionNode

_BASE_CODES = {
    "u8": "B",
    "i8": "b",
    "u16": "H",
    "i16": "h",
    "u32": "I",
    "i32": "i",
    "u64": "Q",
    "i64": "q",
    "bool": "?",
}


@dataclass
class MessageDef:
    name: str
    crc: str
    module: str
    msg_id: int
    node: StructNode
    fields: frozenset[str]

    @property
    def name_crc(self) -> str:
        return f"{self.name}_{self.crc[2:]}"

    def decode(self, payload: bytes) -> Msg:
        msg, _ = self.node.decode(payload, 0, {})
        result: Msg = msg
        return result

    def encode(self, values: Msg) -> bytes:
        out = bytearray()
        self.node.encode({**values, "_vl_msg_id": self.msg_id}, out, {})
        return bytes(out)


@dataclass
class ServiceDef:
    request: str
    reply: str | None
    stream: bool = False
    stream_msg: str | None = None
    events: tuple[str, ...] = ()


@dataclass
class ModuleDef:
    name: str
    version: tuple[int, int, int]
    crc: str
    messages: list[str] = field(default_factory=list)
    first_id: int = 0


class _TypeCompiler:
    """Turns vppapigen type definitions into nodes, resolving names lazily."""

    def __init__(self) -> None:
        self.defs: dict[str, tuple[str, Any]] = {}
        self.nodes: dict[str, Node] = {}

    def add(self, kind: str, name: str, data: Any) -> None:
        self.defs.setdefault(name, (kind, data))  # first definition wins, as in papi

    def node(self, tname: str) -> Node:
        name = tname
        if tname.startswith("vl_api_"):
            name = tname.removeprefix("vl_api_").removesuffix("_t")
        if name in self.nodes:
            return self.nodes[name]
        if name in _BASE_CODES:
            node: Node = IntNode(_BASE_CODES[name])
        elif name == "f64":
            node = F64Node()
        elif name not in self.defs:
            raise CodecError(f"unknown type {tname}")
        else:
            node = self._compile(name, *self.defs[name])
        self.nodes[name] = node
        return node

    def _compile(self, name: str, kind: str, data: Any) -> Node:
        if kind == "enum":
            width = "u32"
            for item in data:
                if isinstance(item, dict) and "enumtype" in item:
                    width = item["enumtype"]
            return IntNode(_BASE_CODES[width])
        if kind == "alias":
            return self._alias(name, data)
        if kind == "union":
            members = {f[1]: self.node(f[0]) for f in data if isinstance(f, list)}
            return UnionNode(name, members)
        generic = StructNode(name, [self.field(f) for f in data if isinstance(f, list)])
        return self._special_struct(name, generic)

    def _alias(self, name: str, data: dict[str, Any]) -> Node:
        target = data["type"]
        length = data.get("length")
        if name == "ip4_address" and target == "u8" and length == 4:
            return Ip4AddressNode()
        if name == "ip6_address" and target == "u8" and length == 16:
            return Ip6AddressNode()
        if name == "mac_address" and target == "u8" and length == 6:
            return MacNode()
        if length:
            if target == "u8":
                return BytesNode(int(length))
            return FixedArrayNode(self.node(target), int(length))
        base = self.node(target)
        if name == "address_with_prefix" and base.fmt == "B16sB":
            return PrefixNode(self._address(), True)
        if name == "ip4_address_with_prefix" and base.fmt == "4sB":
            return FamilyPrefixNode(4, True)
        if name == "ip6_address_with_prefix" and base.fmt == "16sB":
            return FamilyPrefixNode(6, True)
        return base

    def _address(self) -> AddressNode:
        node = self.node("address")
        if not isinstance(node, AddressNode):
            raise CodecError("type address does not have the VPP layout")
        return node

    def _special_struct(self, name: str, generic: StructNode) -> Node:
        if name == "address" and generic.fmt == "B16s":
            union = self.node("address_union")
            if isinstance(union, UnionNode):
                return AddressNode(union)
        if name == "prefix" and generic.fmt == "B16sB":
            return PrefixNode(self._address(), False)
        if name == "ip4_prefix" and generic.fmt == "4sB":
            return FamilyPrefixNode(4, False)
        if name == "ip6_prefix" and generic.fmt == "16sB":
            return FamilyPrefixNode(6, False)
        return generic

    def field(self, f: list[Any]) -> Field:
        opts: dict[str, Any] = next((x for x in f if isinstance(x, dict)), {})
        parts = [x for x in f if not isinstance(x, dict)]
        tname, fname = parts[0], parts[1]
        limit = int(opts.get("limit") or 0)
        if len(parts) == 2:
            node = self.node(tname)
        elif len(parts) == 3:
            n = int(parts[2])
            if tname == "string":
                node = FixedStringNode(n, limit) if n else VarStringNode(limit)
            elif n == 0:
                node = VarArrayNode(self.node(tname), None)
            elif tname == "u8":
                node = BytesNode(n)
            else:
                node = FixedArrayNode(self.node(tname), n)
        elif tname == "string":
            node = VarStringNode(limit)
        else:
            node = VarArrayNode(self.node(tname), str(parts[3]))
        return fname, node, _default(opts.get("default"))


def _default(value: Any) -> Any:
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "false"):
            return low == "true"
        try:
            return int(low, 0)
        except ValueError:
            return value
    return value


class ApiSchema:
    """Every message, service and module of a set of ``*.api.json`` files."""

    def __init__(self, files: Iterable[Path]) -> None:
        self.modules: dict[str, ModuleDef] = {}
        self.messages: dict[str, MessageDef] = {}
        self.services: dict[str, ServiceDef] = {}
        self.by_id: dict[int, MessageDef] = {}
        self.json_texts: list[str] = []
        compiler = _TypeCompiler()
        loaded: list[tuple[str, dict[str, Any]]] = []
        for path in sorted(Path(p) for p in files):
            text = path.read_text(encoding="utf-8")
            api = json.loads(text)
            self.json_texts.append(text)
            module = path.name.removesuffix(".api.json")
            loaded.append((module, api))
            for kind, key in (
                ("enum", "enums"),
                ("enum", "enumflags"),
                ("union", "unions"),
                ("type", "types"),
            ):
                for t in api.get(key, []):
                    compiler.add(kind, t[0], t[1:])
            for name, alias in api.get("aliases", {}).items():
                compiler.add("alias", name, alias)
        # memclnt first so its fixed ids are known before the others are numbered
        loaded.sort(key=lambda m: (m[0] != "memclnt", m[0]))
        next_id = FIRST_MODULE_ID
        for module, api in loaded:
            next_id = self._add_module(module, api, compiler, next_id)
        for name, svc in self.services.items():
            if name not in self.messages:
                raise CodecError(f"service {name} has no message definition")
            if svc.reply is not None and svc.reply not in self.messages:
                raise CodecError(f"service {name}: reply {svc.reply} is not defined")

    def _add_module(
        self, module: str, api: dict[str, Any], compiler: _TypeCompiler, next_id: int
    ) -> int:
        raw_version = str(api.get("options", {}).get("version", "0.0.0"))
        parts = [int(x) for x in raw_version.split(".") if x.isdigit()] + [0, 0, 0]
        crc = str(api.get("vl_api_version", "0x0"))
        mod = ModuleDef(module, (parts[0], parts[1], parts[2]), crc)
        self.modules[module] = mod
        for m in api.get("messages", []):
            name = m[0]
            if name in self.messages:
                continue
            meta = next((x for x in m[1:] if isinstance(x, dict)), {})
            fields = [compiler.field(f) for f in m[1:] if isinstance(f, list)]
            if module == "memclnt" and name in MEMCLNT_IDS:
                msg_id = MEMCLNT_IDS[name]
            else:
                msg_id = next_id
                next_id += 1
            node = StructNode(name, fields)
            mdef = MessageDef(
                name,
                str(meta.get("crc", "0x00000000")),
                module,
                msg_id,
                node,
                frozenset(f[0] for f in fields),
            )
            self.messages[name] = mdef
            self.by_id[msg_id] = mdef
            mod.messages.append(name)
        ids = [self.messages[n].msg_id for n in mod.messages]
        mod.first_id = min(ids) if ids else 0
        for req, svc in api.get("services", {}).items():
            reply = svc.get("reply")
            self.services[req] = ServiceDef(
                req,
                None if reply in (None, "null") else str(reply),
                bool(svc.get("stream", False)),
                svc.get("stream_msg"),
                tuple(svc.get("events", ())),
            )
        return next_id

    def message_table(self) -> list[tuple[int, str]]:
        return sorted((m.msg_id, m.name_crc) for m in self.messages.values())
