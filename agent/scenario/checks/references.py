"""References: every name a scenario mentions must designate something it declares."""

from __future__ import annotations

from agent.model import DEFAULT_NETWORK
from agent.scenario.checks.common import all_rules
from agent.scenario.errors import Loc, Problems
from agent.scenario.schema import ScenarioSpec, TierSpec


def check_references(spec: ScenarioSpec, problems: Problems) -> None:
    nodes = {node.name for node in spec.nodes}
    if spec.local_node not in nodes:
        problems.add(("localNode",), f"unknown node {spec.local_node!r} (not among nodes)")
    known = {DEFAULT_NETWORK} | {network.name for network in spec.networks}

    def network(name: str, loc: Loc) -> None:
        if name not in known:
            problems.add(loc, f"unknown network {name!r}")

    for i, node in enumerate(spec.nodes):
        for j, block in enumerate(node.pod_blocks):
            network(block.network, ("nodes", i, "podBlocks", j, "network"))
    for i, pool in enumerate(spec.pools):
        network(pool.network, ("pools", i, "network"))
    for i, pod in enumerate(spec.pods):
        for j, interface in enumerate(pod.interfaces):
            loc: Loc = ("pods", i, "interfaces", j)
            network(interface.network, (*loc, "network"))
            for k, tier in enumerate(interface.policy.tiers):
                _check_tier(spec, tier, (*loc, "policy", "tiers", k), problems)
            profiles = {profile.id for profile in spec.profiles}
            for k, profile in enumerate(interface.policy.profiles):
                if profile not in profiles:
                    problems.add((*loc, "policy", "profiles", k), f"unknown profile {profile!r}")
    for i, service in enumerate(spec.services):
        network(service.network, ("services", i, "network"))
        for j, endpoint in enumerate(service.endpoints):
            if endpoint.node is not None and endpoint.node not in nodes:
                problems.add(
                    ("services", i, "endpoints", j, "node"), f"unknown node {endpoint.node!r}"
                )
    for rule_loc, rule in all_rules(spec):
        network(rule.network, (*rule_loc, "network"))


def _check_tier(spec: ScenarioSpec, tier: TierSpec, loc: Loc, problems: Problems) -> None:
    declared = {(p.tier, p.namespace, p.name) for p in spec.policies}
    for direction, refs in (("ingress", tier.ingress), ("egress", tier.egress)):
        for k, (namespace, name) in enumerate(refs):
            if (tier.name, namespace, name) not in declared:
                shown = f"{namespace}/{name}" if namespace else name
                problems.add(
                    (*loc, direction, k), f"unknown policy {shown!r} in tier {tier.name!r}"
                )
