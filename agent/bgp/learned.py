"""The routes this node learned over BGP: gobgpd's best paths from peers, kept by key.

The speaker feeds every best-path event in; :meth:`LearnedRib.routes` is what
goes into the model (``model.learned_routes``). A path this node added itself
is not learned: when it becomes the best one for a prefix, a route learned
for that prefix is dropped (our own announcement wins locally).

Across a gobgpd restart the routes learned before are kept as *stale* (as a
graceful-restart helper keeps a restarting peer's routes): the new gobgpd
starts with an empty table and its peers take seconds to come back, and
forgetting their routes meanwhile would cut traffic for nothing. A stale
route is replaced as soon as the same key is learned again, and the rest are
dropped when the speaker ends the restart (every peer is back and sent its
End-of-RIB, or the restart time ran out).
"""

from __future__ import annotations

import threading

from agent.bgp.paths import DecodedPath
from agent.model import DEFAULT_NETWORK, IPNetwork, LearnedRoute

Key = tuple[str, IPNetwork]


class LearnedRib:
    def __init__(self) -> None:
        self._fresh: dict[Key, LearnedRoute] = {}
        self._stale: dict[Key, LearnedRoute] = {}
        self._lock = threading.Lock()
        self.version = 0  # bumped on every change, so a flush can tell it has work

    def apply(self, path: DecodedPath, network: str = DEFAULT_NETWORK) -> bool:
        """Take one best-path event into account; whether anything changed."""
        key = (network, path.prefix)
        with self._lock:
            before = self._fresh.get(key), key in self._stale
            self._stale.pop(key, None)
            if path.withdraw or path.neighbor is None or path.next_hop is None:
                self._fresh.pop(key, None)
            else:
                self._fresh[key] = LearnedRoute(path.prefix, path.next_hop, network, path.neighbor)
            changed = before != (self._fresh.get(key), False)
            if changed:
                self.version += 1
            return changed

    def begin_restart(self) -> None:
        """gobgpd restarts: what was learned becomes stale until :meth:`end_restart`."""
        with self._lock:
            self._stale.update(self._fresh)
            self._fresh = {}

    def end_restart(self) -> int:
        """Drop the stale routes not learned again; how many were dropped."""
        with self._lock:
            dropped = len(self._stale)
            self._stale = {}
            if dropped:
                self.version += 1
            return dropped

    @property
    def stale_count(self) -> int:
        with self._lock:
            return len(self._stale)

    def routes(self) -> dict[Key, LearnedRoute]:
        with self._lock:
            return {**self._stale, **self._fresh}
