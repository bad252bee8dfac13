"""The agent's health and metrics endpoint, end to end on a simulator with real devices.

Readiness follows the agent's life (not ready while VPP's socket is missing,
ready after the first full sync), and a pod's traffic shows in the scrape:
UDP sent from inside the pod's netns goes out its eth0 tun, the simulator
receives it as VPP's tap driver would, and the pod interface's rx counter
read from the stats segment rises.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pyroute2 import netns

from agent.cni import AsyncCniClient, add_request
from agent.config import AgentConfig, VppSettings
from agent.runtime import AgentRuntime
from agent.telemetry import TelemetrySettings
from agent.vppsim import Simulator
from tests.integration.agent_fixtures import agent_config, until
from tests.integration.cni_fixtures import base_model, pod_netns

__all__ = ["pod_netns"]

pytestmark = pytest.mark.root

POD = {"namespace": "shop", "pod": "cart", "interface": "eth0", "network": "default"}


def config(tmp: Path) -> AgentConfig:
    return agent_config(
        tmp,
        vpp=VppSettings(
            socket=str(tmp / "api.sock"),
            stats_socket=str(tmp / "stats.sock"),
            timeout=2.0,
            connect_wait=30.0,
        ),
        telemetry=TelemetrySettings(address="127.0.0.1:0", counters_cache=0),
    )


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return int(r.status), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


def send_udp(path: str, dst: str, count: int, size: int) -> None:
    """UDP datagrams from inside the netns at ``path`` (a thread of its own enters it)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                netns.setns(fd)
            finally:
                os.close(fd)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                for _ in range(count):
                    s.sendto(b"v" * size, (dst, 9))
        except BaseException as e:  # reported to the test below
            errors.append(e)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert not errors, errors


def test_health_follows_sync_and_metrics_show_pod_traffic(
    tmp_path: Path, pod_netns: Callable[[], str]
) -> None:
    cfg = config(tmp_path)
    path = pod_netns()
    sim = Simulator(
        tmp_path / "api.sock",
        devices="real",
        stats_socket=tmp_path / "stats.sock",
        stats_interval=0.2,
    )

    async def scenario() -> None:
        stop = asyncio.Event()
        agent = AgentRuntime(cfg, "node-a", vhost_net=True, initial_model=base_model())
        task = asyncio.create_task(agent.run(stop))
        server = agent.telemetry.server
        assert server is not None
        # VPP's socket is not there yet: alive, but not ready, and saying why
        await until(lambda: server.running)
        port = server.port
        assert await asyncio.to_thread(get, port, "/livez") == (200, "ok\n")
        code, reason = await asyncio.to_thread(get, port, "/readyz")
        assert code == 503 and "VPP is not connected" in reason
        metrics = (await asyncio.to_thread(get, port, "/metrics"))[1]
        assert value(metrics, "vppnet_ready") == 0
        assert value(metrics, "vppnet_vpp_up") == 0

        await asyncio.to_thread(sim.start)
        await until(lambda: agent.status.ready)
        assert await asyncio.to_thread(get, port, "/readyz") == (200, "ready\n")

        request = add_request(netns=path, namespace="shop", pod="cart", addresses=["10.244.1.9/32"])
        async with AsyncCniClient(cfg.cni.socket) as client:
            reply = await client.add(request)
        assert reply.successful, reply.error_message

        def rx() -> float:
            text = get(port, "/metrics")[1]
            return value(text, "vppnet_pod_interface_rx_packets_total", **POD) or 0.0

        before = await asyncio.to_thread(rx)
        await asyncio.to_thread(send_udp, path, "10.96.0.10", 25, 200)
        deadline = time.monotonic() + 20
        while (now := await asyncio.to_thread(rx)) < before + 25:
            assert time.monotonic() < deadline, f"rx stayed at {now} (before {before})"
            await asyncio.sleep(0.1)
        text = (await asyncio.to_thread(get, port, "/metrics"))[1]
        # 25 datagrams of 200 bytes + 28 bytes of IP and UDP headers, as the tun saw them
        assert (value(text, "vppnet_pod_interface_rx_bytes_total", **POD) or 0) >= 25 * 228
        assert value(text, "vppnet_vpp_up") == 1 and value(text, "vppnet_vpp_stats_up") == 1
        assert value(text, "vppnet_ready") == 1
        assert value(text, "vppnet_resyncs_total", reason="start-up") == 1
        assert (
            value(
                text, "vppnet_cni_request_duration_seconds_count", operation="add", result="success"
            )
            == 1
        )
        assert (value(text, "vppnet_converge_duration_seconds_count", trigger="cni") or 0) >= 1
        assert (value(text, "vppnet_objects_owned", kind="TunTap") or 0) >= 1
        assert value(text, "vppnet_errors_total", kind="cni_add") == 0

        # a refused ADD is counted as an error of its kind
        bad = add_request(
            netns="/nonexistent", namespace="shop", pod="x", addresses=["10.1.1.1/32"]
        )
        async with AsyncCniClient(cfg.cni.socket) as client:
            assert not (await client.add(bad)).successful
        text = (await asyncio.to_thread(get, port, "/metrics"))[1]
        assert value(text, "vppnet_errors_total", kind="cni_add") == 1

        stop.set()
        assert await task == 0

    try:
        asyncio.run(scenario())
    finally:
        sim.stop()
