"""Health endpoint, metrics hooks, JSON logs and settings of agent.telemetry."""

from __future__ import annotations

import asyncio
import io
import ipaddress
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from agent.bgp.peers import PeerSpec
from agent.config import AgentConfig
from agent.dataplane import ConvergeResult
from agent.proto_gen.cnibackend_pb2 import AddReply, AddRequest, DelReply, DelRequest
from agent.reconcile import ApplyReport, Change, Op, Plan
from agent.telemetry import LoggingSettings, Telemetry, TelemetrySettings, configure_logging
from agent.telemetry.collector import RuntimeCollector, RuntimeView
from agent.telemetry.metrics import DRIFT_LOG_KEYS, AgentMetrics
from agent.telemetry.server import Heartbeat
from agent.vppobjects import Loopback, VrfTable


@dataclass
class Status:
    ready: bool = False
    vpp_connected: bool = False
    vpp_reconnects: int = 0
    last_error: str = ""


@dataclass
class FakeEvents:
    calls: list[tuple[str, str, str, str]] = field(default_factory=list)

    def cni_failed(self, operation: str, namespace: str, pod: str, message: str) -> None:
        self.calls.append((operation, namespace, pod, message))


def samples(registry: CollectorRegistry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def changes(n: int) -> list[Change]:
    return [Change(Op.CREATE, VrfTable(100 + i, ip6=False)) for i in range(n)]


def result(plan_changes: list[Change], applied: list[Change] | None = None) -> ConvergeResult:
    plan = Plan(changes=plan_changes)
    report = ApplyReport(applied=applied if applied is not None else plan_changes, calls=7)
    return ConvergeResult(plan, report, frozenset(c.key for c in plan_changes))


# -- metrics hooks ---------------------------------------------------------------------------


def test_periodic_resync_counts_drift_by_kind_and_warns_naming_bounded_keys(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = CollectorRegistry()
    metrics = AgentMetrics(registry)
    drift = [*changes(DRIFT_LOG_KEYS + 3), Change(Op.DELETE, Loopback("loop-x"))]
    with caplog.at_level(logging.WARNING, logger="agent.telemetry.metrics"):
        metrics.resynced("start-up", result(changes(4)))  # not drift: the first programming
        metrics.resynced("periodic", result(drift))
        metrics.resynced("periodic", result([]))  # nothing repaired: no line
    got = samples(registry)
    assert got[("vppnet_drift_repaired_total", frozenset({("kind", "VrfTable")}))] == 13
    assert got[("vppnet_drift_repaired_total", frozenset({("kind", "Loopback")}))] == 1
    assert got[("vppnet_resyncs_total", frozenset({("reason", "periodic")}))] == 2
    assert got[("vppnet_resyncs_total", frozenset({("reason", "start-up")}))] == 1
    [line] = [r for r in caplog.records if "drift" in r.getMessage()]
    text = line.getMessage()
    assert "14 object(s)" in text and "and 4 more" in text
    assert drift[0].key in text and drift[-1].key not in text


def test_failed_resync_and_converge_errors_are_counted_by_kind() -> None:
    registry = CollectorRegistry()
    metrics = AgentMetrics(registry)
    c = changes(3)
    bad = ConvergeResult(
        Plan(changes=c),
        ApplyReport(applied=[c[0]], failed=[(c[1], "VPP said no")], skipped=[(c[2], "needs")]),
        frozenset(x.key for x in c),
    )
    metrics.converged("felix", 0.01, bad)
    metrics.resynced("VPP came back", None)
    got = samples(registry)
    assert got[("vppnet_errors_total", frozenset({("kind", "apply")}))] == 1
    assert got[("vppnet_errors_total", frozenset({("kind", "skipped")}))] == 1
    assert got[("vppnet_errors_total", frozenset({("kind", "resync")}))] == 1
    assert got[("vppnet_resyncs_total", frozenset({("reason", "vpp-came-back")}))] == 1
    labels = frozenset({("trigger", "felix")})
    assert got[("vppnet_converge_duration_seconds_count", labels)] == 1
    op = frozenset({("kind", "VrfTable"), ("operation", "create")})
    assert got[("vppnet_changes_applied_total", op)] == 1


def test_cni_observer_times_requests_and_reports_a_refused_add_on_its_pod() -> None:
    telemetry = Telemetry(TelemetrySettings(enabled=False), Status())
    events = FakeEvents()
    telemetry.object_events = events  # type: ignore[assignment]
    add = AddRequest(interface_name="eth0", netns="/var/run/netns/x")
    add.workload.namespace, add.workload.pod = "shop", "cart"
    telemetry.cni_observer("add", add, AddReply(successful=True), 0.02)
    telemetry.cni_observer("add", add, AddReply(successful=False, error_message="no IP"), 0.01)
    telemetry.cni_observer("del", DelRequest(), DelReply(successful=False), 0.01)
    got = samples(telemetry.registry)
    ok = frozenset({("operation", "add"), ("result", "success")})
    assert got[("vppnet_cni_request_duration_seconds_count", ok)] == 1
    assert got[("vppnet_errors_total", frozenset({("kind", "cni_add")}))] == 1
    assert got[("vppnet_errors_total", frozenset({("kind", "cni_del")}))] == 1
    assert events.calls == [("add", "shop", "cart", "no IP")]


# -- scrape-time state and readiness -----------------------------------------------------------


def view(status: Status, synced: dict[str, bool], owned: Any = None) -> RuntimeView:
    return RuntimeView(
        status=status,
        synced=lambda: synced,
        desired=lambda: [VrfTable(1, ip6=False), VrfTable(1, ip6=True), Loopback("l")],
        owned=lambda: owned,
        pending=lambda: 2,
        counters=None,
    )


def test_collector_shows_state_and_keeps_the_last_owned_count_when_unknown() -> None:
    registry = CollectorRegistry()
    owned: list[Any] = [Loopback("l")]
    v = view(Status(ready=True, vpp_connected=True, vpp_reconnects=3), {"felix": True})
    v.owned = lambda: owned if owned else None
    registry.register(RuntimeCollector(v))
    got = samples(registry)
    assert got[("vppnet_ready", frozenset())] == 1
    assert got[("vppnet_vpp_reconnects_total", frozenset())] == 3
    assert got[("vppnet_source_synced", frozenset({("source", "felix")}))] == 1
    assert got[("vppnet_objects_desired", frozenset({("kind", "VrfTable")}))] == 2
    assert got[("vppnet_objects_owned", frozenset({("kind", "Loopback")}))] == 1
    assert got[("vppnet_objects_pending", frozenset())] == 2
    assert got[("vppnet_vpp_up", frozenset())] == 0  # no counter source: nothing answered
    owned.clear()  # the reconciler's cache is gone (a failed apply): last count stands
    assert samples(registry)[("vppnet_objects_owned", frozenset({("kind", "Loopback")}))] == 1


def test_readiness_explains_what_it_waits_for() -> None:
    status = Status()
    telemetry = Telemetry(TelemetrySettings(enabled=False), status)
    telemetry.attach(view(status, {"kubernetes": True, "felix": False}))
    assert telemetry.readiness() == (False, "not ready: VPP is not connected")
    status.vpp_connected = True
    assert telemetry.readiness() == (False, "not ready: waiting for the first sync of: felix")
    status.last_error = "resync (start-up) failed: boom"
    assert telemetry.readiness()[1].endswith("; last error: resync (start-up) failed: boom")
    status.ready = True
    assert telemetry.readiness() == (True, "ready")


def test_liveness_fails_when_a_loop_stops_ticking() -> None:
    beat = Heartbeat(timeout=10)
    assert beat.check() == (True, "ok")
    beat.loop_beat -= 11
    ok, why = beat.check()
    assert not ok and "event loop stuck" in why
    beat.loop_beat += 11
    beat.main_tick = beat.loop_beat - 30
    ok, why = beat.check()
    assert not ok and "main loop stuck" in why


def get(port: int, path: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return int(r.status), r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read().decode()


def test_endpoint_serves_probes_and_metrics_and_stops() -> None:
    status = Status()
    telemetry = Telemetry(TelemetrySettings(address="127.0.0.1:0"), status)
    telemetry.attach(view(status, {}))

    async def scenario() -> None:
        await telemetry.start()
        assert telemetry.server is not None
        port = telemetry.server.port
        try:
            assert (await asyncio.to_thread(get, port, "/livez"))[::2] == (200, "ok\n")
            code, _, body = await asyncio.to_thread(get, port, "/readyz")
            assert code == 503 and body.startswith("not ready: VPP is not connected")
            status.ready = status.vpp_connected = True
            assert (await asyncio.to_thread(get, port, "/readyz"))[::2] == (200, "ready\n")
            code, ctype, text = await asyncio.to_thread(get, port, "/metrics")
            assert code == 200 and ctype.startswith("text/plain; version=")
            names = {f.name for f in text_string_to_metric_families(text)}
            assert {"vppnet_ready", "vppnet_errors", "vppnet_converge_duration_seconds"} <= names
            assert (await asyncio.to_thread(get, port, "/nope"))[0] == 404
        finally:
            await telemetry.stop()
        with pytest.raises(urllib.error.URLError):
            await asyncio.to_thread(get, port, "/livez")

    asyncio.run(scenario())


def test_a_taken_port_leaves_the_agent_running_without_endpoint(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = Telemetry(TelemetrySettings(address="127.0.0.1:0"), Status())

    async def scenario() -> None:
        await first.start()
        assert first.server is not None
        second = Telemetry(TelemetrySettings(address=f"127.0.0.1:{first.server.port}"), Status())
        await second.start()
        assert second.server is None
        await second.stop()
        await first.stop()

    with caplog.at_level(logging.ERROR):
        asyncio.run(scenario())
    assert "running without health and metrics endpoint" in caplog.text


# -- settings and logs -------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["9191", "localhost:9191", "0.0.0.0:99999", "[::1]:x"])
def test_bad_address_is_refused_naming_the_field(address: str) -> None:
    with pytest.raises(ValidationError, match=r"telemetry\.address"):
        AgentConfig.model_validate({"telemetry": {"address": address}})


def test_config_sections_parse() -> None:
    cfg = AgentConfig.model_validate(
        {
            "telemetry": {"address": "[::]:9300", "liveness_timeout": 30},
            "logging": {"format": "json", "level": "debug"},
            "vpp": {"stats_socket": None},
        }
    )
    assert cfg.telemetry.address == "[::]:9300" and cfg.logging.format == "json"
    assert cfg.vpp.stats_socket is None
    with pytest.raises(ValidationError, match=r"logging\.format"):
        AgentConfig.model_validate({"logging": {"format": "xml"}})


def test_json_logs_carry_time_level_logger_message_extras_and_exception() -> None:
    out = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging(LoggingSettings(format="json", level="info"), stream=out)
        log = logging.getLogger("vppnet.test")
        log.debug("not shown at info")
        log.info("programmed %s", "tun0", extra={"kind": "TunTap", "key": "pod/a/b/eth0"})
        try:
            raise ValueError("bad")
        except ValueError:
            log.exception("failed")
        configure_logging(LoggingSettings(format="json", level="warning"), verbose=True, stream=out)
        log.debug("shown: -v forces debug")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["message"] for line in lines] == [
        "programmed tun0",
        "failed",
        "shown: -v forces debug",
    ]
    first = lines[0]
    assert first["level"] == "info" and first["logger"] == "vppnet.test"
    assert first["kind"] == "TunTap" and first["key"] == "pod/a/b/eth0"
    assert first["time"].endswith("+00:00")
    assert "ValueError: bad" in lines[1]["exception"]


def test_bgp_passwords_stay_out_of_json_log_lines() -> None:
    """A peer logged whole (message argument or structured extra) never shows its password."""
    out = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    peer = PeerSpec(ipaddress.ip_address("192.0.2.1"), 64512, password="s3cret-md5")
    try:
        configure_logging(LoggingSettings(format="json"), stream=out)
        logging.getLogger("vppnet.test").warning("peer %s", peer, extra={"peer": peer})
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    assert "192.0.2.1" in out.getvalue() and "s3cret" not in out.getvalue()
