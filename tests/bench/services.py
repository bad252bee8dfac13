"""Benchmark: services at scale, vppnet (cnat in VPP) vs kube-proxy's iptables rules.

(a) program N services with 10 endpoints each on an empty node; (b) apply one endpoint
change with N services programmed. vppnet runs its whole path: the model store, the
incremental renderer, the dataplane's converge (diff of what changed, pipelined apply)
against a simulator in its own process. The baseline, in the same run: the equivalent
kube-proxy rule set (KUBE-SERVICES, one KUBE-SVC chain per service with ``statistic
random`` probabilities, one KUBE-SEP chain per endpoint with its DNAT) loaded with
``iptables-restore`` into a fresh network namespace made with pyroute2; for (b), the
``--noflush`` restore kube-proxy (1.28+) makes for one change: KUBE-SERVICES and the
changed service's chains. The full ``--noflush`` rewrite older kube-proxies made on
every change is also measured where it stays short (it is quadratic with nft).

Needs root (network namespaces) and the ``iptables`` package (``iptables-restore``).
"""

from __future__ import annotations

import ipaddress
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from pyroute2 import netns

from agent.dataplane import Dataplane
from agent.model import (
    ClusterModel,
    EndpointPort,
    IpPool,
    Node,
    Service,
    ServiceEndpoint,
    ServiceKey,
    ServicePort,
)
from agent.reconcile import REQUIRED_MESSAGES, Reconciler
from agent.state import ClusterState
from agent.vpp import VppConnection
from plugins.incremental import IncrementalRenderer
from tests.bench.foundation import simulator

ENDPOINTS = 10
CLASSIC_MAX = 1_000  # full --noflush rewrites are measured up to this many services


class MissingIptablesError(RuntimeError):
    """The baseline cannot run: iptables-restore is not installed."""


def iptables_restore() -> str:
    path = shutil.which("iptables-restore")
    if path is None:
        raise MissingIptablesError(
            "iptables-restore not found: the services benchmark's baseline needs the "
            "Debian package 'iptables' (apt-get install iptables)"
        )
    return path


def _vip(i: int) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(0x0A600000 + i)  # 10.96.x.y


def _endpoint(i: int, j: int, generation: int = 0) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(0x0A000000 + (generation << 20) + i * ENDPOINTS + j)


def services(n: int) -> dict[ServiceKey, Service]:
    out = {}
    for i in range(n):
        s = Service(
            "bench",
            f"s{i}",
            cluster_ips=(_vip(i),),
            ports=(ServicePort(80, 8080, name="http"),),
            endpoints=tuple(
                ServiceEndpoint((_endpoint(i, j),), (EndpointPort(8080, name="http"),), "b")
                for j in range(ENDPOINTS)
            ),
        )
        out[s.key] = s
    return out


def _moved(s: Service, generation: int, i: int) -> Service:
    """One endpoint of ``s`` replaced by a new address (a pod rescheduled)."""
    first = replace(s.endpoints[0], addresses=(_endpoint(i, 0, generation),))
    return replace(s, endpoints=(first, *s.endpoints[1:]))


# -- vppnet ----------------------------------------------------------------------------


@dataclass
class VppnetTimes:
    program: float
    changes: list[float]
    calls_per_change: int


def vppnet(sock: str, n: int, changes: int) -> VppnetTimes:
    node = Node("a", (ipaddress.ip_interface("192.168.0.1/24"),))
    model = ClusterModel.build(
        "a", nodes=[node], pools=[IpPool("p", ipaddress.ip_network("10.0.0.0/8"), 26)]
    )
    with tempfile.TemporaryDirectory() as tmp, VppConnection(sock, timeout=30) as conn:
        conn.connect(check=REQUIRED_MESSAGES)
        state = ClusterState(model)
        dataplane = Dataplane(
            state, Reconciler(conn, Path(tmp) / "index.json"), IncrementalRenderer()
        )
        dataplane.resync()  # the empty node: read VPP once, as the agent does at start-up
        wanted = services(n)
        start = time.perf_counter()
        state.replace_fields("services listed", services=wanted)
        first = dataplane.converge()
        program = time.perf_counter() - start
        assert first.report.ok, first.report.render()
        times, calls = [], 0
        for k in range(changes):
            i = (k * 7919) % n
            key = ServiceKey("bench", f"s{i}")
            start = time.perf_counter()
            moved = _moved(state.model.services[key], k + 1, i)

            def change(
                m: ClusterModel, key: ServiceKey = key, moved: Service = moved
            ) -> ClusterModel:
                return replace(m, services={**m.services, key: moved})

            state.update(change, "endpoint moved")
            result = dataplane.converge()
            times.append(time.perf_counter() - start)
            assert result.report.ok and len(result.keys) == 1, result.keys
            calls = result.report.calls
        return VppnetTimes(program, times, calls)


# -- kube-proxy's iptables rules ----------------------------------------------------------


def _svc_chain(i: int) -> str:
    return f"KUBE-SVC-{i:016X}"


def _sep_chain(i: int, j: int, generation: int) -> str:
    return f"KUBE-SEP-{i:010X}{j:02X}{generation:04X}"


def _service_rules(i: int, generation: int = 0) -> tuple[list[str], list[str]]:
    """(chain declarations, rules) of one service's KUBE-SVC and KUBE-SEP chains."""
    svc = _svc_chain(i)
    chains, rules = [f":{svc} - [0:0]"], []
    rules.append(
        f"-A {svc} ! -s 10.0.0.0/8 -d {_vip(i)}/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ"
    )
    for j in range(ENDPOINTS):
        address = _endpoint(i, j, generation if j == 0 else 0)
        sep = _sep_chain(i, j, generation if j == 0 else 0)
        chains.append(f":{sep} - [0:0]")
        comment = f'-m comment --comment "bench/s{i}:http -> {address}:8080"'
        if j < ENDPOINTS - 1:
            probability = 1 / (ENDPOINTS - j)
            rules.append(
                f"-A {svc} {comment} -m statistic --mode random "
                f"--probability {probability:.11f} -j {sep}"
            )
        else:
            rules.append(f"-A {svc} {comment} -j {sep}")
        rules.append(f"-A {sep} -s {address}/32 -j KUBE-MARK-MASQ")
        rules.append(f"-A {sep} -p tcp -m tcp -j DNAT --to-destination {address}:8080")
    return chains, rules


def _services_chain(n: int) -> list[str]:
    return [
        f'-A KUBE-SERVICES -d {_vip(i)}/32 -p tcp -m comment --comment "bench/s{i}:http '
        f'cluster IP" -m tcp --dport 80 -j {_svc_chain(i)}'
        for i in range(n)
    ]


def full_table(n: int, changed: int | None = None, generation: int = 0) -> str:
    chains = [":KUBE-SERVICES - [0:0]", ":KUBE-MARK-MASQ - [0:0]", ":KUBE-POSTROUTING - [0:0]"]
    rules = [
        "-A PREROUTING -j KUBE-SERVICES",
        "-A OUTPUT -j KUBE-SERVICES",
        "-A POSTROUTING -j KUBE-POSTROUTING",
        "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000",
        "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
        "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000",
        "-A KUBE-POSTROUTING -j MASQUERADE --random-fully",
        *_services_chain(n),
    ]
    for i in range(n):
        c, r = _service_rules(i, generation if i == changed else 0)
        chains += c
        rules += r
    return "\n".join(["*nat", *chains, *rules, "COMMIT", ""])


def minimal_change(n: int, changed: int, generation: int, previous: int) -> str:
    """What kube-proxy 1.28+ restores for one endpoint change: KUBE-SERVICES, the changed
    service's chains, and the deletion of the endpoint chain that went away."""
    chains, rules = _service_rules(changed, generation)
    chains.insert(0, ":KUBE-SERVICES - [0:0]")
    stale = _sep_chain(changed, 0, previous)
    chains.append(f":{stale} - [0:0]")
    rules = [*_services_chain(n), *rules, f"-X {stale}"]
    return "\n".join(["*nat", *chains, *rules, "COMMIT", ""])


@contextmanager
def namespace() -> Iterator[str]:
    name = f"vppnet-bench-{uuid.uuid4().hex[:8]}"
    netns.create(name)
    try:
        yield name
    finally:
        netns.remove(name)


def restore(name: str, text: str, *flags: str) -> float:
    binary = iptables_restore()
    start = time.perf_counter()
    done = subprocess.run(
        [binary, *flags],
        input=text,
        text=True,
        capture_output=True,
        preexec_fn=lambda: netns.setns(name),  # only setns, before exec
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"iptables-restore failed: {done.stderr.strip()[:500]}")
    return elapsed


@dataclass
class IptablesTimes:
    program: float
    minimal: list[float]
    classic: float | None


def iptables(n: int, changes: int) -> IptablesTimes:
    with namespace() as name:
        program = restore(name, full_table(n))
        minimal: list[float] = []
        generations: dict[int, int] = {}
        for k in range(changes):
            i = (k * 7919) % n
            text = minimal_change(n, i, k + 1, generations.get(i, 0))
            generations[i] = k + 1
            minimal.append(restore(name, text, "--noflush"))
        classic = None
        if n <= CLASSIC_MAX:
            classic = restore(name, full_table(n, changed=0, generation=1), "--noflush")
        return IptablesTimes(program, minimal, classic)


# -- report ----------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def run(sizes: Sequence[int] = (1_000, 10_000), changes: int = 20) -> str:
    """Both sides at each size; the markdown section of docs/benchmarks.md."""
    iptables_restore()
    rows_a, rows_b, classic = [], [], []
    for n in sizes:
        with simulator() as sock:
            ours = vppnet(sock, n, changes)
        theirs = iptables(n, max(3, changes // 4))
        rows_a.append(
            f"| {n:,} | {ours.program:.2f} s | {theirs.program:.2f} s | "
            f"{theirs.program / ours.program:.1f}x |"
        )
        mine, base = statistics.median(ours.changes), statistics.median(theirs.minimal)
        p90 = sorted(ours.changes)[int(0.9 * (len(ours.changes) - 1))]
        rows_b.append(
            f"| {n:,} | {_ms(mine)} (p90 {_ms(p90)}, {ours.calls_per_change} VPP call) | "
            f"{_ms(base)} | {base / mine:.0f}x |"
        )
        if theirs.classic is not None:
            classic.append(f"{n:,} services: {_ms(theirs.classic)}")
    lines = [
        f"## Services: {' and '.join(f'{n:,}' for n in sizes)} services, "
        f"{ENDPOINTS} endpoints each",
        "",
        "vppnet: model store -> incremental render -> diff of the changed keys -> pipelined",
        "apply, against the simulator in its own process. Baseline, same run: kube-proxy's",
        "iptables nat rules (KUBE-SERVICES, KUBE-SVC with statistic-random probabilities,",
        "KUBE-SEP with DNAT) loaded with iptables-restore into a fresh network namespace.",
        "",
        "(a) Programming every service on an empty node:",
        "",
        "| services | vppnet | iptables-restore | iptables / vppnet |",
        "|---|---|---|---|",
        *rows_a,
        "",
        f"(b) One endpoint change with every service programmed (median of {changes}):",
        "",
        "| services | vppnet | iptables-restore --noflush (kube-proxy 1.28+) | ratio |",
        "|---|---|---|---|",
        *rows_b,
        "",
        "The full --noflush rewrite that kube-proxy made for every change before 1.28 took:",
        "",
        *(f"- {c}" for c in classic),
        f"- above {CLASSIC_MAX:,} services: not measured; with the nft backend it grows",
        "  faster than linearly (minutes at 10,000).",
        "",
        "Reading: vppnet programs one cnat translation per service port (the backends are",
        "its paths), where iptables needs 1 + 3 x endpoints rules and 1 + endpoints chains.",
        "Programming from scratch is bound by vpp-papi's encoding of every path (about",
        "half the time); iptables-restore is bound by the kernel's rule compilation.",
        "A change costs vppnet the changed service: the renderer re-renders the one Service",
        "object that changed, the dataplane diffs the one key it names, and the reconciler",
        "sends one cnat_translation_update, which VPP applies in place (same translation id,",
        "sessions kept). kube-proxy must still rewrite KUBE-SERVICES, which lists every",
        "service, so its cost grows with the cluster, not with the change.",
    ]
    return "\n".join(lines)
