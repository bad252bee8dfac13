"""Test harness for BGP: simulated nodes, each a VPP simulator + dataplane + real gobgpd.

All gobgpd processes run in one private network namespace whose loopback
holds every node's address (``192.168.77.<n>/24``): a non-loopback address,
because GoBGP (like any BGP speaker, RFC 4271 §6.3) refuses a 127.0.0.0/8
NEXT_HOP, so IPv4 routes between speakers on 127.0.0.x would never be
installed. Each gobgpd's gRPC API is a unix socket in the test's directory,
reachable from the test process whatever namespace gobgpd runs in. Building
the namespace needs root; without root or without gobgpd the tests skip with
that reason (CI runs as root and installs the Debian package gobgpd).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

import plugins
from agent.bgp import BgpSettings, BgpSpeaker
from agent.bgp.peers import SecretReader
from agent.dataplane import Dataplane
from agent.model import ClusterModel, IPAddress, Node, PodBlock
from agent.reconcile import REQUIRED_MESSAGES, Reconciler
from agent.state import ClusterState
from agent.vpp import VppConnection, ip
from agent.vppsim import Simulator
from tests.integration.multinet_reach import NodeDump, dump_node
from tests.k8sfake import wait_until

IF = ipaddress.ip_interface
NET = ipaddress.ip_network
IP = ipaddress.ip_address

SESSION_TIMEOUT = 30.0  # GoBGP waits 5-10 s before its first connection attempt


def skip_reason() -> str | None:
    if shutil.which("gobgpd") is None:
        return "gobgpd is not installed (Debian package gobgpd)"
    if os.geteuid() != 0:
        return "needs root for a network namespace (GoBGP refuses loopback next hops)"
    return None


needs_gobgpd_netns = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


@pytest.fixture
def fabric() -> Iterator[str]:
    """A network namespace whose loopback carries the nodes' addresses: 192.168.77.1-9/24
    and, for a node in another subnet, 192.168.78.1-9/24."""
    from pyroute2 import NetNS, netns

    name = f"vppnet-bgp-{secrets.token_hex(3)}"
    netns.create(name)
    try:
        with NetNS(name) as ns:
            lo = ns.link_lookup(ifname="lo")[0]
            ns.link("set", index=lo, state="up")
            for n in range(1, 10):
                ns.addr("add", index=lo, address=f"192.168.77.{n}", prefixlen=24)
                ns.addr("add", index=lo, address=f"192.168.78.{n}", prefixlen=24)
        yield name
    finally:
        netns.remove(name)


@dataclass
class BgpNode:
    name: str
    address: IPAddress
    sim: Simulator
    conn: VppConnection
    state: ClusterState
    dataplane: Dataplane
    speaker: BgpSpeaker

    def update(self, change: Callable[[ClusterModel], ClusterModel], why: str = "test") -> None:
        self.state.update(change, why)
        self.dataplane.converge()

    def routes(self, table: int = 0) -> dict[str, ip.Route]:
        return {str(r.prefix): r for r in self.conn.dump(ip.dump_routes(table, False))}

    def dump(self) -> NodeDump:
        return dump_node(self.name, frozenset({self.address}), self.conn, self.sim)


def base_model(local: str, nodes: list[Node], **kw: Any) -> ClusterModel:
    return ClusterModel.build(local, nodes=nodes, **kw)


def node(name: str, n: int, *blocks: str, subnet: int = 77, **kw: Any) -> Node:
    address = IF(f"192.168.{subnet}.{n}/24")
    return Node(name, (address,), tuple(PodBlock(NET(b)) for b in blocks), **kw)


def start_node(
    tmp: Path,
    fabric: str,
    model: ClusterModel,
    *,
    secrets_: SecretReader | None = None,
    **settings: Any,
) -> BgpNode:
    name = model.local_node_name
    local = model.nodes[name]
    sim = Simulator(tmp / f"{name}-vpp.sock", devices="record")
    sim.start()
    conn = VppConnection(sim.socket_path, timeout=5.0)
    conn.connect(check=REQUIRED_MESSAGES)
    state = ClusterState(model)
    dataplane = Dataplane(state, Reconciler(conn, tmp / f"{name}-index.json"), plugins.render)
    dataplane.converge()
    config = BgpSettings(
        api_socket=str(tmp / f"{name}-gobgp.sock"),
        netns=fabric,
        debounce_seconds=0.02,
        max_delay_seconds=0.2,
        restart_backoff_initial=0.2,
        **settings,
    )
    speaker = BgpSpeaker(state, dataplane, config, secrets=secrets_)
    speaker.start_sync()
    assert local.ipv4_address is not None
    return BgpNode(name, local.ipv4_address.ip, sim, conn, state, dataplane, speaker)


def stop_node(node_: BgpNode) -> None:
    node_.speaker.stop_sync()
    node_.conn.close()
    node_.sim.stop()


def established(node_: BgpNode, *peers: str) -> bool:
    states = node_.speaker.status.peers
    return all(states.get(p) == "ESTABLISHED" for p in peers)


def wait_established(node_: BgpNode, *peers: str) -> None:
    wait_until(lambda: established(node_, *peers), timeout=SESSION_TIMEOUT, interval=0.1)


def without_node(model: ClusterModel, name: str) -> ClusterModel:
    return replace(model, nodes={k: v for k, v in model.nodes.items() if k != name})
