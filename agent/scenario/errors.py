"""Scenario problems and how they are reported: ``<file>: <path>: <message>``.

Every failure of the loader, whatever its origin (YAML syntax, a type error found by
pydantic, a cross-reference check), ends up as one :class:`ScenarioError` listing all
problems, so a user fixes the whole file in one round.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

Loc = tuple[str | int, ...]
"""Where in the document a problem is: keys and list indexes from the root."""


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def format_path(loc: Loc) -> str:
    """``("pods", 1, "interfaces", 0, "network")`` -> ``pods[1].interfaces[0].network``.

    A key that is not a plain word (a typo with a space, a control character) is shown
    quoted and escaped, so that every problem stays on one readable line.
    """
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            path += f".{part}" if path else part
        else:
            path += f"[{part!r}]"
    return path or "(document)"


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str


class ScenarioError(Exception):
    """A scenario that cannot become a cluster model; ``str()`` lists every problem."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{source}: {p.path}: {p.message}" for p in self.problems))


class Problems:
    """Collects problems while checks run, so that none stops the others."""

    def __init__(self) -> None:
        self._items: list[Problem] = []

    def add(self, loc: Loc, message: str) -> None:
        problem = Problem(format_path(loc), message)
        if problem not in self._items:
            self._items.append(problem)

    def raise_if_any(self, source: str) -> None:
        if self._items:
            raise ScenarioError(source, self._items)


def shorten(text: str, limit: int = 60) -> str:
    """Keep a quoted user value short enough that the message stays readable."""
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
