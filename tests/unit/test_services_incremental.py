"""The incremental renderer equals a fresh render, and says exactly what changed."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

import plugins
from agent.dataplane import changed_keys
from agent.model import (
    ClusterModel,
    EndpointPort,
    Service,
    ServiceEndpoint,
    ServiceKey,
    ServicePort,
)
from plugins.incremental import IncrementalRenderer
from tests.servicegen import NODES, POOLS, clusters

IP = ipaddress.ip_address


def _mutations(model: ClusterModel, picks: list[int]) -> list[ClusterModel]:
    """Each step changes one thing, the way sources do: one service, a node, the pods."""
    out = []
    for pick in picks:
        services = dict(model.services)
        keys = sorted(services)
        if keys and pick % 4 == 0:  # one endpoint more on one service
            key = keys[pick % len(keys)]
            s = services[key]
            extra = ServiceEndpoint((IP(f"10.0.1.{100 + pick % 50}"),), (EndpointPort(8000),), "b")
            services[key] = replace(s, endpoints=(*s.endpoints, extra))
        elif keys and pick % 4 == 1:  # a service deleted
            del services[keys[pick % len(keys)]]
        elif pick % 4 == 2 and keys:  # a service renamed (a new one)
            s = services.pop(keys[0])
            services[ServiceKey("other", s.name)] = replace(s, namespace="other")
        else:  # this node's address changes: every node port moves
            node = model.nodes["a"]
            address = ipaddress.ip_interface(f"192.168.0.{10 + pick % 5}/24")
            model = replace(model, nodes={**model.nodes, "a": replace(node, addresses=(address,))})
        model = replace(model, services=services)
        out.append(model)
    return out


@given(clusters(), st.lists(st.integers(0, 1000), max_size=6))
def test_incremental_equals_fresh_render_at_every_step(
    model: ClusterModel, picks: list[int]
) -> None:
    renderer = IncrementalRenderer()
    previous = renderer(model)
    assert previous == plugins.render(model)
    for step in _mutations(model, picks):
        desired = renderer(step)
        fresh = plugins.render(step)
        assert desired == fresh
        truly = {k for k in fresh.keys() | previous.keys() if fresh.get(k) != previous.get(k)}
        assert changed_keys(previous, desired) == truly
        previous = desired


def test_one_endpoint_change_reports_one_key() -> None:
    services = [
        Service(
            "default",
            f"s{i}",
            cluster_ips=(IP(f"10.96.0.{i + 1}"),),
            ports=(ServicePort(80, 8000),),
            endpoints=(ServiceEndpoint((IP("10.0.0.10"),), (EndpointPort(8000),), "a"),),
        )
        for i in range(50)
    ]
    model = ClusterModel.build("a", nodes=NODES, pools=POOLS, services=services)
    renderer = IncrementalRenderer()
    first = renderer(model)
    key = ServiceKey("default", "s7")
    s = model.services[key]
    more = ServiceEndpoint((IP("10.0.1.5"),), (EndpointPort(8000),), "b")
    services_after = {**model.services, key: replace(s, endpoints=(*s.endpoints, more))}
    second = renderer(replace(model, services=services_after))
    assert changed_keys(first, second) == {"cnat TCP 10.96.0.8 80"}
    assert second.changed == {"cnat TCP 10.96.0.8 80"}
