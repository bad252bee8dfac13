"""Cross-field checks of a scenario that passed type validation.

Each check reports into one :class:`~agent.scenario.errors.Problems` and carries on,
and none assumes another passed: a check skips what it cannot judge (an unknown
network, say) because another check reports it.
"""

from __future__ import annotations

from agent.scenario.checks.addressing import check_addressing
from agent.scenario.checks.identity import check_identity
from agent.scenario.checks.references import check_references
from agent.scenario.checks.rules import check_rules
from agent.scenario.checks.services import check_services
from agent.scenario.errors import Problems
from agent.scenario.schema import ScenarioSpec


def check_scenario(spec: ScenarioSpec, problems: Problems) -> None:
    check_identity(spec, problems)
    check_references(spec, problems)
    check_addressing(spec, problems)
    check_services(spec, problems)
    check_rules(spec, problems)


__all__ = ["check_scenario"]
