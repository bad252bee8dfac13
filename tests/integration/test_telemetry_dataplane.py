"""Telemetry on the real dataplane and simulator (no root): change log lines, drift,
VPP going away under /metrics, and user-facing errors reported as Events (a Pod's
failed CNI ADD, a BGPPeer the speaker skips) through the fake API server."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import plugins
from agent.bgp import BgpSettings
from agent.bgp.errors import BgpConfigError
from agent.bgp.peers import desired_peers
from agent.dataplane import Dataplane
from agent.k8s.api import KubeApi
from agent.k8s.events import EventRecorder
from agent.model import BgpPeer, ClusterModel, Node, PodBlock, PodInterface, PodInterfaceKey
from agent.reconcile import Reconciler
from agent.state import ClusterState
from agent.telemetry import Telemetry, TelemetrySettings
from agent.telemetry.collector import RuntimeView
from agent.telemetry.counters import InterfaceCounterSource
from agent.telemetry.events import REASON_ADD_FAILED, REASON_BGP_PEER, ObjectEvents
from agent.telemetry.metrics import AgentMetrics
from agent.vpp import VppConnection, ip
from agent.vppsim import Simulator
from tests.k8sfake import EVENTS, PODS, FakeKubeApi, ResourceType

BGP_PEERS = ResourceType("crd.projectcalico.org", "v1", "bgppeers", "BGPPeer", False)

IF = ipaddress.ip_interface
NET = ipaddress.ip_network


def make(conn: VppConnection, tmp_path: Path) -> tuple[ClusterState, Dataplane]:
    node = Node("a", (IF("192.168.0.1/24"),), (PodBlock(NET("10.0.1.0/24")),))
    state = ClusterState(ClusterModel.build("a", nodes=[node]))
    state.put_pod_interface(
        PodInterface(
            key=PodInterfaceKey("shop", "cart", "eth0"),
            container_id="c1",
            netns="/var/run/netns/c1",
            host_interface_name="calic1",
            addresses=(IF("10.0.1.1/32"),),
        )
    )
    return state, Dataplane(state, Reconciler(conn, tmp_path / "index.json"), plugins.render)


def scrape(registry: CollectorRegistry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_apply_logs_one_debug_line_per_programmed_change(
    sim: Simulator, conn: VppConnection, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, dp = make(conn, tmp_path)
    with caplog.at_level(logging.DEBUG, logger="agent.reconcile.apply"):
        result = dp.converge("cni")
    lines = [r for r in caplog.records if r.name == "agent.reconcile.apply"]
    assert len(lines) == len(result.report.applied) > 0
    assert {(r.operation, r.kind, r.key) for r in lines} == {  # type: ignore[attr-defined]
        (c.op.value, type(c.obj).__name__, c.key) for c in result.report.applied
    }
    assert "create TunTap interface pod/shop/cart/eth0" in caplog.text


def test_periodic_resync_reports_the_drift_it_repaired(
    sim: Simulator, conn: VppConnection, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = CollectorRegistry()
    metrics = AgentMetrics(registry)
    _, dp = make(conn, tmp_path)
    dp.observers.append(metrics.converged)
    dp.converge("cni")
    conn.call(ip.del_route(0, NET("10.0.1.1/32")))  # behind the agent's back
    with caplog.at_level(logging.WARNING, logger="agent.telemetry.metrics"):
        metrics.resynced("periodic", dp.resync())
    got = scrape(registry)
    assert got[("vppnet_drift_repaired_total", frozenset({("kind", "Route")}))] == 1
    assert got[("vppnet_converge_duration_seconds_count", frozenset({("trigger", "resync")}))] == 1
    assert "repaired drift in 1 object(s): create route 0 10.0.1.1/32" in caplog.text


def test_metrics_keep_answering_when_vpp_goes_away(tmp_path: Path) -> None:
    sock = tmp_path / "api.sock"
    sim = Simulator(sock, devices="record", stats_socket=tmp_path / "stats.sock")
    sim.start()
    conn = VppConnection(sock, timeout=2.0)
    conn.connect()
    try:
        state, dp = make(conn, tmp_path)
        dp.converge("cni")
        sim.update_stats()  # else the new interface shows at the next tick
        counters = InterfaceCounterSource(
            conn, str(tmp_path / "stats.sock"), lambda: state.model, cache_seconds=0
        )
        telemetry = Telemetry(TelemetrySettings(enabled=False), _Status())
        telemetry.attach(
            RuntimeView(
                status=telemetry.status,
                synced=dict,
                desired=lambda: list(dp.desired.values()),
                owned=lambda: None,
                pending=lambda: dp.pending,
                counters=counters,
            )
        )
        pod = frozenset(
            {("namespace", "shop"), ("pod", "cart"), ("interface", "eth0"), ("network", "default")}
        )
        got = scrape(telemetry.registry)
        assert got[("vppnet_vpp_up", frozenset())] == 1
        assert got[("vppnet_pod_interface_rx_packets_total", pod)] == 0  # recorded: no packets
        sim.stop()
        got = scrape(telemetry.registry)
        assert got[("vppnet_vpp_up", frozenset())] == 0
        assert ("vppnet_pod_interface_rx_packets_total", pod) not in got
        assert got[("vppnet_ready", frozenset())] == 0
    finally:
        conn.close()
        sim.stop()


class _Status:
    ready = False
    vpp_connected = False
    vpp_reconnects = 0
    last_error = ""


def test_cni_failure_becomes_one_event_on_its_pod() -> None:
    with FakeKubeApi(PODS) as fake:
        created = fake.create(
            PODS,
            {"metadata": {"name": "cart", "namespace": "shop", "uid": "u-1"}, "spec": {}},
            namespace="shop",
        )
        api = KubeApi(fake.api_client())
        recorder = EventRecorder(api, "node-a")
        seen: list[tuple[str, str, str]] = []
        recorder.observers.append(lambda *a: seen.append(a))
        events = ObjectEvents(recorder, api)
        for _ in range(3):  # the kubelet retries: one Event
            events.cni_failed("add", "shop", "cart", "shop/cart/eth0: no address in the pool")
        events.cni_failed("add", "shop", "gone", "a pod the API does not know")
        events.close()
        [event] = fake.items(EVENTS)
        assert event["reason"] == REASON_ADD_FAILED and event["type"] == "Warning"
        assert event["involvedObject"]["kind"] == "Pod"
        assert event["involvedObject"]["uid"] == created["metadata"]["uid"]
        assert event["involvedObject"]["name"] == "cart"
        assert event["message"] == "CNI ADD failed: shop/cart/eth0: no address in the pool"
        assert seen == [("Pod", REASON_ADD_FAILED, "Warning")]


def test_a_bgp_peer_the_speaker_skips_gets_an_event_naming_the_field() -> None:
    """A BGPPeer with a peer IP but no AS number: desired_peers refuses it, and the
    problem the speaker's observers are told becomes an Event on that BGPPeer."""
    node = Node("a", (IF("192.168.0.1/24"),), (), asn=65001)
    model = ClusterModel.build(
        "a", nodes=[node], bgp_peers=[BgpPeer("tor", peer_ip=ipaddress.ip_address("10.9.9.9"))]
    )
    [problem] = desired_peers(model, BgpSettings()).problems
    with FakeKubeApi(BGP_PEERS) as fake:
        created = fake.create(
            BGP_PEERS, {"metadata": {"name": "tor"}, "spec": {"peerIP": "10.9.9.9"}}
        )
        api = KubeApi(fake.api_client())
        registry = CollectorRegistry()
        metrics = AgentMetrics(registry)
        recorder = EventRecorder(api, "node-a")
        recorder.observers.append(metrics.event)
        events = ObjectEvents(recorder, api)
        metrics.bgp_problem(problem)
        events.bgp_problem(problem)
        events.bgp_problem(BgpConfigError("bgp.peers static", "asn", "not the cluster's"))
        events.close()
        [event] = fake.items(EVENTS)
        assert event["reason"] == REASON_BGP_PEER and event["type"] == "Warning"
        assert event["involvedObject"]["kind"] == "BGPPeer"
        assert event["involvedObject"]["uid"] == created["metadata"]["uid"]
        assert event["message"].startswith("spec.asNumber: ")
        got = scrape(registry)
        assert got[("vppnet_errors_total", frozenset({("kind", "bgp_config")}))] == 1
        assert got[("vppnet_errors_total", frozenset({("kind", "kubernetes_object")}))] == 1
