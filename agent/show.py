"""``vppnet show``: read VPP through its dumps and print it for humans or as JSON.

This reads VPP directly (not the agent's model), so it shows what is really
programmed, including objects vppnet does not own.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import json
from collections.abc import Callable
from typing import Any

from agent.vpp import VppConnection, cnat, interfaces, ip, ipip, memif, nat44, tap, vxlan
from agent.vpp.request import ANY_INTERFACE

SECTIONS = (
    "interfaces",
    "addresses",
    "tables",
    "routes",
    "neighbors",
    "taps",
    "memif",
    "vxlan",
    "ipip",
    "cnat",
    "nat44",
)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(
        value,
        ipaddress.IPv4Address
        | ipaddress.IPv6Address
        | ipaddress.IPv4Network
        | ipaddress.IPv6Network
        | ipaddress.IPv4Interface
        | ipaddress.IPv6Interface,
    ):
        return str(value)
    return value


def collect(conn: VppConnection, section: str) -> Any:
    """The typed objects of one section, read from VPP."""
    if section == "interfaces":
        return conn.dump(interfaces.dump())
    if section == "addresses":
        out = []
        for i in conn.dump(interfaces.dump()):
            for ip6 in (False, True):
                out += conn.dump(interfaces.dump_addresses(i.sw_if_index, ip6))
        return out
    if section == "tables":
        return conn.dump(ip.dump_tables())
    if section == "routes":
        routes = []
        for t in conn.dump(ip.dump_tables()):
            routes += conn.dump(ip.dump_routes(t.table_id, t.ip6))
        return routes
    if section == "neighbors":
        return conn.dump(ip.dump_neighbors(False)) + conn.dump(ip.dump_neighbors(True))
    if section == "taps":
        return conn.dump(tap.dump())
    if section == "memif":
        return {"sockets": conn.dump(memif.dump_sockets()), "interfaces": conn.dump(memif.dump())}
    if section == "vxlan":
        return conn.dump(vxlan.dump())
    if section == "ipip":
        return conn.dump(ipip.dump())
    if section == "cnat":
        return conn.dump(cnat.dump())
    if section == "nat44":
        return {
            "interfaces": conn.dump(nat44.dump_interfaces()),
            "interface_addresses": conn.dump(nat44.dump_interface_addresses()),
        }
    raise ValueError(f"unknown section {section!r}; choose from {', '.join(SECTIONS)}")


def as_json(conn: VppConnection, sections: list[str]) -> str:
    return json.dumps({s: _plain(collect(conn, s)) for s in sections}, indent=2)


def as_text(conn: VppConnection, sections: list[str]) -> str:
    names = {i.sw_if_index: i.name for i in conn.dump(interfaces.dump())}
    blocks = []
    for s in sections:
        render = _TEXT.get(s)
        data = collect(conn, s)
        body = render(data, names) if render else json.dumps(_plain(data), indent=2)
        blocks.append(f"== {s} ==\n{body}")
    return "\n\n".join(blocks)


def _table(rows: list[list[str]]) -> str:
    if len(rows) <= 1:
        return "(none)"
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _interfaces(data: list[interfaces.Interface], _names: dict[int, str]) -> str:
    rows = [["idx", "name", "type", "state", "mtu", "mac", "tag"]]
    for i in data:
        state = ("up" if i.admin_up else "down") + ("/link" if i.link_up else "")
        mtu = str(i.mtu[0] or i.link_mtu)
        rows.append([str(i.sw_if_index), i.name, i.dev_type, state, mtu, i.mac, i.tag])
    return _table(rows)


def _addresses(data: list[interfaces.InterfaceAddress], names: dict[int, str]) -> str:
    rows = [["interface", "address"]]
    rows += [[names.get(a.sw_if_index, str(a.sw_if_index)), str(a.prefix)] for a in data]
    return _table(rows)


def _tables(data: list[ip.Table], _names: dict[int, str]) -> str:
    rows = [["table", "family", "name"]]
    rows += [[str(t.table_id), "ip6" if t.ip6 else "ip4", t.name] for t in data]
    return _table(rows)


def _path_text(p: ip.Path, names: dict[int, str]) -> str:
    if p.type != ip.PathType.NORMAL:
        return p.type.name.lower()
    parts = []
    if p.nh is not None:
        parts.append(f"via {p.nh}")
    if p.sw_if_index != ANY_INTERFACE:
        parts.append(f"dev {names.get(p.sw_if_index, p.sw_if_index)}")
    elif p.nh is None:
        parts.append(f"lookup table {p.table_id}")
    return " ".join(parts)


def _routes(data: list[ip.Route], names: dict[int, str]) -> str:
    rows = [["table", "prefix", "paths"]]
    for r in data:
        paths = "; ".join(_path_text(p, names) for p in r.paths)
        rows.append([str(r.table_id), str(r.prefix), paths])
    return _table(rows)


def _taps(data: list[tap.Tap], _names: dict[int, str]) -> str:
    rows = [["idx", "dev", "host name", "netns", "host mtu", "flags"]]
    for t in data:
        flags = ",".join(f.name.lower() for f in tap.TapFlags if f in t.flags and f.name) or "-"
        rows.append(
            [
                str(t.sw_if_index),
                t.dev_name,
                t.host_if_name,
                t.host_namespace,
                str(t.host_mtu),
                flags,
            ]
        )
    return _table(rows)


def _cnat(data: list[cnat.Translation], _names: dict[int, str]) -> str:
    rows = [["id", "vip", "proto", "lb", "backends"]]
    for t in data:
        backends = ", ".join(f"{b.dst.addr}:{b.dst.port}" for b in t.backends)
        rows.append(
            [
                str(t.translation_id),
                f"{t.vip.addr}:{t.vip.port}",
                t.proto.name,
                t.lb_type.name.lower(),
                backends,
            ]
        )
    return _table(rows)


_TEXT: dict[str, Callable[[Any, dict[int, str]], str]] = {
    "interfaces": _interfaces,
    "addresses": _addresses,
    "tables": _tables,
    "routes": _routes,
    "taps": _taps,
    "cnat": _cnat,
}
