"""Health, metrics, structured logging and user-facing Events of the agent.

The runtime owns one :class:`Telemetry`: it creates it first, so /livez
answers during start-up, hands the layers below it plain observer hooks
(the dataplane's converge observer, the CNI server's request observer,
the Event recorder's observer), and stops it last. This package sits
between the runtime and the sources in the import layers: it reads the
dataplane, reconciler, model and VPP, and nothing below it imports
prometheus_client or this package.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Final

from prometheus_client import CollectorRegistry

from agent.proto_gen.cnibackend_pb2 import AddReply, AddRequest, DelReply, DelRequest
from agent.telemetry.collector import RuntimeCollector, RuntimeView, StatusView
from agent.telemetry.config import LoggingSettings, TelemetrySettings
from agent.telemetry.counters import InterfaceCounterSource
from agent.telemetry.events import ObjectEvents
from agent.telemetry.logs import JsonFormatter, configure_logging
from agent.telemetry.metrics import AgentMetrics
from agent.telemetry.server import HealthServer, Heartbeat

log = logging.getLogger(__name__)

BEAT_SECONDS: Final = 1.0


class Telemetry:
    def __init__(self, settings: TelemetrySettings, status: StatusView) -> None:
        self.settings = settings
        self.status = status
        self.registry = CollectorRegistry()
        self.metrics = AgentMetrics(self.registry)
        self.heartbeat = Heartbeat(settings.liveness_timeout)
        self.object_events: ObjectEvents | None = None
        self.view: RuntimeView | None = None
        self.server = (
            HealthServer(settings.address, self.heartbeat.check, self.readiness, self.registry)
            if settings.enabled
            else None
        )
        self._beat: asyncio.Task[None] | None = None

    def attach(self, view: RuntimeView) -> None:
        """Show the runtime's state in /metrics and explain it in /readyz."""
        self.view = view
        self.registry.register(RuntimeCollector(view))

    # -- life cycle ----------------------------------------------------------------
    async def start(self) -> None:
        self._beat = asyncio.create_task(self._beating(), name="vppnet-heartbeat")
        if self.server is not None:
            try:
                await asyncio.to_thread(self.server.start)
            except OSError as e:
                # the dataplane matters more than its probes: run on, and say why they fail
                log.error("%s; running without health and metrics endpoint", e)
                self.server = None

    async def stop(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
            self._beat = None
        if self.server is not None:
            await asyncio.to_thread(self.server.stop)
        if self.object_events is not None:
            await asyncio.to_thread(self.object_events.close)

    async def _beating(self) -> None:
        while True:
            self.heartbeat.loop_beat = time.monotonic()
            await asyncio.sleep(BEAT_SECONDS)

    # -- what the runtime and the layers call ---------------------------------------
    def tick(self) -> None:
        """The main loop went round once."""
        self.heartbeat.main_tick = time.monotonic()

    def readiness(self) -> tuple[bool, str]:
        s = self.status
        if s.ready and s.vpp_connected:
            return True, "ready"
        if not s.vpp_connected:
            reason = "VPP is not connected"
        else:
            waiting = [k for k, done in self.view.synced().items() if not done] if self.view else []
            reason = (
                f"waiting for the first sync of: {', '.join(sorted(waiting))}"
                if waiting
                else "first full reconcile or CNI server not done yet"
            )
        if s.last_error:
            reason += f"; last error: {s.last_error}"
        return False, f"not ready: {reason}"

    def cni_observer(
        self,
        operation: str,
        request: AddRequest | DelRequest,
        reply: AddReply | DelReply,
        seconds: float,
    ) -> None:
        """The CNI server's hook: time it, count a failure, and tell the Pod about it."""
        self.metrics.cni(operation, reply.successful, seconds)
        if reply.successful or self.object_events is None or not isinstance(request, AddRequest):
            return
        self.object_events.cni_failed(
            operation, request.workload.namespace, request.workload.pod, reply.error_message
        )


__all__ = [
    "AgentMetrics",
    "InterfaceCounterSource",
    "JsonFormatter",
    "LoggingSettings",
    "ObjectEvents",
    "RuntimeView",
    "Telemetry",
    "TelemetrySettings",
    "configure_logging",
]
