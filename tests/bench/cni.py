"""Benchmark: CNI ADD/DEL latency through vppnet's gRPC path vs a Linux veth CNI.

Baseline, measured in the same run: what a Linux CNI does for a pod, in
process with pyroute2 - a veth pair into the pod's netns, MTU, the pod's
address, the link-local gateway and default route inside, the /32 route to
the pod on the host; DEL deletes the pair. (A real CNI plugin is also a
process exec per call, which the baseline does not pay.)

vppnet: the real CNI gRPC server and a client speaking Calico's protocol;
each ADD validates, updates the model, converges it into VPP (a simulator in
its own process, creating the real tun device in the pod's netns, as VPP's
tap driver does) and sets up the pod's routes; DEL undoes it. Measured for
the default tun interface and for the veth fallback (nodes without
/dev/vhost-net), one call at a time for latency, then all pods at once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pyroute2 import IPRoute, netns

import plugins
from agent.cni import (
    AsyncCniClient,
    CniClient,
    CniServer,
    CniSettings,
    ServerThread,
    add_request,
)
from agent.cni.nsnetlink import netlink_in
from agent.dataplane import Dataplane
from agent.model import ClusterModel, Node, PodBlock
from agent.proto_gen.cnibackend_pb2 import AddRequest
from agent.reconcile import REQUIRED_MESSAGES, Reconciler
from agent.state import ClusterState
from agent.vpp import VppConnection
from tests.bench.common import needs_root_devices, quiet

MTU = 1450
SCOPE_LINK = 253


def _address(i: int) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address("10.244.0.0") + 1 + i  # 10.244.x.y, one per pod


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class Latencies:
    add: list[float]
    delete: list[float]
    parallel_add: float = 0.0  # seconds for all ADDs in flight at once
    parallel_delete: float = 0.0


@contextmanager
def pod_namespaces(n: int) -> Iterator[list[str]]:
    tag = secrets.token_hex(3)
    names = [f"vppnet-bench-{tag}-{i}" for i in range(n)]
    for name in names:
        netns.create(name)
    try:
        yield [f"/var/run/netns/{name}" for name in names]
    finally:
        for name in names:
            netns.remove(name)


@contextmanager
def simulator(tmp: Path, vhost_net: bool) -> Iterator[Path]:
    """``vppnet sim`` with real devices in a child process; yields its socket."""
    sock = tmp / f"api-{secrets.token_hex(3)}.sock"
    args = [sys.executable, "-m", "agent.cli", "sim", "--socket", str(sock), "--devices", "real"]
    proc = subprocess.Popen([*args, *([] if vhost_net else ["--no-vhost-net"])])
    try:
        deadline = time.monotonic() + 20
        while not sock.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the simulator did not start")
            time.sleep(0.05)
        yield sock
    finally:
        proc.terminate()
        proc.wait(10)


def linux_veth(namespaces: list[str]) -> Latencies:
    out = Latencies([], [])
    with IPRoute() as root:
        for i, ns in enumerate(namespaces):
            host, pod_ip = f"bench{i}", str(_address(i))
            start = time.perf_counter()
            nsfd = os.open(ns, os.O_RDONLY)
            try:
                root.link(
                    "add", ifname=host, kind="veth", peer={"ifname": "eth0", "net_ns_fd": nsfd}
                )
            finally:
                os.close(nsfd)
            (idx,) = root.link_lookup(ifname=host)
            root.link("set", index=idx, mtu=MTU, state="up")
            root.route("add", dst=f"{pod_ip}/32", oif=idx, scope=SCOPE_LINK)
            with netlink_in(ns) as ipr:
                (eth0,) = ipr.link_lookup(ifname="eth0")
                ipr.link("set", index=eth0, mtu=MTU)
                ipr.addr("add", index=eth0, address=pod_ip, prefixlen=32)
                ipr.link("set", index=eth0, state="up")
                ipr.route("add", dst="169.254.1.1/32", oif=eth0, scope=SCOPE_LINK)
                ipr.route("add", dst="0.0.0.0/0", gateway="169.254.1.1", oif=eth0)
            out.add.append(time.perf_counter() - start)
        for i in range(len(namespaces)):
            start = time.perf_counter()
            (idx,) = root.link_lookup(ifname=f"bench{i}")
            root.link("del", index=idx)
            out.delete.append(time.perf_counter() - start)
    return out


def _requests(namespaces: list[str]) -> list[AddRequest]:
    return [
        add_request(netns=ns, namespace="bench", pod=f"pod-{i}", addresses=[f"{_address(i)}/32"])
        for i, ns in enumerate(namespaces)
    ]


def vppnet_cni(tmp: Path, namespaces: list[str], vhost_net: bool) -> Latencies:
    node = Node(
        "node-a",
        (ipaddress.ip_interface("192.168.0.1/24"),),
        (PodBlock(ipaddress.ip_network("10.244.0.0/16")),),
    )
    run_dir = Path(tempfile.mkdtemp(dir=tmp))
    settings = CniSettings(
        socket=str(run_dir / "cni.sock"), state_file=str(run_dir / "cni-state.json")
    )
    reqs = _requests(namespaces)
    out = Latencies([], [])
    with simulator(run_dir, vhost_net) as sock, VppConnection(sock, timeout=10) as conn:
        conn.connect(check=REQUIRED_MESSAGES)
        state = ClusterState(ClusterModel.build("node-a", nodes=[node]))
        dataplane = Dataplane(state, Reconciler(conn, run_dir / "index.json"), plugins.render)
        server = CniServer(state, dataplane, settings, vhost_net=vhost_net)
        with ServerThread(server) as thread, CniClient(settings.socket) as client:
            for req in reqs:
                start = time.perf_counter()
                reply = client.add(req)
                out.add.append(time.perf_counter() - start)
                assert reply.successful, reply.error_message
            for ns in namespaces:
                start = time.perf_counter()
                assert client.delete(ns).successful
                out.delete.append(time.perf_counter() - start)
            out.parallel_add, out.parallel_delete = thread.run(_all_at_once(settings, reqs))
    return out


async def _all_at_once(settings: CniSettings, reqs: list[AddRequest]) -> tuple[float, float]:
    async with AsyncCniClient(settings.socket, timeout=60) as client:
        start = time.perf_counter()
        replies = await asyncio.gather(*(client.add(r) for r in reqs))
        added = time.perf_counter() - start
        assert all(r.successful for r in replies), [r.error_message for r in replies][:3]
        start = time.perf_counter()
        deleted = await asyncio.gather(*(client.delete(r.netns) for r in reqs))
        assert all(d.successful for d in deleted)
        return added, time.perf_counter() - start


def _ms(samples: list[float], q: float) -> str:
    return f"{_percentile(samples, q) * 1000:.1f} ms"


def run(n: int) -> str:
    """Run both sides and return the markdown section of docs/benchmarks.md."""
    title = f"## CNI ADD and DEL of {n:,} pods"
    skipped = needs_root_devices(title)
    if skipped is not None:
        return skipped
    with (
        quiet("agent.cni"),  # the fallback warns once per pod: not what is measured
        tempfile.TemporaryDirectory(prefix="vppnet-bench-cni-") as tmp,
        pod_namespaces(n) as ns,
    ):
        base = linux_veth(ns)
        tun = vppnet_cni(Path(tmp), ns, vhost_net=True)
        veth = vppnet_cni(Path(tmp), ns, vhost_net=False)
    lines = [
        title,
        "",
        "Baseline: what a Linux CNI does, in process with pyroute2 (veth pair into the pod's",
        "netns, MTU, address, link-local gateway and default route, host /32 route; DEL",
        "deletes the pair). vppnet: Calico's CNI gRPC protocol over the unix socket; the",
        "server validates, updates the model, converges VPP (a simulator process that makes",
        "the real device, as VPP does) and sets the pod's routes. One call at a time.",
        "",
        "| operation | Linux veth p50 / p99 | vppnet p50 / p99 | vppnet / Linux (p50) |",
        "|---|---|---|---|",
    ]
    for what, mine in (("tun", tun), ("veth fallback", veth)):
        for op, b, m in (("ADD", base.add, mine.add), ("DEL", base.delete, mine.delete)):
            ratio = _percentile(m, 0.5) / _percentile(b, 0.5)
            lines.append(
                f"| {op} ({what}) | {_ms(b, 0.5)} / {_ms(b, 0.99)} | "
                f"{_ms(m, 0.5)} / {_ms(m, 0.99)} | {ratio:.1f}x |"
            )
    lines += [
        "",
        f"All {n:,} ADDs in flight at once (then all DELs), as a busy kubelet sends them:",
        "",
        "| vppnet | ADD all | DEL all | ADDs per second |",
        "|---|---|---|---|",
    ]
    for what, mine in (("tun", tun), ("veth fallback", veth)):
        lines.append(
            f"| {what} | {mine.parallel_add:.2f} s | {mine.parallel_delete:.2f} s | "
            f"{n / mine.parallel_add:,.0f} |"
        )
    lines += [
        "",
        f"Linux baseline, sequential: ADD all {sum(base.add):.2f} s, DEL all "
        f"{sum(base.delete):.2f} s.",
        "",
        "Reading: a tun ADD is dominated by the kernel moving the new device into the pod's",
        "netns (about 20 ms of RCU synchronisation under the RTNL lock), which VPP's tap",
        "driver does too; the baseline creates its veth end directly inside the netns and",
        "does not pay it. The veth fallback does the same, so its ADD is the baseline's work",
        "plus the gRPC call, the model update, the VPP calls and the state file write. DEL",
        "is dominated by the kernel's device teardown on both sides. Parallel ADDs are",
        "bounded by the same RTNL-serialised moves, not by the server.",
    ]
    return "\n".join(lines)
