"""Human text of the control socket's views (the JSON is the views themselves).

Each function takes a view as the agent sent it (plain JSON values) and a
colour flag (:func:`agent.control.output.use_colour`), so what a person reads
and what a script parses come from the same data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.control.output import heading, paint, table, yes_no

_PLAN_STYLES = {"+": "green", "-": "red", "~": "yellow", "!": "red", "=": "dim"}


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def status(view: dict[str, Any], colour: bool = False) -> str:
    ready = paint("ready", "green", colour) if view["ready"] else paint("NOT READY", "red", colour)
    vpp = (
        paint("connected", "green", colour)
        if view["vpp_connected"]
        else paint("NOT CONNECTED", "red", colour)
    )
    model = view["model"]
    lines = [
        f"node {view['node']}: {ready}, VPP {vpp} (reconnects {view['vpp_reconnects']})",
        f"uptime {view['uptime_seconds']:.0f} s, resyncs {view['resyncs']}, "
        f"drift repaired {view['repaired']}",
        f"VPP objects: {view['desired_objects']} desired, "
        f"{_cell(view['owned_objects'])} owned, {view['pending']} pending retry",
        "model: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in model.items()),
    ]
    if view["last_error"]:
        lines.append(paint(f"last error: {view['last_error']}", "red", colour))
    return "\n".join(lines)


def pods(view: list[dict[str, Any]], colour: bool = False) -> str:
    rows = [
        [
            p["name"],
            p["network"],
            _cell(p["table"]),
            p["type"],
            _cell(p["addresses"]),
            p["host_interface"],
            _cell(p["sw_if_index"]),
            yes_no(p["in_vpp"], colour),
        ]
        for p in view
    ]
    header = ["POD INTERFACE", "NETWORK", "TABLE", "TYPE", "ADDRESSES", "HOST IF", "VPP IF"]
    return table([*header, "IN VPP"], rows, colour)


def networks(view: list[dict[str, Any]], colour: bool = False) -> str:
    rows = [
        [
            n["name"] + (" (terminating)" if n["terminating"] else ""),
            str(n["vni"]),
            str(n["table"]),
            _cell(n["ranges"]),
            str(n["pods"]),
            _cell(n["attachments"]),
            yes_no(n["in_vpp"], colour),
        ]
        for n in view
    ]
    header = ["NETWORK", "VNI", "TABLE", "RANGES", "PODS", "ATTACHMENTS", "VRF IN VPP"]
    return table(header, rows, colour)


def services(view: list[dict[str, Any]], colour: bool = False) -> str:
    rows = []
    for s in view:
        wanted, present = s["translations"], s["translations_in_vpp"]
        if present is None:
            in_vpp = paint(f"?/{wanted}", "yellow", colour)
        else:
            in_vpp = paint(f"{present}/{wanted}", "green" if present == wanted else "red", colour)
        rows.append(
            [
                s["name"],
                s["type"],
                s["network"],
                _cell(s["vips"]),
                _cell(s["ports"]),
                f"{s['ready_endpoints']}/{s['endpoints']}",
                in_vpp,
            ]
        )
    header = ["SERVICE", "TYPE", "NETWORK", "VIPS", "PORTS", "READY EPS", "CNAT IN VPP"]
    return table(header, rows, colour)


def policies(view: list[dict[str, Any]], colour: bool = False) -> str:
    rows = [
        [
            p["kind"],
            p["name"],
            _cell(p["order"]),
            str(p["ingress_rules"]),
            str(p["egress_rules"]),
            _cell(p["pods"]),
        ]
        for p in view
    ]
    header = ["KIND", "NAME", "ORDER", "IN RULES", "OUT RULES", "APPLIED TO"]
    return table(header, rows, colour)


def desired(view: list[dict[str, Any]], colour: bool = False) -> str:
    rows = [[o["kind"], o["object"], yes_no(o["in_vpp"], colour)] for o in view]
    return table(["KIND", "OBJECT", "IN VPP"], rows, colour)


def plan(text: str, colour: bool = False) -> str:
    """A plan's text with its change lines coloured by operation."""
    if not colour:
        return text
    out = []
    for line in text.splitlines():
        style = _PLAN_STYLES.get(line[:1])
        out.append(paint(line, style, colour) if style else paint(line, "bold", colour))
    return "\n".join(out)


def drift(view: dict[str, Any], colour: bool = False) -> str:
    if not view["drift"]:
        return paint(view["text"], "green", colour)
    note = "VPP differs from what the agent wants (drift); the next resync repairs this:"
    return f"{paint(note, 'red', colour)}\n{plan(view['text'], colour)}"


def explanation(view: dict[str, Any], colour: bool = False) -> str:
    if not colour:
        return str(view["text"])
    out = []
    for line in str(view["text"]).splitlines():
        if "verdict" in line:
            style = "red" if "DENY" in line.split(";")[0] or "DISAGREES" in line else "green"
            out.append(paint(line, style, colour))
        else:
            out.append(line)
    return "\n".join(out)


SECTIONS: dict[str, Callable[[Any, bool], str]] = {
    "status": status,
    "pods": pods,
    "networks": networks,
    "services": services,
    "policies": policies,
    "desired": desired,
}


def section(name: str, view: Any, colour: bool = False) -> str:
    return f"{heading(name, colour)}\n{SECTIONS[name](view, colour)}"
