"""Property: for random policies and packets, the npol objects decide as Calico does.

The oracle (:mod:`plugins.policy_oracle`) evaluates the Calico model directly;
the rendered npol objects are evaluated as VPP's npol plugin evaluates them
(:mod:`agent.reconcile.npol_eval`). They must agree on every packet, to and
from every pod. (tests/integration/test_policy_programmed.py does the same
with the objects programmed into the simulator.)
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agent.model import ClusterModel
from plugins import policy
from plugins.policy_oracle import Packet, evaluate
from tests.policy_cases import programmed
from tests.policygen import POD_KEYS, models, packets


def disagreements(model: ClusterModel, probes: list[tuple[Packet, bool]]) -> list[str]:
    decide = programmed(model)
    out = []
    for key in POD_KEYS:
        pod = model.pod_interfaces[key]
        for p, own_source in probes:
            own = next((a.ip for a in pod.addresses if a.version == p.src.version), None)
            if own is None:
                continue
            for direction, q in (
                ("ingress", replace(p, dst=own)),
                ("egress", replace(p, src=own) if own_source else p),
            ):
                want = evaluate(model, key, direction, q)  # type: ignore[arg-type]
                if decide(key, direction, q) != want.allowed:
                    out.append(f"{key} {direction} {q}: Calico says {want}")
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), st.lists(st.tuples(packets(), st.booleans()), min_size=1, max_size=10))
def test_rendered_npol_decides_as_calico(
    model: ClusterModel, probes: list[tuple[Packet, bool]]
) -> None:
    assume(not [p for p in policy.problems(model) if p.severity == "error"])
    assert disagreements(model, probes) == []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_random_models_rarely_hit_npol_limits(model: ClusterModel) -> None:
    """The property above skips models with errors; they must stay rare, and be npol limits."""
    for problem in policy.problems(model):
        if problem.severity == "error":
            assert "npol rule holds 3" in problem.message or "inlines into more" in problem.message
