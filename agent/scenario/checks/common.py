"""Helpers shared by the scenario checks."""

from __future__ import annotations

from collections.abc import Hashable, Iterator

from agent.model import DEFAULT_NETWORK
from agent.scenario.errors import Loc, Problems, format_path
from agent.scenario.schema import RuleSpec, ScenarioSpec


class FirstSeen:
    """Reports every occurrence of a key after its first, pointing back at the first."""

    def __init__(self, problems: Problems, kind: str) -> None:
        self._problems = problems
        self._kind = kind
        self._first: dict[Hashable, Loc] = {}

    def see(self, key: Hashable, loc: Loc, label: str) -> bool:
        """Record ``key`` at ``loc``; False (and a problem) if it was seen before."""
        first = self._first.setdefault(key, loc)
        if first is loc:
            return True
        self._problems.add(loc, f"duplicate {self._kind} {label} (first at {format_path(first)})")
        return False


def network_label(network: str) -> str:
    return "the default network" if network == DEFAULT_NETWORK else f"network {network!r}"


def family(version: int) -> str:
    return f"IPv{version}"


def all_rules(spec: ScenarioSpec) -> Iterator[tuple[Loc, RuleSpec]]:
    """Every rule of every policy and profile, with where it is."""
    for i, policy in enumerate(spec.policies):
        yield from ((("policies", i, "ingress", j), rule) for j, rule in enumerate(policy.ingress))
        yield from ((("policies", i, "egress", j), rule) for j, rule in enumerate(policy.egress))
    for i, profile in enumerate(spec.profiles):
        yield from ((("profiles", i, "ingress", j), rule) for j, rule in enumerate(profile.ingress))
        yield from ((("profiles", i, "egress", j), rule) for j, rule in enumerate(profile.egress))
