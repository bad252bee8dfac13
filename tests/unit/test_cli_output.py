"""How the vppnet command prints: aligned tables, colour only for a terminal, the views'
text, and the control protocol's refusals (no agent, no I/O)."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from agent.cli import build_parser
from agent.control import text
from agent.control.output import RESET, STYLES, paint, table, use_colour, visible_width
from agent.control.protocol import MAX_REQUEST, BadRequestError, decode_request, encode


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_for_a_terminal_without_no_color() -> None:
    assert use_colour(Tty(), {}) is True
    assert use_colour(io.StringIO(), {}) is False  # a pipe, a file, a log
    assert use_colour(Tty(), {"NO_COLOR": "1"}) is False
    assert use_colour(Tty(), {"NO_COLOR": ""}) is True  # no-color.org: set *and* not empty
    closed = io.StringIO()
    closed.close()
    assert use_colour(closed, {}) is False  # isatty() on a closed stream raises


def test_table_aligns_columns_and_ignores_escapes() -> None:
    rows = [["demo/web-1/eth0", paint("yes", "green", True)], ["a", paint("NO", "red", True)]]
    out = table(["POD", "IN VPP"], rows, colour=True).splitlines()
    assert out[0] == f"{STYLES['bold']}POD{RESET}" + " " * 14 + f"{STYLES['bold']}IN VPP{RESET}"
    plain = table(["POD", "IN VPP"], [["demo/web-1/eth0", "yes"], ["a", "NO"]])
    # on screen the coloured table is the plain one: escapes take no room
    assert [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in out] == plain.splitlines()
    assert [visible_width(line) for line in out] == [len(line) for line in plain.splitlines()]
    assert plain.splitlines() == [
        "POD              IN VPP",
        "demo/web-1/eth0  yes",
        "a                NO",
    ]
    assert "\x1b" not in plain
    assert table(["X"], []) == "(none)"
    with pytest.raises(ValueError, match="one cell per column"):
        table(["A", "B"], [["only one"]])


def _pod(**over: Any) -> dict[str, Any]:
    pod = {
        "name": "demo/web-1/eth0",
        "network": "default",
        "table": 0,
        "type": "tun",
        "addresses": ["10.244.1.10/32", "fd00::a/128"],
        "host_interface": "cali9beb1ed9b53",
        "mtu": 1450,
        "queues": "1/1x1024",
        "sw_if_index": 12,
        "in_vpp": True,
    }
    return pod | over


def test_pods_text_says_what_is_not_in_vpp_without_colour() -> None:
    missing = _pod(name="demo/db-0/eth0", sw_if_index=None, in_vpp=False)
    unknown = _pod(name="demo/x-0/eth0", in_vpp=None)
    lines = text.pods([_pod(), missing, unknown]).splitlines()
    assert lines[0].split()[-2:] == ["IN", "VPP"]
    assert lines[1].split()[-1] == "yes" and "10.244.1.10/32,fd00::a/128" in lines[1]
    assert lines[2].split()[-2:] == ["-", "NO"]  # no sw_if_index, and not in VPP
    assert lines[3].split()[-1] == "?"
    coloured = text.pods([missing], colour=True)
    assert paint("NO", "red", True) in coloured


def test_drift_text_and_colours_by_operation() -> None:
    clean = {"drift": False, "text": "plan: VPP already matches the desired state; nothing to do"}
    assert text.drift(clean) == clean["text"]
    plan_text = "+ create cnat TCP 10.96.0.10:80\n- delete route 10.1.0.0/24 table 0\nplan: 1 ..."
    drifted = text.drift({"drift": True, "text": plan_text})
    assert drifted.splitlines()[0].startswith("VPP differs from what the agent wants (drift)")
    assert drifted.splitlines()[1:] == plan_text.splitlines()
    coloured = text.plan(plan_text, colour=True).splitlines()
    assert coloured[0] == paint("+ create cnat TCP 10.96.0.10:80", "green", True)
    assert coloured[1] == paint("- delete route 10.1.0.0/24 table 0", "red", True)


def test_services_text_counts_translations_in_vpp() -> None:
    service = {
        "name": "demo/web",
        "type": "ClusterIP",
        "network": "default",
        "vips": ["10.96.0.10"],
        "ports": ["80/TCP"],
        "endpoints": 2,
        "ready_endpoints": 1,
        "translations": 2,
        "translations_in_vpp": 1,
    }
    row = text.services([service]).splitlines()[1].split()
    assert row == ["demo/web", "ClusterIP", "default", "10.96.0.10", "80/TCP", "1/2", "1/2"]
    assert text.services([service | {"translations_in_vpp": None}]).endswith("?/2")


def test_protocol_refuses_bad_requests_with_a_reason() -> None:
    assert decode_request(encode({"request": "pods"})) == ("pods", {})
    name, args = decode_request(b'{"request": "explain-policy", "target": "a/b/c"}\n')
    assert name == "explain-policy" and args == {"target": "a/b/c"}
    for line, reason in (
        (b"{}", "not terminated"),
        (b"x" * MAX_REQUEST + b"\n", "too long"),
        (b"nope\n", "not JSON"),
        (b'"pods"\n', "JSON object"),
        (b'{"request": 3}\n', '"request" field'),
        (b'{"request": "shutdown"}\n', "unknown request 'shutdown'; known: status, pods"),
    ):
        with pytest.raises(BadRequestError, match=reason):
            decode_request(line)


def test_every_show_plan_and_explain_command_takes_json() -> None:
    parser = build_parser()
    for argv in (
        ["show", "pods"],
        ["show", "routes"],
        ["plan", "--live"],
        ["plan", "--scenario", "x.yaml"],
        ["explain", "service", "10.96.0.10", "80"],
        ["explain", "route", "10.0.0.1"],
        ["explain", "policy", "a/b/c", "ingress", "tcp 1.1.1.1 2.2.2.2:80"],
    ):
        assert parser.parse_args([*argv, "--json"]).json is True
    with pytest.raises(SystemExit):  # plan needs one source: a scenario or the live agent
        parser.parse_args(["plan"])
    with pytest.raises(SystemExit):
        parser.parse_args(["plan", "--live", "--scenario", "x.yaml"])
