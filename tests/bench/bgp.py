"""Benchmark: N prefixes learned over BGP into VPP routes, vs a plain vpp-papi route loop.

A fabric router (a plain gobgpd) announces N IPv4 prefixes to one node over
an eBGP session; the node's speaker follows gobgpd's best-path events,
writes the routes into the cluster model and converges the dataplane. The
clock runs from the router's announcement (one AddPathStream) until the
node's dataplane is idle with every route programmed, and again for the
withdrawal of all of them. The baseline programs the same N routes with the
plainest vpp-papi loop (one ip_route_add_del at a time, each retval
checked). Each side has its own fresh simulator process; the BGP session is
set up before the clock starts (GoBGP waits 5-10 s before connecting).

Needs root (the gobgpd processes share a private network namespace, since
GoBGP refuses loopback next hops) and gobgpd; otherwise the section says so.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vpp_papi import VPPApiClient

import plugins
from agent.apidefs import api_dir
from agent.bgp import BgpSettings, BgpSpeaker
from agent.bgp import paths as bgp_paths
from agent.bgp.client import GobgpClient
from agent.bgp.process import GobgpdProcess
from agent.dataplane import Dataplane
from agent.model import ClusterModel, Node
from agent.proto_gen import gobgp_pb2 as pb
from agent.reconcile import REQUIRED_MESSAGES, Reconciler
from agent.state import ClusterState
from agent.vpp import VppConnection, ip
from tests.bench.foundation import simulator

ROUTER, NODE = "192.168.77.1", "192.168.77.2"
ROUTER_ASN, NODE_ASN = 65000, 64512


def _prefix(i: int) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network((0x0B000000 + (i << 8), 24))  # 11.x.y.0/24


def papi_routes(sock: str, n: int) -> float:
    """Seconds for n sequential ip_route_add_del via the router."""
    vpp = VPPApiClient(apidir=str(api_dir()), server_address=sock, read_timeout=10)
    vpp.connect("bench-bgp-baseline")
    try:
        nh = {
            "address": {"ip4": ipaddress.IPv4Address(ROUTER)},
            "via_label": 0,
            "obj_id": 0,
            "classify_table_index": 0xFFFFFFFF,
        }
        label: list[dict[str, int]] = [{}] * 16
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
        start = time.perf_counter()
        for i in range(n):
            route = {"table_id": 0, "prefix": _prefix(i), "n_paths": 1, "paths": [path]}
            r = vpp.api.ip_route_add_del(is_add=True, route=route)
            assert r.retval == 0
        return time.perf_counter() - start
    finally:
        vpp.disconnect()


@contextmanager
def fabric() -> Iterator[str]:
    from pyroute2 import NetNS, netns

    name = f"vppnet-bench-{secrets.token_hex(3)}"
    netns.create(name)
    try:
        with NetNS(name) as ns:
            lo = ns.link_lookup(ifname="lo")[0]
            ns.link("set", index=lo, state="up")
            for address in (ROUTER, NODE):
                ns.addr("add", index=lo, address=address, prefixlen=24)
        yield name
    finally:
        netns.remove(name)


def _router_paths(n: int) -> list[pb.Path]:
    return [
        bgp_paths.encode(bgp_paths.Announced(_prefix(i), ipaddress.IPv4Address(ROUTER)), ROUTER_ASN)
        for i in range(n)
    ]


def _wait(check: object, timeout: float) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError("the benchmark did not converge in time")
        time.sleep(0.005)


def bgp_into_vpp(sock: str, ns: str, tmp: Path, n: int) -> tuple[float, float, float]:
    """(seconds until all n learned in the model, until all n in VPP, to withdraw all n)."""
    settings = BgpSettings(
        api_socket=str(tmp / "node.sock"),
        netns=ns,
        peers=[{"name": "fabric", "address": ROUTER, "asn": ROUTER_ASN}],  # type: ignore[list-item]
        debounce_seconds=0.05,
        max_delay_seconds=0.5,
    )
    router = GobgpdProcess(BgpSettings(api_socket=str(tmp / "router.sock"), netns=ns))
    router.start()
    conn = VppConnection(sock, timeout=30)
    conn.connect(check=REQUIRED_MESSAGES)
    node = Node("b", (ipaddress.ip_interface(f"{NODE}/24"),))
    state = ClusterState(ClusterModel.build("b", nodes=[node]))
    dataplane = Dataplane(state, Reconciler(conn, tmp / "index.json"), plugins.render)
    speaker = BgpSpeaker(state, dataplane, settings)
    try:
        with GobgpClient(router.target, timeout=60) as fabric_api:
            fabric_api.start(
                pb.Global(
                    asn=ROUTER_ASN, router_id=ROUTER, listen_port=179, listen_addresses=[ROUTER]
                )
            )
            fabric_api.add_peer(
                pb.Peer(
                    conf=pb.PeerConf(neighbor_address=NODE, peer_asn=NODE_ASN),
                    transport=pb.Transport(local_address=ROUTER),
                )
            )
            speaker.start_sync()
            _wait(lambda: speaker.status.peers.get(ROUTER) == "ESTABLISHED", 60)
            routes = _router_paths(n)
            start = time.perf_counter()
            fabric_api.add_paths(routes)
            _wait(lambda: speaker.status.learned == n, 600)
            learned = time.perf_counter() - start
            _wait(lambda: speaker.wait_idle(1) and len(dataplane.desired) >= n, 600)
            programmed = time.perf_counter() - start
            in_vpp = [r for r in conn.dump(ip.dump_routes(0, False)) if r.prefix.prefixlen == 24]
            assert len([r for r in in_vpp if str(r.prefix).startswith("11.")]) == n
            start = time.perf_counter()
            fabric_api.delete_all(bgp_paths.V4)
            _wait(lambda: speaker.status.learned == 0, 600)
            _wait(lambda: speaker.wait_idle(1), 600)
            withdrawn = time.perf_counter() - start
            return learned, programmed, withdrawn
    finally:
        speaker.stop_sync()
        router.stop()
        conn.close()


def run(n: int) -> str:
    """The markdown section of docs/benchmarks.md for n learned prefixes."""
    title = f"## BGP: {n:,} learned prefixes into VPP routes"
    if os.geteuid() != 0 or shutil.which("gobgpd") is None:
        return f"{title}\n\nNot measured: needs root (a network namespace) and gobgpd."
    with simulator() as sock:
        base = papi_routes(sock, n)
    with simulator() as sock, fabric() as ns, tempfile.TemporaryDirectory() as tmp:
        learned, programmed, withdrawn = bgp_into_vpp(sock, ns, Path(tmp), n)
    lines = [
        title,
        "",
        "A fabric router (gobgpd) announces the prefixes over eBGP in one AddPathStream;",
        "the node's gobgpd learns them, the speaker follows the best-path events, writes",
        "the routes into the model and converges the dataplane (render, diff, pipelined",
        "ip_route_add_del). Baseline: the plain vpp-papi loop, one call at a time, each",
        "retval checked. Session set-up is not timed.",
        "",
        "| what | time | rate | vs papi loop (rate) |",
        "|---|---|---|---|",
        f"| papi loop: {n:,} ip_route_add_del | {base:.2f} s | {n / base:,.0f}/s | 1.00x |",
        f"| BGP -> model (learned) | {learned:.2f} s | {n / learned:,.0f}/s | "
        f"{base / learned:.2f}x |",
        f"| BGP -> VPP (programmed) | {programmed:.2f} s | {n / programmed:,.0f}/s | "
        f"{base / programmed:.2f}x |",
        f"| withdraw all -> VPP (deleted) | {withdrawn:.2f} s | {n / withdrawn:,.0f}/s | "
        f"{base / withdrawn:.2f}x |",
        "",
        "Reading: the end-to-end rate includes two gobgpd hops (the router's update, the",
        "node's best-path event stream), protobuf decoding of every path and the dataplane's",
        "render of the whole model; VPP programming itself is the same pipelined apply the",
        "foundation benchmark measures.",
    ]
    return "\n".join(lines)
