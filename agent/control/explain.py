"""``explain policy`` as data: the verdict programmed in npol, Calico's, and the account.

Shared by the control socket (the live model and the agent's npol records) and
the command line's ``--state-dir`` mode (the persisted index, no model), so both
give the same text and the same JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.explain_policy import (
    POD_PREFIX,
    Direction,
    ExplainError,
    Programmed,
    explain,
    interface_of,
    parse_packet,
)
from agent.model import ClusterModel, PodInterfaceKey
from agent.reconcile.journal import read_npol_records
from agent.reconcile.npol_eval import evaluate_pod
from plugins.policy_oracle import evaluate


def index_records(index_path: str | Path) -> dict[str, Any]:
    """The npol records of an ownership index file (read only, as the agent left it)."""
    try:
        return read_npol_records(index_path)
    except (OSError, ValueError) as e:
        raise ExplainError(f"cannot read the ownership index {index_path}: {e}") from None


def explain_policy(
    records: dict[str, Any],
    target: str,
    direction: str,
    packet: str,
    model: ClusterModel | None = None,
) -> dict[str, Any]:
    """``{target, direction, packet, allowed, calico_allowed, text}``; ExplainError on bad input.

    ``allowed`` is what VPP does as programmed; ``calico_allowed`` what Calico means
    (None without a model or for an interface the model does not know).
    """
    if direction not in ("ingress", "egress"):
        raise ExplainError(f"direction: {direction!r} is not ingress or egress")
    d: Direction = "ingress" if direction == "ingress" else "egress"
    parsed = parse_packet(packet)
    programmed = Programmed.from_records(records)
    text = explain(programmed, target, d, parsed, model)  # ExplainError: unknown interface
    iface = interface_of(target)
    verdict = evaluate_pod(programmed.state, iface, d == "ingress", parsed)
    calico: bool | None = None
    if model is not None:
        parts = iface.removeprefix(POD_PREFIX).split("/", 2)
        if len(parts) == 3 and (key := PodInterfaceKey(*parts)) in model.pod_interfaces:
            calico = evaluate(model, key, d, parsed).allowed
    return {
        "target": iface.removeprefix(POD_PREFIX),
        "direction": d,
        "packet": str(parsed),
        "allowed": verdict.allowed,
        "calico_allowed": calico,
        "text": text,
    }
