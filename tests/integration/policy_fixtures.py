"""Policy tests against the simulator: its npol state as npol evaluates it, and call order."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import plugins
from agent.dataplane import Dataplane
from agent.model import ClusterModel
from agent.reconcile import Reconciler
from agent.reconcile.npol_eval import InterfaceSpec, NpolState, RuleSpec, state_of
from agent.reconcile.npol_records import programmed
from agent.state import ClusterState
from agent.vpp import VppConnection
from agent.vpp.request import Request
from agent.vppsim import Simulator


def sim_state(sim: Simulator, names: dict[int, Any]) -> NpolState:
    """The simulator's npol state, interfaces keyed by vppnet's name for them."""
    npol = sim.state.npol
    state = NpolState()
    for set_id, s in npol.ipsets.items():
        state.ipsets[set_id] = (s.type, frozenset(s.members))
    for rule_id, r in npol.rules.items():
        filters = tuple(
            (f["type"], int(f["value"]), bool(f["should_match"])) for f in r["filters"] if f["type"]
        )
        entries = tuple(
            (bool(e["is_src"]), bool(e["is_not"]), e["type"], e["data"]) for e in r["matches"]
        )
        state.rules[rule_id] = RuleSpec(r["action"], filters, entries)
    for policy_id, items in npol.policies.items():
        state.policies[policy_id] = (
            tuple(i["rule_id"] for i in items if i["is_inbound"]),
            tuple(i["rule_id"] for i in items if not i["is_inbound"]),
        )
    for sw_if_index, c in npol.interfaces.items():
        state.interfaces[str(names.get(sw_if_index, sw_if_index))] = InterfaceSpec(
            tuple(c.rx_policies),
            tuple(c.tx_policies),
            tuple(c.profiles),
            c.invert_rx_tx,
            c.policy_default_rx,
            c.policy_default_tx,
            c.profile_default_rx,
            c.profile_default_tx,
        )
    return state


def index_state(reconciler: Reconciler) -> NpolState:
    """What the agent's ownership index says it programmed."""
    return state_of(*programmed(reconciler.index.npol))


class Recording:
    """Wraps a connection's pipeline to record the messages sent, in order."""

    def __init__(self, conn: VppConnection) -> None:
        self.sent: list[Request[Any]] = []
        self._pipeline = conn.pipeline
        conn.pipeline = self._record  # type: ignore[method-assign]

    def _record(self, requests: Sequence[Request[Any]]) -> list[Any]:
        self.sent.extend(requests)
        return self._pipeline(requests)


def make(conn: VppConnection, index: Path, model: ClusterModel) -> tuple[ClusterState, Dataplane]:
    state = ClusterState(model)
    return state, Dataplane(state, Reconciler(conn, index), plugins.render)


def switch(state: ClusterState, model: ClusterModel) -> None:
    state.update(lambda _old: model, "test")


def names(dp: Dataplane) -> dict[int, Any]:
    return dict(dp.reconciler.observed.names)
