"""A full node for reliability tests and benchmarks: pods, networks, services, policies.

``model(size)`` is what the sources would have told the agent: this node and two
remote ones, three secondary networks, ``size.services`` services (nine in ten in
the default network, the rest spread over the secondary ones, each with a local
and a remote backend) and ``size.policies`` Calico policies in one tier over IP
sets, shared out between the pods' workload endpoints. The pods themselves come
through real CNI ADDs (``pod_requests``): every pod an ``eth0`` in the default
network, one in five also a ``net1`` in a secondary network.

Also here: the agent's configuration for a test directory, a VPP simulator in a
child process (so it can be killed with SIGKILL like a crashing VPP), what VPP
shows of the pods and services (read through its dumps), what a pod's netns
shows, and the process's resident memory.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pyroute2 import netns

from agent.bgp import BgpSettings
from agent.cni import AsyncCniClient, add_request
from agent.cni.nsnetlink import netlink_in
from agent.config import AgentConfig, VppSettings
from agent.manager.process import socket_answers
from agent.model import (
    ClusterModel,
    EndpointPort,
    IPAddress,
    IpSet,
    IpSetType,
    Network,
    Node,
    PodBlock,
    PodInterfaceKey,
    Policy,
    PolicyAssignment,
    PolicyId,
    PortRange,
    Rule,
    RuleAction,
    Service,
    ServiceEndpoint,
    ServicePort,
    TierAssignment,
    WorkloadEndpoint,
)
from agent.proto_gen.cnibackend_pb2 import AddReply, AddRequest
from agent.vpp import VppConnection, cnat, interfaces, ip, tap
from tests.integration import agent_fixtures as fixtures

IF = ipaddress.ip_interface
NET = ipaddress.ip_network
IP = ipaddress.ip_address

NODE_NAME = "node-a"
NAMESPACE = "rel"
NETWORKS = (
    Network("blue", 4001, (NET("172.19.0.0/16"),)),
    Network("red", 4002, (NET("172.20.0.0/16"),)),
    Network("green", 4003, (NET("172.21.0.0/16"),)),
)
NODES = (
    Node(NODE_NAME, (IF("192.168.0.1/24"),), (PodBlock(NET("10.244.1.0/24")),)),
    Node(
        "node-b",
        (IF("192.168.0.2/24"),),
        (PodBlock(NET("10.244.2.0/24")), *(PodBlock(n.ranges[0], n.name) for n in NETWORKS)),
    ),
    Node("node-c", (IF("192.168.0.3/24"),), (PodBlock(NET("10.244.3.0/24")),)),
)
MAX_PODS = 250  # addresses 10.244.1.1-250 of this node's block
SETS = 20
MEMBERS = 20


@dataclass(frozen=True)
class Size:
    pods: int
    services: int
    policies: int


FULL = Size(pods=100, services=1_000, policies=200)


# -- the cluster --------------------------------------------------------------------------


def pod_key(i: int, interface: str = "eth0") -> PodInterfaceKey:
    return PodInterfaceKey(NAMESPACE, f"pod-{i}", interface)


def pod_address(i: int) -> str:
    if not 0 <= i < MAX_PODS:
        raise ValueError(f"pod {i}: this node's block holds pods 0-{MAX_PODS - 1}")
    return f"10.244.1.{i + 1}"


def secondary(i: int) -> Network | None:
    """The network of pod ``i``'s ``net1``, if it has one."""
    return NETWORKS[(i // 5) % len(NETWORKS)] if i % 5 == 0 else None


def secondary_address(i: int, network: Network) -> str:
    base = network.ranges[0].network_address
    return f"{base + 256 + i + 1}/{network.ranges[0].prefixlen}"  # x.y.1.<i+1>


def vip(i: int) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(0x0A600000 + i + 1)  # 10.96.x.y


def service(i: int, pods: int, generation: int = 0) -> Service:
    """Service ``i``: a local and a remote backend; ``generation`` moves the remote one."""
    network = NETWORKS[(i // 10) % len(NETWORKS)] if i % 10 == 9 else None
    local: IPAddress
    remote: IPAddress
    if network is None:
        local = IP(pod_address(i % pods)) if pods else IP("10.244.2.250")
        remote = ipaddress.IPv4Address(0x0AF40200 + 1 + (i + generation) % 240)  # 10.244.2.x
        name = ""
    else:
        base = network.ranges[0].network_address
        local = base + 256 + 1 + (i % pods if pods else 0)
        remote = base + 1 + (i + generation) % 60  # the remote node's block, x.y.0.0/26
        name = network.name
    return Service(
        NAMESPACE,
        f"svc-{i}",
        network=name,
        cluster_ips=(vip(i),),
        ports=(ServicePort(80, 8080, name="http"),),
        endpoints=(
            ServiceEndpoint((local,), (EndpointPort(8080, name="http"),), NODE_NAME),
            ServiceEndpoint((remote,), (EndpointPort(8080, name="http"),), "node-b"),
        ),
    )


def services(n: int, pods: int, generation: int = 0) -> list[Service]:
    return [service(i, pods, generation) for i in range(n)]


def member(s: int, m: int) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network((0x0B000000 + (s << 12) + m, 32))  # 11.<s>.<m>/32


def policy(p: int, port: int | None = None) -> Policy:
    """Policy ``p``: two ingress rules (a port from a set, and a port from a prefix)."""
    first = 1000 + p if port is None else port
    return Policy(
        PolicyId("default", f"pol-{p}", NAMESPACE),
        ingress_rules=(
            Rule(
                RuleAction.ALLOW,
                protocol="tcp",
                dst_ports=(PortRange(first, first),),
                src_ip_set_ids=(f"s:{p % SETS}",),
            ),
            Rule(
                RuleAction.ALLOW,
                protocol="udp",
                dst_ports=(PortRange(53, 53),),
                src_nets=(NET(f"10.{p % 250}.0.0/16"),),
            ),
        ),
    )


def ip_sets() -> list[IpSet]:
    return [
        IpSet(f"s:{s}", IpSetType.NET, frozenset(member(s, m) for m in range(MEMBERS)))
        for s in range(SETS)
    ]


def endpoints(pods: int, policies: int) -> list[WorkloadEndpoint]:
    """Each pod's eth0 gets the policies ``p`` with ``p % pods == i``."""
    out = []
    for i in range(pods):
        mine = tuple(PolicyId("default", f"pol-{p}", NAMESPACE) for p in range(i, policies, pods))
        tier = TierAssignment("default", ingress_policies=mine)
        out.append(WorkloadEndpoint(pod_key(i), PolicyAssignment((tier,), (f"kns.{NAMESPACE}",))))
    return out


def model(size: Size) -> ClusterModel:
    """The sources' view of the cluster; the pods themselves come through the CNI."""
    return ClusterModel.build(
        NODE_NAME,
        nodes=NODES,
        networks=NETWORKS,
        services=services(size.services, size.pods),
        policies=[policy(p) for p in range(size.policies)],
        ip_sets=ip_sets(),
        workload_endpoints=endpoints(size.pods, size.policies),
    )


# -- pods through the CNI -----------------------------------------------------------------


def pod_requests(namespaces: list[str]) -> tuple[list[AddRequest], list[AddRequest]]:
    """The eth0 ADDs (all pods), then the net1 ADDs (one pod in five)."""
    eth0 = [
        add_request(
            netns=ns, namespace=NAMESPACE, pod=f"pod-{i}", addresses=[f"{pod_address(i)}/32"]
        )
        for i, ns in enumerate(namespaces)
    ]
    net1 = []
    for i, ns in enumerate(namespaces):
        network = secondary(i)
        if network is not None:
            net1.append(
                add_request(
                    netns=ns,
                    namespace=NAMESPACE,
                    pod=f"pod-{i}",
                    interface="net1",
                    network=network.name,
                    addresses=[secondary_address(i, network)],
                )
            )
    return eth0, net1


async def add_all(socket: str, reqs: list[AddRequest], timeout: float = 120.0) -> list[AddReply]:
    """Every ADD in flight at once, as a busy kubelet sends them."""
    async with AsyncCniClient(socket, timeout=timeout) as client:
        return list(await asyncio.gather(*(client.add(r) for r in reqs)))


async def add_pods(socket: str, namespaces: list[str]) -> None:
    eth0, net1 = pod_requests(namespaces)
    for batch in (eth0, net1):
        failed = [r.error_message for r in await add_all(socket, batch) if not r.successful]
        assert failed == [], failed[:3]


@contextmanager
def pod_namespaces(n: int) -> Iterator[list[str]]:
    """``n`` new, empty network namespaces (their paths), removed afterwards."""
    tag = secrets.token_hex(3)
    names = [f"vppnet-rel-{tag}-{i}" for i in range(n)]
    made: list[str] = []
    try:
        for name in names:
            netns.create(name)
            made.append(name)
        yield [f"/var/run/netns/{name}" for name in names]
    finally:
        for name in made:
            netns.remove(name)


# -- the agent ----------------------------------------------------------------------------


def agent_config(tmp: Path, *, bgp: bool = False, socket: Path | None = None) -> AgentConfig:
    """An agent for a test directory: CNI and VPP sockets, state and index files in it."""
    return fixtures.agent_config(
        tmp,
        vpp=VppSettings(socket=str(socket or tmp / "api.sock"), timeout=30.0, connect_wait=10.0),
        bgp=BgpSettings(api_socket=str(tmp / "gobgpd.sock"), listen_port=-1) if bgp else None,
        liveness_interval=0.1,
    )


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


async def until(condition: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        await asyncio.sleep(0.02)


class SimProcess:
    """``vppnet sim`` in a child process: VPP as a process that can crash (SIGKILL)."""

    def __init__(self, socket: Path, devices: Literal["real", "record"] = "real") -> None:
        self.socket = socket
        self.devices = devices
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> float:
        """Start it; the monotonic time at which its socket answers."""
        if self.socket.exists():
            self.socket.unlink()  # a killed VPP leaves its socket file behind
        args = ["-m", "agent.cli", "sim", "--socket", str(self.socket), "--devices", self.devices]
        self.proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the simulator did not start (exit {self.proc.returncode})")
            if socket_answers(str(self.socket)):
                return time.monotonic()
            time.sleep(0.01)

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as when VPP crashes."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


# -- what a user sees ---------------------------------------------------------------------


@dataclass(frozen=True)
class PodInVpp:
    """One pod interface as VPP's dumps show it."""

    name: str  # VPP's interface name
    host_if_name: str  # the device's name in the pod
    host_namespace: str
    admin_up: bool
    routes: tuple[str, ...]  # "<table> <prefix>" of the VPP routes through it


def pods_in_vpp(conn: VppConnection) -> dict[str, PodInVpp]:
    """Owned pod interfaces by tag (``vppnet:pod/<ns>/<pod>/<if>``)."""
    taps = {t.sw_if_index: t for t in conn.dump(tap.dump())}
    routed: dict[int, list[str]] = {}
    for table in (0, *(n.vrf_table_id for n in NETWORKS)):
        for r in conn.dump(ip.dump_routes(table, False)):
            for path in r.paths:
                routed.setdefault(path.sw_if_index, []).append(f"{table} {r.prefix}")
    out = {}
    for i in conn.dump(interfaces.dump()):
        if not i.tag.startswith("vppnet:pod/") or i.sw_if_index not in taps:
            continue
        t = taps[i.sw_if_index]
        routes = tuple(sorted(routed.get(i.sw_if_index, ())))
        out[i.tag] = PodInVpp(i.name, t.host_if_name, t.host_namespace, i.admin_up, routes)
    return out


def translations(conn: VppConnection) -> dict[str, set[str]]:
    """cnat translations: ``"<vip> <port>"`` -> backends ``"<address>:<port>"``."""
    return {
        f"{t.vip.addr} {t.vip.port}": {f"{b.dst.addr}:{b.dst.port}" for b in t.backends}
        for t in conn.dump(cnat.dump())
    }


def expected_translations(wanted: list[Service]) -> dict[str, set[str]]:
    return {
        f"{s.cluster_ips[0]} 80": {f"{e.addresses[0]}:8080" for e in s.endpoints} for s in wanted
    }


def pod_side(path: str, ifname: str = "eth0") -> tuple[list[str], list[str]]:
    """A pod's interface as the pod sees it: its addresses and the routes through it."""
    with netlink_in(path) as ipr:
        found = ipr.link_lookup(ifname=ifname)
        if not found:
            return [], []
        addrs = sorted(
            f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}"
            for a in ipr.get_addr(index=found[0])
            if a["scope"] == 0
        )
        routes = sorted(
            f"{r.get_attr('RTA_DST') or '0.0.0.0'}/{r['dst_len']}"
            for r in ipr.get_routes(family=2, table=254)
            if r.get_attr("RTA_OIF") == found[0] and r["proto"] != 2
        )
    return addrs, routes


def rss_kib() -> int:
    """This process's resident set (VmRSS), in KiB."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")
