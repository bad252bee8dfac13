"""The Kubernetes API server goes away and comes back under a running agent.

One agent (its own simulated VPP, the real kubernetes client, the fake API
server) programs a network and a service. Then the API server stops: its
listening socket is closed (new connections are refused) and the connections
the client keeps alive answer 503, as a restarting control plane does. While it
is away the dataplane keeps exactly what it had (VPP's dumps do not change:
nothing is withdrawn because a list failed). Meanwhile the cluster changes: a
new network and a new service appear, the old service is deleted, and the
history is compacted so the agent's watches cannot resume (410 Gone). When the
server is back on the same port, the agent lists again and VPP converges to the
new state. tests/integration/test_k8s_listwatch.py covers the same faults for
one watch in isolation (410 -> relist, errors back off and recover).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agent.vpp import cnat, ip
from tests.integration.k8s_agents import Agent, LoopThread, start_agent, stop_agent
from tests.integration.multinet_reach import NodeDump
from tests.k8sfake import ENDPOINT_SLICES, NADS, NODES, SERVICES, FakeKubeApi, wait_until
from tests.k8sfake import objects as o
from tests.k8sfake.server import Handler, _Server
from tests.k8sservices import endpoint, endpoint_slice, port, service

ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DB_PORT = {"name": "", "port": 5432, "protocol": "TCP"}


class _SamePort(_Server):
    """The fake's HTTP server, bound to a port chosen before (a restart keeps its address)."""

    def __init__(self, api: FakeKubeApi, port: int) -> None:
        ThreadingHTTPServer.__init__(self, ("127.0.0.1", port), Handler)
        self.api = api


class Outage:
    """Stop the fake API server's HTTP side and start it again on the same port.

    The store keeps working meanwhile, so a test changes the cluster "while the
    API server is down" as other components would once it is back.
    """

    def __init__(self, api: FakeKubeApi) -> None:
        self.api = api
        self.port = int(api._server.server_address[1])

    def begin(self) -> None:
        for method in ALL_METHODS:  # kept-alive connections: the server answers, badly
            self.api.fail_next(method, "", code=503, times=10**9)
        self.api._server.shutdown()
        self.api._server.server_close()  # new connections: refused
        self.api.drop_watches()

    def end(self) -> None:
        server = _SamePort(self.api, self.port)
        self.api._server = server
        self.api._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self.api._thread.start()
        self.api.clear_failures()


def translations(agent: Agent) -> dict[str, set[str]]:
    return {
        f"{t.proto.name} {t.vip.addr} {t.vip.port}": {
            f"{b.dst.addr}:{b.dst.port}" for b in t.backends
        }
        for t in agent.conn.dump(cnat.dump())
    }


def snapshot(agent: Agent) -> tuple[NodeDump, dict[str, set[str]]]:
    """What VPP shows: interfaces, tables, routes, tunnels, neighbours, cnat translations."""
    return agent.dump(), translations(agent)


def tables(agent: Agent) -> set[int]:
    return {t.table_id for t in agent.conn.dump(ip.dump_tables())}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[FakeKubeApi, Agent]]:
    with FakeKubeApi(NADS, SERVICES, ENDPOINT_SLICES) as api:
        networks = o.install_vppnet(api)
        api.create(NODES, o.node("a", ipv4="192.168.0.1/24"))
        api.create(NODES, o.node("b", ipv4="192.168.0.2/24", pod_cidrs=("10.244.2.0/24",)))
        api.create(networks, o.network("blue", 4001, "172.19.0.0/16"))
        api.create(SERVICES, service("web", ["10.96.0.10"], [port(80, 8080)]), "default")
        api.create(
            ENDPOINT_SLICES,
            endpoint_slice("web-1", "web", [endpoint("10.244.2.5", node="b")]),
            "default",
        )
        runner = LoopThread()
        agent = start_agent(api, runner, tmp_path, "a", frozenset())
        try:
            yield api, agent
        finally:
            stop_agent(runner, agent)
            runner.close()


def settled(agent: Agent, check: Any, timeout: float = 15.0) -> Any:
    def ok() -> Any:
        agent.settle()
        return check()

    return wait_until(ok, timeout)


def test_the_dataplane_holds_while_the_api_is_away_and_catches_up_after(
    cluster: tuple[FakeKubeApi, Agent],
) -> None:
    api, agent = cluster
    networks = o.vppnet_networks_resource()
    settled(agent, lambda: translations(agent).get("TCP 10.96.0.10 80") == {"10.244.2.5:8080"})
    settled(agent, lambda: 4001 in tables(agent))
    before = snapshot(agent)
    lists_before = sum(1 for m, p in api.requests if m == "GET" and "watch=" not in p)

    outage = Outage(api)
    outage.begin()
    # the cluster changes while the agent cannot see it
    api.create(networks, o.network("green", 4002, "172.20.0.0/16"))
    api.create(SERVICES, service("db", ["10.96.0.20"], [port(5432, 5432)]), "default")
    api.create(
        ENDPOINT_SLICES,
        endpoint_slice(
            "db-1",
            "db",
            [endpoint("10.244.2.9", node="b")],
            [{"name": "", "port": 5432, "protocol": "TCP"}],
        ),
        "default",
    )
    api.delete(SERVICES, "web", "default")
    api.compact()  # the watches' resource versions are gone: 410 when they come back

    # the agent retries with back-off for a while (several attempts at these settings)
    time.sleep(1.5)
    agent.settle()
    assert snapshot(agent) == before  # nothing withdrawn, nothing added
    assert "blue" in agent.state.model.networks

    outage.end()
    settled(agent, lambda: "green" in agent.state.model.networks)
    settled(agent, lambda: 4002 in tables(agent))
    settled(agent, lambda: "TCP 10.96.0.10 80" not in translations(agent))  # deleted meanwhile
    settled(agent, lambda: translations(agent).get("TCP 10.96.0.20 5432") == {"10.244.2.9:5432"})
    assert 4001 in tables(agent)  # what did not change stays
    lists_after = sum(1 for m, p in api.requests if m == "GET" and "watch=" not in p)
    assert lists_after > lists_before  # the expired watches were replaced by lists
