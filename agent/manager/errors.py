"""The manager's errors: each says what is wrong and what to fix."""

from __future__ import annotations


class ManagerError(Exception):
    """The manager cannot go on; the message names the config key or host object at fault."""


class ValidationError(ManagerError):
    """Pre-flight checks failed; nothing on the host was changed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n  - ".join(problems)
        super().__init__(
            f"the node is not ready for vppnet manager ({len(problems)} problem(s)); "
            f"nothing was changed:\n  - {lines}"
        )


class VppStartError(ManagerError):
    """VPP (or the simulator) did not come up; the host has been given back its uplink."""
