"""The scenario document as pydantic models: types, defaults and closed key sets.

Cross-field rules (overlaps, references, duplicates) are not here but in
:mod:`agent.scenario.checks`, so that they can report every problem with its path
instead of stopping at the first.
"""

from __future__ import annotations

from pydantic import Field

from agent.scenario.fields import Name
from agent.scenario.schema.base import Spec
from agent.scenario.schema.cluster import NetworkSpec, NodeSpec, PodBlockSpec, PoolSpec
from agent.scenario.schema.pods import (
    ExtraMemifSpec,
    HostPortSpec,
    InterfaceSpec,
    PodSpec,
    PolicyAssignmentSpec,
    TierSpec,
)
from agent.scenario.schema.policy import IcmpSpec, IpSetSpec, PolicySpec, ProfileSpec, RuleSpec
from agent.scenario.schema.services import (
    EndpointPortSpec,
    EndpointSpec,
    ServicePortSpec,
    ServiceSpec,
)


class ScenarioSpec(Spec):
    """A whole scenario file: the local node's name and the cluster around it."""

    local_node: Name
    nodes: list[NodeSpec] = Field(min_length=1)
    pools: list[PoolSpec] = []
    networks: list[NetworkSpec] = []
    pods: list[PodSpec] = []
    services: list[ServiceSpec] = []
    policies: list[PolicySpec] = []
    profiles: list[ProfileSpec] = []
    ip_sets: list[IpSetSpec] = []


__all__ = [
    "EndpointPortSpec",
    "EndpointSpec",
    "ExtraMemifSpec",
    "HostPortSpec",
    "IcmpSpec",
    "InterfaceSpec",
    "IpSetSpec",
    "NetworkSpec",
    "NodeSpec",
    "PodBlockSpec",
    "PodSpec",
    "PolicyAssignmentSpec",
    "PolicySpec",
    "PoolSpec",
    "ProfileSpec",
    "RuleSpec",
    "ScenarioSpec",
    "ServicePortSpec",
    "ServiceSpec",
    "Spec",
    "TierSpec",
]
