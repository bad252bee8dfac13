"""Benchmark: program N routes and N cnat translations, vppnet vs a plain papi loop.

Both sides run against a fresh simulator in its own process (so the client
and the server do not share a GIL), in the same run, on the same machine.
The baseline is the plainest correct client: one vpp-papi call at a time,
checking each retval. vppnet goes through its whole stack: desired objects,
a full observe of VPP, diff, plan, and a pipelined apply.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vpp_papi import VPPApiClient

from agent.apidefs import api_dir
from agent.reconcile import REQUIRED_MESSAGES, Reconciler
from agent.vpp import VppConnection
from agent.vppobjects import Backend, CnatTranslation, Route, RoutePath, VppObject


@contextmanager
def simulator() -> Iterator[str]:
    """``vppnet sim`` in a child process; yields its socket path."""
    with tempfile.TemporaryDirectory(prefix="vppnet-bench-") as tmp:
        sock = str(Path(tmp) / "api.sock")
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent.cli", "sim", "--socket", sock, "--devices", "record"],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            while not os.path.exists(sock):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the simulator did not start")
                time.sleep(0.05)
            yield sock
        finally:
            proc.terminate()
            proc.wait(10)


def _prefix(i: int) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network((0x0A000000 + (i << 8), 24))  # 10.x.y.0/24


def _vip(i: int) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(0x0A600000 + i)  # 10.96.x.y


def _nh(i: int) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(0xC0A80002 + i % 200)  # 192.168.0.x


def _backend(i: int) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(0x0AF40000 + i % 4000)  # 10.244.x.y


def papi_loop(sock: str, n: int) -> tuple[float, float]:
    """Seconds for n sequential ip_route_add_del, then n cnat_translation_update."""
    vpp = VPPApiClient(apidir=str(api_dir()), server_address=sock, read_timeout=10)
    vpp.connect("bench-baseline")
    try:
        label: list[dict[str, int]] = [{}] * 16
        start = time.perf_counter()
        for i in range(n):
            nh = {
                "address": {"ip4": _nh(i)},
                "via_label": 0,
                "obj_id": 0,
                "classify_table_index": 0xFFFFFFFF,
            }
            path = {
                "sw_if_index": 0xFFFFFFFF,
                "table_id": 0,
                "weight": 1,
                "preference": 0,
                "type": 0,
                "flags": 0,
                "proto": 0,
                "nh": nh,
                "n_labels": 0,
                "label_stack": label,
            }
            r = vpp.api.ip_route_add_del(
                is_add=True,
                route={"table_id": 0, "prefix": _prefix(i), "n_paths": 1, "paths": [path]},
            )
            assert r.retval == 0
        routes = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(n):
            ep = {"addr": _backend(i), "sw_if_index": 0xFFFFFFFF, "if_af": 0, "port": 8080}
            src = {"addr": "0.0.0.0", "sw_if_index": 0xFFFFFFFF, "if_af": 0, "port": 0}
            r = vpp.api.cnat_translation_update(
                translation={
                    "vip": {"addr": _vip(i), "sw_if_index": 0xFFFFFFFF, "if_af": 0, "port": 80},
                    "id": 0,
                    "ip_proto": 6,
                    "is_real_ip": 0,
                    "flags": 1,
                    "lb_type": 1,
                    "n_paths": 1,
                    "flow_hash_config": 0x1F,
                    "paths": [{"dst_ep": ep, "src_ep": src, "flags": 0}],
                }
            )
            assert r.retval == 0
        return routes, time.perf_counter() - start
    finally:
        vpp.disconnect()


def desired_routes(n: int) -> dict[str, VppObject]:
    routes = [Route(0, _prefix(i), (RoutePath(nh=_nh(i)),)) for i in range(n)]
    return {r.key: r for r in routes}


def desired_cnat(n: int) -> dict[str, VppObject]:
    out = [CnatTranslation(_vip(i), 80, "TCP", (Backend(_backend(i), 8080),)) for i in range(n)]
    return {t.key: t for t in out}


@dataclass
class VppnetTimes:
    routes: float
    cnat: float
    replan_routes: float  # full read and diff, n routes only
    replan_full: float  # dumps + observe + diff of everything
    replan_cached: float  # diff against the reconciler's observed state
    calls: int


def vppnet_apply(sock: str, n: int) -> VppnetTimes:
    with tempfile.TemporaryDirectory() as tmp, VppConnection(sock, timeout=10) as conn:
        conn.connect(check=REQUIRED_MESSAGES)
        rec = Reconciler(conn, Path(tmp) / "index.json")
        routes = desired_routes(n)
        start = time.perf_counter()
        _plan, r1 = rec.converge(routes)
        t_routes = time.perf_counter() - start
        start = time.perf_counter()
        assert rec.plan(routes, refresh=True).empty
        t_replan_routes = time.perf_counter() - start
        both = {**routes, **desired_cnat(n)}
        start = time.perf_counter()
        _plan, r2 = rec.converge(both)
        t_cnat = time.perf_counter() - start
        assert r1.ok and r2.ok, (r1.render(), r2.render())
        start = time.perf_counter()
        full = rec.plan(both, refresh=True)
        t_full = time.perf_counter() - start
        start = time.perf_counter()
        cached = rec.plan(both)
        t_cached = time.perf_counter() - start
        assert full.empty and cached.empty, full.render()
        return VppnetTimes(t_routes, t_cnat, t_replan_routes, t_full, t_cached, r1.calls + r2.calls)


def run(n: int) -> str:
    """Run both sides and return the markdown section of docs/benchmarks.md."""
    with simulator() as sock:
        base_routes, base_cnat = papi_loop(sock, n)
    with simulator() as sock:
        ours = vppnet_apply(sock, n)
    rows = [
        ("routes (ip_route_add_del)", base_routes, ours.routes),
        ("cnat translations (cnat_translation_update)", base_cnat, ours.cnat),
        ("both", base_routes + base_cnat, ours.routes + ours.cnat),
    ]
    lines = [
        f"## Programming {n:,} routes and {n:,} cnat translations",
        "",
        "Baseline: the plainest vpp-papi loop, one call at a time, each retval checked.",
        "vppnet: desired objects -> observe VPP (dumps) -> diff -> plan -> pipelined apply",
        "(window 64), through the same vpp-papi client. Each side against its own fresh",
        "simulator process.",
        "",
        "| objects | papi loop | vppnet apply | vppnet / papi (rate) |",
        "|---|---|---|---|",
    ]
    for what, base, mine in rows:
        count = 2 * n if what == "both" else n
        lines.append(
            f"| {what} | {base:.2f} s ({count / base:,.0f}/s) | {mine:.2f} s "
            f"({count / mine:,.0f}/s) | {base / mine:.2f}x |"
        )
    lines += [
        "",
        "Re-plan of unchanged objects (the plan must come out empty):",
        "",
        "| objects | full read of VPP (dumps, observe, diff) | against the cached observed state |",
        "|---|---|---|",
        f"| {n:,} routes | {ours.replan_routes:.3f} s | - |",
        f"| {n:,} routes + {n:,} translations | {ours.replan_full:.3f} s | "
        f"{ours.replan_cached * 1000:.1f} ms |",
        "",
        f"vppnet made {ours.calls:,} VPP calls for {2 * n:,} objects.",
        "",
        "Reading: both sides are bound by the Python client, not by the simulator, which",
        "runs in its own process and idles between requests. Pipelining removes the",
        "wait for each reply, so vppnet's apply beats the sequential loop even though it",
        "also reads VPP and diffs first. What remains is vpp-papi's own encoding and",
        "decoding: every route path carries a fixed 16-entry MPLS label stack, packed and",
        "unpacked field by field. The same limit makes a full read of VPP cost "
        f"{ours.replan_routes:.1f} s per {n:,} routes,",
        "above the 1 s the Foundation issue set for a re-plan of 10,000 unchanged objects:",
        "the periodic resync and a restart pay it. Every other plan (each converge after",
        "a change) is against the reconciler's observed state, kept up to date by every",
        f"apply, which does not read VPP at all: {ours.replan_cached * 1000:.0f} ms for "
        f"{2 * n:,} objects.",
    ]
    return "\n".join(lines)
