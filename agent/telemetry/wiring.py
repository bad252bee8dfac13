"""Hook the telemetry into the agent's parts: one call from the runtime.

Every part below the runtime exposes a plain observer list (the
dataplane's converge observers, the Event recorder's observers; the CNI
server's request observers once it exists) and plain state (the status,
the dataplane's desired and pending, the reconciler's cached view of VPP,
the sources' sync flags); this module connects them, so the runtime's own
code stays about running the agent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from agent.bgp.speaker import BgpSpeaker
from agent.dataplane import Dataplane
from agent.felix.server import FelixDriverServer
from agent.k8s.runner import KubernetesSources
from agent.state import ClusterState
from agent.telemetry import Telemetry
from agent.telemetry.collector import RuntimeView
from agent.telemetry.counters import InterfaceCounterSource
from agent.telemetry.events import ObjectEvents
from agent.vpp import VppConnection
from agent.vppobjects import VppObject


def instrument(
    telemetry: Telemetry,
    *,
    dataplane: Dataplane,
    conn: VppConnection,
    state: ClusterState,
    stats_socket: str | None,
    kubernetes: KubernetesSources | None,
    felix: FelixDriverServer | None,
    bgp: BgpSpeaker | None = None,
) -> None:
    dataplane.observers.append(telemetry.metrics.converged)
    if bgp is not None:
        bgp.observers.append(telemetry.metrics.bgp_problem)

    def synced() -> Mapping[str, bool]:
        out: dict[str, bool] = {}
        if kubernetes is not None:
            out["kubernetes"] = kubernetes.synced
        if felix is not None:
            out["felix"] = felix.synced.is_set()
        return out

    def owned() -> Iterable[VppObject] | None:
        observed = dataplane.reconciler.last_observed
        return list(observed.objects.values()) if observed is not None else None

    telemetry.attach(
        RuntimeView(
            status=telemetry.status,
            synced=synced,
            desired=lambda: list(dataplane.desired.values()),
            owned=owned,
            pending=lambda: dataplane.pending,
            counters=InterfaceCounterSource(
                conn, stats_socket, lambda: state.model, telemetry.settings.counters_cache
            ),
        )
    )
    if kubernetes is not None:
        recorder = kubernetes.writeback.events
        recorder.observers.append(telemetry.metrics.event)
        telemetry.object_events = ObjectEvents(recorder, kubernetes.api)
        if bgp is not None:
            bgp.observers.append(telemetry.object_events.bgp_problem)
