"""The scenario file format: a YAML description of the local node and its cluster.

It stands in for Calico, Kubernetes and the CNI in ``vppnet plan/apply/demo`` and in
tests. Keys are camelCase as Kubernetes users write them; unknown keys, wrong types and
inconsistent address plans are rejected with one :class:`ScenarioError` that lists
every problem as ``<file>: <path>: <message>``.
"""

from agent.scenario.dump import dump_scenario, scenario_document
from agent.scenario.errors import Problem, ScenarioError
from agent.scenario.loader import load_scenario, parse_scenario

__all__ = [
    "Problem",
    "ScenarioError",
    "dump_scenario",
    "load_scenario",
    "parse_scenario",
    "scenario_document",
]
