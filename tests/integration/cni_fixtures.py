"""The CNI server on an in-process simulator with real devices, and pod namespaces.

``cni`` is the whole agent side: simulator (real tun/tap devices), VPP
connection, cluster state, dataplane and the CNI gRPC server on its own
loop, plus a client speaking the real protocol. ``restart()`` replaces
everything but the simulator (and VPP's state in it), as an agent restart
does. Pod namespaces come from ``pod_netns``, uniquely named per test and
removed afterwards. Import the fixtures into a test module to use them.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pyroute2 import IPRoute, netns

import plugins
from agent.cni import CniClient, CniServer, CniSettings, Restored, ServerThread, load_persisted
from agent.cni.nsnetlink import netlink_in
from agent.dataplane import Dataplane
from agent.model import ClusterModel, Network, Node, PodBlock
from agent.reconcile import REQUIRED_MESSAGES, Reconciler
from agent.state import ClusterState
from agent.vpp import VppConnection, interfaces
from agent.vppsim import Simulator

NETNS_DIR = "/var/run/netns"
NODE = Node(
    "node-a",
    (ipaddress.ip_interface("192.168.0.1/24"),),
    (PodBlock(ipaddress.ip_network("10.244.1.0/24")),),
)
BLUE = Network("blue", 4001, (ipaddress.ip_network("172.19.0.0/16"),))

NetnsFactory = Callable[[], str]

LOOPBACK0 = "vppnet:loopback/vrf-0"
"""The default VRF's loopback, there while any interface of the default network is
(the pod interfaces borrow its address: plugins.ipenable)."""


def base_model() -> ClusterModel:
    return ClusterModel.build("node-a", nodes=[NODE], networks=[BLUE])


@pytest.fixture
def pod_netns() -> Iterator[NetnsFactory]:
    """``pod_netns()`` -> the path of a new, empty network namespace."""
    made: list[str] = []

    def make() -> str:
        name = f"vppnet-cni-{secrets.token_hex(4)}"
        netns.create(name)
        made.append(name)
        return f"{NETNS_DIR}/{name}"

    yield make
    for name in made:
        if name in netns.listnetns():
            netns.remove(name)


@dataclass
class CniEnv:
    sim: Simulator
    tmp: Path
    vhost_net: bool
    settings: CniSettings
    conn: VppConnection = field(init=False)
    state: ClusterState = field(init=False)
    dataplane: Dataplane = field(init=False)
    server: CniServer = field(init=False)
    thread: ServerThread = field(init=False)
    client: CniClient = field(init=False)
    restored: Restored = field(init=False)

    def start(self) -> None:
        """The agent's start-up order: model, persisted pods, resync, then serve."""
        self.conn = VppConnection(self.tmp / "api.sock", timeout=5.0)
        self.conn.connect(check=REQUIRED_MESSAGES)
        self.state = ClusterState(base_model())
        self.restored = load_persisted(self.state, self.settings)
        reconciler = Reconciler(self.conn, self.tmp / "vpp-index.json")
        self.dataplane = Dataplane(self.state, reconciler, plugins.render)
        self.dataplane.resync()
        self.server = CniServer(
            self.state,
            self.dataplane,
            self.settings,
            vhost_net=self.vhost_net,
            store=self.restored.store,
        )
        self.thread = ServerThread(self.server)
        self.thread.start()
        self.client = CniClient(self.settings.socket)

    def stop(self) -> None:
        self.client.close()
        self.thread.stop()
        self.conn.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    # -- what tests look at -----------------------------------------------------------
    def owned_tags(self) -> set[str]:
        return {i.tag for i in self.conn.dump(interfaces.dump()) if i.tag.startswith("vppnet:")}


def make_env(tmp: Path, sim: Simulator, vhost_net: bool, **settings: Any) -> CniEnv:
    config = CniSettings(
        socket=str(tmp / "cni.sock"), state_file=str(tmp / "cni-state.json"), **settings
    )
    env = CniEnv(sim, tmp, vhost_net, config)
    env.start()
    return env


@pytest.fixture
def cni(tmp_path: Path, pod_netns: NetnsFactory) -> Iterator[CniEnv]:
    """A node with /dev/vhost-net: tun and tap pod interfaces."""
    with Simulator(tmp_path / "api.sock", devices="real") as sim:
        env = make_env(tmp_path, sim, vhost_net=True)
        try:
            yield env
        finally:
            env.stop()


@pytest.fixture
def cni_no_vhost(tmp_path: Path, pod_netns: NetnsFactory) -> Iterator[CniEnv]:
    """A node without /dev/vhost-net: VPP refuses taps, detection says so."""
    with Simulator(tmp_path / "api.sock", devices="real", vhost_net=False) as sim:
        env = make_env(tmp_path, sim, vhost_net=False)
        try:
            yield env
        finally:
            env.stop()


# -- reading a pod's namespace (fork-free, like the agent) ---------------------------
@dataclass(frozen=True)
class Link:
    name: str
    kind: str | None
    mtu: int
    mac: str | None
    up: bool


def links(path: str) -> dict[str, Link]:
    with netlink_in(path) as ipr:
        out = {}
        for link in ipr.get_links():
            name = link.get_attr("IFLA_IFNAME")
            out[name] = Link(
                name,
                link.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND"),
                link.get_attr("IFLA_MTU"),
                link.get_attr("IFLA_ADDRESS"),
                bool(link["flags"] & 1),
            )
        return out


def addresses(path: str, ifname: str = "eth0") -> set[str]:
    """Global addresses (link-locals are the kernel's own)."""
    with netlink_in(path) as ipr:
        found = ipr.link_lookup(ifname=ifname)
        if not found:
            return set()
        return {
            f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}"
            for a in ipr.get_addr(index=found[0])
            if not a.get_attr("IFA_ADDRESS").startswith("fe80:")
        }


def routes(path: str) -> set[tuple[str, str | None, str | None]]:
    """Main-table unicast routes as (prefix, gateway, device) - without kernel ones."""
    with netlink_in(path) as ipr:
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
        out = set()
        for family in (2, 10):
            for r in ipr.get_routes(family=family, table=254):
                if r["proto"] == 2 or r["type"] != 1:  # kernel-made (connected, link-local)
                    continue
                dst = r.get_attr("RTA_DST") or ("0.0.0.0" if family == 2 else "::")
                out.add(
                    (
                        f"{dst}/{r['dst_len']}",
                        r.get_attr("RTA_GATEWAY"),
                        names.get(r.get_attr("RTA_OIF")),
                    )
                )
        return out


def neighbours(path: str) -> dict[str, str]:
    """Permanent neighbour entries: address -> MAC."""
    with netlink_in(path) as ipr:
        return {
            n.get_attr("NDA_DST"): n.get_attr("NDA_LLADDR")
            for n in ipr.get_neighbours()
            if n["state"] == 0x80
        }


def root_link(name: str) -> Link | None:
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return None
        link = ipr.get_links(found[0])[0]
        return Link(
            name,
            link.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND"),
            link.get_attr("IFLA_MTU"),
            link.get_attr("IFLA_ADDRESS"),
            bool(link["flags"] & 1),
        )
