"""Which workload endpoint status to report to Felix, and when.

An endpoint is ``up`` once every VPP object its pod interface renders to is
programmed, ``error`` when the last converge failed (or skipped) one of them,
and ``down`` while the CNI has not created its interface yet. Felix's
status message has no room for a reason, so the reason is logged and kept in
:attr:`EndpointStatusTracker.reasons`.

Only changes are reported. Endpoints are re-evaluated when their Felix
endpoint or their pod interface changed (``mark``) and, after each converge,
while they are in error (their keys are retried by every converge).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from agent.dataplane import ConvergeResult
from agent.felix.messages import DOWN, ERROR, UP
from agent.model import ClusterModel, PodInterfaceKey
from agent.vppobjects import VppObject
from plugins.pods import render_pod
from plugins.policy import endpoint_problems, policy_binding_key

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A status to send (``status`` None: the endpoint is gone, send a remove)."""

    key: PodInterfaceKey
    orchestrator: str
    status: str | None
    reason: str = ""


def endpoint_keys(model: ClusterModel, key: PodInterfaceKey) -> frozenset[str]:
    """The desired-object keys of a pod interface (raises if it cannot be rendered),
    its policy binding included."""
    pod = model.pod_interfaces[key]
    return frozenset(obj.key for obj in render_pod(model, pod)) | {policy_binding_key(pod)}


def status_of(
    model: ClusterModel,
    key: PodInterfaceKey,
    desired: Mapping[str, VppObject],
    result: ConvergeResult,
) -> tuple[str, str]:
    """(status, reason) of one endpoint after a converge."""
    if key not in model.pod_interfaces:
        return DOWN, "no interface from the CNI yet"
    try:
        keys = endpoint_keys(model, key)
    except Exception as e:  # an inconsistent model: say so rather than crash the reporter
        return ERROR, f"cannot render the pod interface: {e}"
    errors = result.errors_for(keys)
    if errors:
        return ERROR, "; ".join(errors)
    problems = endpoint_problems(model, key)  # policies programmed fail-closed
    if problems:
        return ERROR, "; ".join(str(p) for p in problems)
    missing = sorted(keys - desired.keys())
    if missing:
        return DOWN, f"not programmed yet: {', '.join(missing[:3])}"
    return UP, "programmed"


class EndpointStatusTracker:
    def __init__(self) -> None:
        self.reported: dict[PodInterfaceKey, str] = {}
        self.orchestrators: dict[PodInterfaceKey, str] = {}
        self.reasons: dict[PodInterfaceKey, str] = {}
        self._dirty: set[PodInterfaceKey] = set()

    def mark(self, keys: Iterable[PodInterfaceKey]) -> None:
        self._dirty.update(keys)

    def reset(self) -> None:
        """A new Felix knows no status: forget what the previous one was told."""
        self.reported.clear()
        self.orchestrators.clear()
        self.reasons.clear()
        self._dirty.clear()

    @property
    def pending(self) -> Collection[PodInterfaceKey]:
        return self._dirty

    def evaluate(
        self, model: ClusterModel, desired: Mapping[str, VppObject], result: ConvergeResult
    ) -> list[StatusChange]:
        """The status changes to send after a converge, in key order."""
        candidates = self._dirty | {k for k, s in self.reported.items() if s == ERROR}
        self._dirty = set()
        out: list[StatusChange] = []
        for key in sorted(candidates):
            endpoint = model.workload_endpoints.get(key)
            if endpoint is None:
                if key in self.reported:
                    del self.reported[key]
                    self.reasons.pop(key, None)
                    out.append(StatusChange(key, self.orchestrators.pop(key), None, "removed"))
                continue
            status, reason = status_of(model, key, desired, result)
            self.reasons[key] = reason
            if self.reported.get(key) != status:
                if status == ERROR:
                    log.warning("felix: endpoint %s is in error: %s", key, reason)
                self.reported[key] = status
                self.orchestrators[key] = endpoint.orchestrator
                out.append(StatusChange(key, endpoint.orchestrator, status, reason))
        return out
