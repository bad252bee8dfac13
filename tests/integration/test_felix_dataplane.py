"""Felix through the real proxy into a real Dataplane on the VPP simulator.

VPP is touched only after InSync, endpoints are reported up once their VPP
objects exist, and a VPP failure is reported as an endpoint error until a
later converge lands it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import plugins
from agent.dataplane import Dataplane
from agent.felix import FelixSettings
from agent.model import ClusterModel
from agent.reconcile import Reconciler
from agent.state import ClusterState
from agent.vpp import VppConnection, interfaces, ip
from agent.vppsim import Simulator
from tests.integration import felix_fixtures as ff


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ff.build_proxy(tmp_path_factory.mktemp("felix-proxy"))


@pytest.fixture
def harness(conn: VppConnection, tmp_path: Path) -> Iterator[ff.Harness]:
    state = ClusterState(ClusterModel.build(ff.NODE))
    dataplane = Dataplane(state, Reconciler(conn, tmp_path / "index.json"), plugins.render)
    settings = FelixSettings(socket=str(tmp_path / "felix.sock"), status_interval=0)
    h = ff.Harness.start(state, dataplane, settings)
    yield h
    h.stop()


def pod_tags(conn: VppConnection) -> set[str]:
    return {i.tag for i in conn.dump(interfaces.dump()) if i.tag.startswith("vppnet:pod/")}


def test_vpp_is_programmed_after_insync_and_endpoints_come_up(
    sim: Simulator, conn: VppConnection, harness: ff.Harness, proxy: Path, tmp_path: Path
) -> None:
    for i in range(3):
        harness.state.put_pod_interface(ff.pod_interface(i))
    felix = ff.FelixEmulator(proxy, Path(harness.server.settings.socket), tmp_path / "p.log")
    try:
        messages = ff.startup(3, 2, 2)
        felix.send(*messages[:-1])
        ff.wait_until(lambda: harness.server.stats.messages == len(messages) - 1)
        assert sim.mutations == 0 and pod_tags(conn) == set()

        felix.send(messages[-1])
        replies = felix.collect(lambda rs: len(ff.statuses(rs)) == 3, timeout=30)
        assert set(ff.statuses(replies).values()) == {"up"}
        assert pod_tags(conn) == {f"vppnet:pod/default/pod-{i}/eth0" for i in range(3)}
        routes = {r.prefix for r in conn.dump(ip.dump_routes(0, False))}
        assert {ff.pod_address(i) for i in range(3)} <= {str(p.network_address) for p in routes}

        sim.inject_error("tap_create_v3", -11)  # the next pod's interface fails once
        harness.state.put_pod_interface(ff.pod_interface(3))
        felix.send(ff.workload(3, 2))
        replies = felix.collect(lambda rs: bool(ff.statuses(rs)), timeout=30)
        assert ff.statuses(replies) == {"default/pod-3": "error"}

        felix.send(ff.workload(4, 2))  # the next change converges again, retrying pod-3
        replies = felix.collect(lambda rs: ff.statuses(rs).get("default/pod-3") == "up", 30)
        assert "vppnet:pod/default/pod-3/eth0" in pod_tags(conn)
    finally:
        felix.close()
