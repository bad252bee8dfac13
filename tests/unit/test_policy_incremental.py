"""The incremental renderer's npol objects: equal to a fresh render, changes exact.

It finds changed npol objects by identity (the policy renderer hands back the very
object when nothing changed it), so these tests change policies, sets and
bindings step by step, and render other models in between through the same shared
policy renderer: the result must still equal :func:`plugins.render`, and the keys
it reports changed must be exactly those that differ.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_network

from hypothesis import given, settings
from hypothesis import strategies as st

import plugins
from agent.dataplane import changed_keys
from agent.model import ClusterModel, IpSetType
from plugins.incremental import IncrementalRenderer
from tests.bench import policy as bench
from tests.policygen import models


def with_member(model: ClusterModel, n: int) -> ClusterModel:
    """One member more in the first address set (the commonest change Felix sends)."""
    set_id = sorted(k for k, s in model.ip_sets.items() if s.type is not IpSetType.IP_AND_PORT)[0]
    s = model.ip_sets[set_id]
    net = ip_network(f"10.77.{n % 250}.0/24")
    member = net if s.type is IpSetType.NET else net.network_address + 1
    grown = replace(s, members=s.members | {member})
    return replace(model, ip_sets={**model.ip_sets, set_id: grown})


def without_first_policy(model: ClusterModel) -> ClusterModel:
    first = sorted(model.policies, key=str)[0]
    return replace(model, policies={k: v for k, v in model.policies.items() if k != first})


@settings(max_examples=60, deadline=None)
@given(st.lists(models(), min_size=1, max_size=3), models(), st.integers(0, 1000))
def test_npol_objects_equal_a_fresh_render_and_changes_are_exact(
    steps: list[ClusterModel], elsewhere: ClusterModel, n: int
) -> None:
    sequence: list[ClusterModel] = []
    for model in steps:
        sequence += [model, with_member(model, n), without_first_policy(model), model]
    renderer = IncrementalRenderer()
    previous = renderer(sequence[0])
    assert previous == plugins.render(sequence[0])
    for step in sequence[1:]:
        plugins.render(elsewhere)  # another node's model through the shared policy renderer
        desired = renderer(step)
        fresh = plugins.render(step)
        assert desired == fresh
        truly = {k for k in fresh.keys() | previous.keys() if fresh.get(k) != previous.get(k)}
        assert changed_keys(previous, desired) == truly
        assert desired.changed == truly
        previous = desired


def test_one_member_more_among_a_thousand_rules_is_one_changed_key() -> None:
    size = bench.Size(policies=100, rules_per_policy=10, sets=20, members=50)
    model = bench.model(size)
    renderer = IncrementalRenderer()
    renderer(model)
    desired = renderer(bench.changed(model))
    assert desired.changed == {"npol-ipset net:s:0"}
