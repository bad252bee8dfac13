"""A plan: the creates, updates and deletes that take VPP from observed to desired.

Plans are values: they print readably (``vppnet plan``), serialize to JSON,
and can be asserted on in tests without any VPP.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from agent.vppobjects import (
    AfPacket,
    CnatFeature,
    CnatTranslation,
    InterfaceAddress,
    Ipip,
    Loopback,
    Memif,
    MemifSocket,
    Neighbor,
    NpolInterface,
    NpolIpset,
    NpolPolicy,
    NpolRule,
    Route,
    SnatAddresses,
    SnatExclude,
    SnatInterface,
    SnatPolicy,
    TunTap,
    VppObject,
    VrfTable,
    Vxlan,
)


class Op(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    ADOPT = "adopt"  # already right in VPP; only ownership is recorded


_SIGN = {Op.CREATE: "+", Op.UPDATE: "~", Op.DELETE: "-", Op.ADOPT: "="}


@dataclass(frozen=True, slots=True)
class Change:
    op: Op
    obj: VppObject  # the desired object (create, update) or the observed one (delete)
    old: VppObject | None = None  # the observed object of an update
    reason: str = ""

    @property
    def key(self) -> str:
        return self.obj.key

    def render(self) -> str:
        line = f"{_SIGN[self.op]} {self.op.value:<6} {describe(self.obj)}"
        return f"{line}  ({self.reason})" if self.reason else line


@dataclass(frozen=True, slots=True)
class Conflict:
    """A desired object whose key is held by something vppnet does not own."""

    obj: VppObject
    holder: str

    def render(self) -> str:
        return f"! skip   {describe(self.obj)}  (held by a foreign {self.holder})"


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        out = {op.value: 0 for op in Op}
        for c in self.changes:
            out[c.op.value] += 1
        out["conflict"] = len(self.conflicts)
        return out

    def render(self) -> str:
        lines = [c.render() for c in self.changes] + [c.render() for c in self.conflicts]
        n = self.counts()
        summary = (
            f"plan: {n['create']} to create, {n['update']} to update, {n['delete']} to delete"
            + (f", {n['adopt']} to adopt" if n["adopt"] else "")
            + (f", {n['conflict']} in conflict" if n["conflict"] else "")
        )
        if self.empty and not self.conflicts:
            return "plan: VPP already matches the desired state; nothing to do"
        return "\n".join([*lines, summary])

    def to_json(self) -> dict[str, Any]:
        return {
            "changes": [
                {"op": c.op.value, "key": c.key, "object": describe(c.obj), "reason": c.reason}
                for c in self.changes
            ],
            "conflicts": [
                {"key": c.obj.key, "object": describe(c.obj), "holder": c.holder}
                for c in self.conflicts
            ],
            "counts": self.counts(),
        }


def changed_fields(old: Any, new: Any) -> list[str]:
    """``field old -> new`` for each dataclass field that differs (nested one level)."""
    out: list[str] = []
    for f in fields(old):
        a, b = getattr(old, f.name), getattr(new, f.name)
        if a == b:
            continue
        if hasattr(a, "__dataclass_fields__") and hasattr(b, "__dataclass_fields__"):
            out.extend(f"{f.name}.{sub}" for sub in changed_fields(a, b))
        else:
            out.append(f"{f.name} {_short(a)} -> {_short(b)}")
    return out


def _short(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def describe(obj: VppObject) -> str:
    """One readable line per object, as an operator would want to read it."""
    match obj:
        case VrfTable():
            return f"table {obj.table_id} ({'ip6' if obj.ip6 else 'ip4'})"
        case MemifSocket():
            return f"memif socket {obj.name} at {obj.path}"
        case TunTap():
            kind = "tun" if obj.tun else "tap"
            return (
                f"interface {obj.name}: {kind}, host {obj.host_if_name} in {obj.host_netns}"
                f"{_settings_text(obj)}"
            )
        case AfPacket():
            return f"interface {obj.name}: af_packet on {obj.host_if_name}{_settings_text(obj)}"
        case Memif():
            return (
                f"interface {obj.name}: memif {obj.memif_id} on socket {obj.socket}, "
                f"{obj.rx_queues}x{obj.ring_size} queues{_settings_text(obj)}"
            )
        case Vxlan():
            return (
                f"interface {obj.name}: vxlan {obj.src} -> {obj.dst} vni {obj.vni}"
                f"{_settings_text(obj)}"
            )
        case Ipip():
            return f"interface {obj.name}: ipip {obj.src} -> {obj.dst}{_settings_text(obj)}"
        case Loopback():
            return f"interface {obj.name}: loopback{_settings_text(obj)}"
        case InterfaceAddress():
            return f"address {obj.prefix} on {obj.interface}"
        case Neighbor():
            return f"neighbor {obj.ip} is {obj.mac} on {obj.interface}"
        case Route():
            paths = "; ".join(str(p) for p in obj.paths)
            return f"route {obj.prefix} table {obj.table_id}: {paths}"
        case CnatTranslation():
            backends = ", ".join(str(b) for b in obj.backends) or "no backends"
            lb = "maglev" if obj.maglev else "hash"
            if obj.flow_hash != ("src", "dst", "sport", "dport", "proto"):
                lb += " on " + "+".join(obj.flow_hash)
            scope = ", feature interfaces only" if obj.no_client else ""
            return f"cnat {obj.proto} {obj.vip}:{obj.port} -> {backends} ({lb}{scope})"
        case CnatFeature():
            return f"cnat feature on {obj.interface}"
        case SnatAddresses():
            return f"cnat snat to {obj.ip4 or '-'} / {obj.ip6 or '-'}"
        case SnatPolicy():
            return f"cnat snat policy {obj.policy}"
        case SnatInterface():
            return f"cnat snat table {obj.table}: {obj.interface}"
        case SnatExclude():
            return f"cnat snat never to {obj.prefix}"
        case NpolIpset():
            return f"npol ipset {obj.name} ({obj.kind}, {len(obj.members)} members)"
        case NpolRule():
            return f"npol rule {obj.name}: {obj.action}, {len(obj.entries)} entries"
        case NpolPolicy():
            return f"npol policy {obj.name}: {len(obj.inbound)} in, {len(obj.outbound)} out"
        case NpolInterface():
            return (
                f"npol on {obj.interface}: in {list(obj.inbound)} then {obj.inbound_default}, "
                f"out {list(obj.outbound)} then {obj.outbound_default}, "
                f"profiles {list(obj.profiles)}"
            )


def _settings_text(obj: TunTap | AfPacket | Memif | Vxlan | Ipip | Loopback) -> str:
    s = obj.settings
    parts = [] if s.admin_up else ["down"]
    if s.vrf4 or s.vrf6:
        parts.append(f"vrf {s.vrf4}/{s.vrf6}")
    if s.mtu:
        parts.append(f"mtu {s.mtu}")
    if s.rx_mode:
        parts.append(f"rx {s.rx_mode}")
    if s.unnumbered_from is not None:
        parts.append(f"unnumbered from {s.unnumbered_from}")
    return (", " + ", ".join(parts)) if parts else ""
