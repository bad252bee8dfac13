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

The agent restarting is the same case: its gobgpd starts empty, while VPP still
forwards along the routes learned before. Those are saved (:func:`save`) and a
new speaker starts with them as stale (:meth:`LearnedRib.restore`), so the first
reconcile keeps their VPP routes instead of deleting them until the peers are back.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from agent.bgp.paths import DecodedPath
from agent.model import DEFAULT_NETWORK, IPNetwork, LearnedRoute

log = logging.getLogger(__name__)

FILE_VERSION = 1

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

    def restore(self, routes: Iterable[LearnedRoute]) -> int:
        """Routes learned before the agent restarted: stale until learned again (or the
        restart ends); how many are stale now."""
        with self._lock:
            before = len(self._stale)
            for route in routes:
                if route.key not in self._fresh:
                    self._stale[route.key] = route
            if len(self._stale) != before:
                self.version += 1
            return len(self._stale)

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


def save(path: Path, routes: Iterable[LearnedRoute]) -> None:
    """Write the learned routes atomically (temp file + rename), with a version field."""
    data = {
        "version": FILE_VERSION,
        "routes": [
            {
                "prefix": str(r.prefix),
                "next_hop": str(r.next_hop),
                "network": r.network,
                "peer": None if r.peer is None else str(r.peer),
            }
            for r in sorted(routes, key=lambda r: (r.network, r.prefix.version, r.prefix))
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path) -> list[LearnedRoute]:
    """The routes :func:`save` wrote; none (and the reason logged) if the file is unusable."""
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != FILE_VERSION:
            raise ValueError(f"unsupported version {data.get('version')!r}")
        return [
            LearnedRoute(
                ipaddress.ip_network(r["prefix"]),
                ipaddress.ip_address(r["next_hop"]),
                str(r["network"]),
                None if r["peer"] is None else ipaddress.ip_address(r["peer"]),
            )
            for r in data["routes"]
        ]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        log.error(
            "BGP routes learned before the restart (%s) are unreadable (%s): starting without "
            "them; VPP's routes to them go until the peers send them again",
            path,
            e,
        )
        return []
