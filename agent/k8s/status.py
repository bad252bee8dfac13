"""What a vppnet Network's status should say, computed purely from what the agent knows.

Every agent computes the same conditions from the same inputs (the Network
objects, the IP pools, :func:`plugins.networks.problems`), so they agree and
whoever writes first wins; the others find the status already right and write
nothing. Per-node facts go under the node's own key (``status.podInterfaces``:
how many local pod interfaces use the network), which a JSON merge patch
updates without touching the other nodes' keys.

Conditions (``metav1.Condition``):

* ``Invalid`` — True with the reason (``VNIOutOfRange``, ``DuplicateVNI``,
  ``RangeOverlap``, ``BadCIDR``, ...) when the network is refused; False
  (``Valid``) otherwise.
* ``Ready`` — True (``Accepted``) while the network is programmed; True
  (``DeletionBlocked``) while a deleted network is kept because pods still use
  it, the message saying which nodes hold how many; False (``Invalid``) for a
  refused network, False (``Deleting``) once nothing uses it any more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from agent.k8s.catalog import NetworkEntry
from plugins.networks import NetworkProblem

FINALIZER: Final = "vppnet.io/network-in-use"
USAGE_FIELD: Final = "podInterfaces"

Condition = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Verdict:
    """A network's validity and use, from which conditions and finalizer moves follow."""

    problem: NetworkProblem | None
    usage: Mapping[str, int]  # node -> pod interfaces attached there (non-zero only)
    deleting: bool

    @property
    def in_use(self) -> int:
        return sum(self.usage.values())


def usage(
    entry: NetworkEntry, nodes: set[str], local_node: str, local_count: int
) -> dict[str, int]:
    """Pod interfaces per node: this node's own count, the others' as they reported it.

    Reports of nodes that no longer exist are ignored: a deleted node's pods are
    gone, and its agent will never clear its count.
    """
    status = entry.raw.get("status")
    reported = status.get(USAGE_FIELD) if isinstance(status, dict) else None
    out: dict[str, int] = {}
    for node, count in (reported if isinstance(reported, dict) else {}).items():
        if node in nodes and node != local_node and isinstance(count, int) and count > 0:
            out[node] = count
    if local_count > 0:
        out[local_node] = local_count
    return dict(sorted(out.items()))


def verdict(
    entry: NetworkEntry,
    problem: NetworkProblem | None,
    nodes: set[str],
    local_node: str,
    local_count: int,
) -> Verdict:
    if entry.error is not None:
        problem = NetworkProblem(entry.error.reason, str(entry.error))
    return Verdict(problem, usage(entry, nodes, local_node, local_count), entry.meta.deleting)


def conditions(entry: NetworkEntry, v: Verdict) -> list[Condition]:
    """``Ready`` and ``Invalid``, without transition times (see :func:`with_times`)."""
    generation = entry.meta.generation
    if v.problem is not None:
        message = v.problem.message
        return [
            _condition("Ready", False, "Invalid", message, generation),
            _condition("Invalid", True, v.problem.reason, message, generation),
        ]
    valid = _condition("Invalid", False, "Valid", "", generation)
    if v.deleting and v.in_use:
        where = ", ".join(f"{node} ({count})" for node, count in v.usage.items())
        message = (
            f"deletion waits for {v.in_use} pod interface(s) still attached: {where}; "
            "the network stays programmed until they are gone"
        )
        return [_condition("Ready", True, "DeletionBlocked", message, generation), valid]
    if v.deleting:
        message = "no pod uses the network any more; it is being removed"
        return [_condition("Ready", False, "Deleting", message, generation), valid]
    network = entry.network
    assert network is not None
    message = f"VNI {network.vni}, VRF table {network.vrf_table_id}"
    return [_condition("Ready", True, "Accepted", message, generation), valid]


def _condition(kind: str, status: bool, reason: str, message: str, generation: int) -> Condition:
    return {
        "type": kind,
        "status": "True" if status else "False",
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
    }


def _without_time(condition: Any) -> Any:
    if not isinstance(condition, dict):
        return condition
    return {k: v for k, v in condition.items() if k != "lastTransitionTime"}


def with_times(desired: list[Condition], observed: Any, now: datetime) -> list[Condition]:
    """Keep each condition's ``lastTransitionTime`` unless its status flips."""
    before = (
        {c.get("type"): c for c in observed if isinstance(c, dict)}
        if isinstance(observed, list)
        else {}
    )
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = []
    for condition in desired:
        previous = before.get(condition["type"])
        same = previous is not None and previous.get("status") == condition["status"]
        kept = previous.get("lastTransitionTime") if same and previous is not None else None
        out.append({**condition, "lastTransitionTime": kept or stamp})
    return out


def status_patch(
    entry: NetworkEntry, v: Verdict, local_node: str, now: datetime
) -> dict[str, Any] | None:
    """The merge patch for the status subresource, or None when the status is right."""
    status = entry.raw.get("status")
    status = status if isinstance(status, dict) else {}
    desired = conditions(entry, v)
    observed = status.get("conditions")
    patch: dict[str, Any] = {}
    same_conditions = isinstance(observed, list) and [_without_time(c) for c in observed] == [
        _without_time(c) for c in desired
    ]
    if not same_conditions:
        patch["conditions"] = with_times(desired, observed, now)
    if status.get("observedGeneration") != entry.meta.generation:
        patch["observedGeneration"] = entry.meta.generation
    reported = status.get(USAGE_FIELD)
    mine = reported.get(local_node) if isinstance(reported, dict) else None
    wanted = v.usage.get(local_node)
    if mine != wanted:
        patch[USAGE_FIELD] = {local_node: wanted}  # None removes the key
    return {"status": patch} if patch else None


def finalizer_patch(
    entry: NetworkEntry, v: Verdict, resource_version: str | None = None
) -> dict[str, Any] | None:
    """Add vppnet's finalizer to a live Network; drop it once a deleted one is unused.

    The patch carries the object's resourceVersion (``resource_version`` when the
    caller just changed the object), so two agents racing on the finalizer list
    cannot lose another controller's finalizer: the loser gets a 409 and retries
    from the newer object.
    """
    finalizers = list(entry.meta.finalizers)
    if not entry.meta.deleting and FINALIZER not in finalizers:
        finalizers.append(FINALIZER)
    elif entry.meta.deleting and FINALIZER in finalizers and not v.in_use:
        finalizers.remove(FINALIZER)
    else:
        return None
    version = resource_version or entry.meta.resource_version
    return {"metadata": {"finalizers": finalizers, "resourceVersion": version}}
