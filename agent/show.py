"""``vppnet show <VPP section>``: read VPP through its dumps and print it for humans or as JSON.

This reads VPP directly (not the agent's model), so it shows what is really
programmed, including objects vppnet does not own. The agent's own views
(``show pods``, ``services``...) come over its control socket instead
(:mod:`agent.control`); both print through :mod:`agent.control.output`.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import json
from collections.abc import Callable
from typing import Any

from agent.control.output import heading, table
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


def plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
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
    return json.dumps({s: plain(collect(conn, s)) for s in sections}, indent=2)


def as_text(conn: VppConnection, sections: list[str], colour: bool = False) -> str:
    """Aligned tables (JSON for sections without one); ``colour``: ANSI for a terminal."""
    names = {i.sw_if_index: i.name for i in conn.dump(interfaces.dump())}
    blocks = []
    for s in sections:
        render = _TEXT.get(s)
        data = collect(conn, s)
        if render is not None:
            header, *rows = render(data, names)
            body = table(header, rows, colour)
        else:
            body = json.dumps(plain(data), indent=2)
        blocks.append(f"{heading(s, colour)}\n{body}")
    return "\n\n".join(blocks)


def _table(rows: list[list[str]]) -> list[list[str]]:
    """The header row and the rows, for :func:`agent.control.output.table`."""
    return rows


def _interfaces(data: list[interfaces.Interface], _names: dict[int, str]) -> list[list[str]]:
    rows = [["idx", "name", "type", "state", "mtu", "mac", "tag"]]
    for i in data:
        state = ("up" if i.admin_up else "down") + ("/link" if i.link_up else "")
        mtu = str(i.mtu[0] or i.link_mtu)
        rows.append([str(i.sw_if_index), i.name, i.dev_type, state, mtu, i.mac, i.tag])
    return _table(rows)


def _addresses(data: list[interfaces.InterfaceAddress], names: dict[int, str]) -> list[list[str]]:
    rows = [["interface", "address"]]
    rows += [[names.get(a.sw_if_index, str(a.sw_if_index)), str(a.prefix)] for a in data]
    return _table(rows)


def _tables(data: list[ip.Table], _names: dict[int, str]) -> list[list[str]]:
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


def _routes(data: list[ip.Route], names: dict[int, str]) -> list[list[str]]:
    rows = [["table", "prefix", "paths"]]
    for r in data:
        paths = "; ".join(_path_text(p, names) for p in r.paths)
        rows.append([str(r.table_id), str(r.prefix), paths])
    return _table(rows)


def _taps(data: list[tap.Tap], _names: dict[int, str]) -> list[list[str]]:
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


def _cnat(data: list[cnat.Translation], _names: dict[int, str]) -> list[list[str]]:
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


_TEXT: dict[str, Callable[[Any, dict[int, str]], list[list[str]]]] = {
    "interfaces": _interfaces,
    "addresses": _addresses,
    "tables": _tables,
    "routes": _routes,
    "taps": _taps,
    "cnat": _cnat,
}
