"""Counters and recent problems of the Felix driver, for logs, tests and metrics.

Bad input from Felix is never fatal; it is counted here and logged, and the
last problems are kept so an operator (or a test) can see what was rejected
without searching the logs.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

log = logging.getLogger("agent.felix")

RECENT_PROBLEMS = 200


@dataclass
class FelixStats:
    connections: int = 0
    frames: int = 0
    messages: int = 0  # payloads stored
    malformed: int = 0  # frames that are not a ToDataplane
    oversize: int = 0
    truncated: int = 0
    unknown_payloads: int = 0
    empty_envelopes: int = 0
    rejected: int = 0  # payloads that did not convert, or came out of order
    model_updates: int = 0
    converges: int = 0
    converge_failures: int = 0
    status_updates: int = 0  # endpoint status updates and removes sent to Felix
    heartbeats: int = 0
    internal_errors: int = 0
    problems: deque[str] = field(default_factory=lambda: deque(maxlen=RECENT_PROBLEMS))
    _logged_once: set[str] = field(default_factory=set)

    def problem(self, text: str) -> None:
        """Record and log a rejected or garbled input."""
        self.problems.append(text)
        log.warning("felix: %s", text)

    def problem_once(self, key: str, text: str) -> None:
        """Record every time, but log only the first time ``key`` is seen."""
        self.problems.append(text)
        if key not in self._logged_once:
            self._logged_once.add(key)
            log.warning("felix: %s (logged once)", text)
