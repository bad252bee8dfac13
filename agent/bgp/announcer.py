"""Our advertisements in gobgpd's RIB: add what is rendered, withdraw what no longer is.

The desired side is :func:`plugins.routing.render`; the observed side is the
paths this node added to gobgpd, cached as they are added (vppnet owns its
gobgpd: nothing else adds paths) and re-read from the RIB (``ListPath``,
keeping only local paths) after a gobgpd (re)start or on a resync, so that
drift (a path lost with a restarted gobgpd) is repaired. A path whose next
hop changes is withdrawn and announced anew.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from agent.bgp import paths
from agent.bgp.client import GobgpClient
from agent.bgp.errors import BgpApiError
from agent.proto_gen import gobgp_pb2 as pb
from plugins.routing import Advertisement

log = logging.getLogger(__name__)


class Announcer:
    def __init__(self) -> None:
        self._have: dict[paths.Announced, pb.Path] = {}

    @property
    def count(self) -> int:
        return len(self._have)

    def announced(self) -> list[paths.Announced]:
        return sorted(self._have, key=lambda a: (a.prefix.version, a.prefix, str(a.next_hop)))

    def read(self, client: GobgpClient) -> None:
        """Learn what is really in gobgpd's RIB (this node's own paths only)."""
        have: dict[paths.Announced, pb.Path] = {}
        for family in paths.ALL_FAMILIES:
            for _prefix, path in client.paths(family):
                try:
                    decoded = paths.decode(path)
                except ValueError:
                    continue
                announced = decoded.announced
                if decoded.neighbor is None and announced is not None:
                    have[announced] = path
        self._have = have

    def sync(
        self, client: GobgpClient, desired: Mapping[str, Advertisement], asn: int
    ) -> list[str]:
        """Make gobgpd announce exactly ``desired``; the problems met (the rest went on)."""
        wanted = {paths.Announced.of(a): a for a in desired.values()}
        problems: list[str] = []
        for announced in [a for a in self._have if a not in wanted]:
            try:
                client.delete_path(self._have[announced])
            except BgpApiError as e:
                problems.append(f"withdraw {announced.prefix}: {e}")
                continue
            del self._have[announced]
            log.info("BGP: withdrew %s", announced.prefix)
        for announced, adv in wanted.items():
            if announced in self._have:
                continue
            path = paths.encode(announced, asn)
            try:
                client.add_path(path)
            except BgpApiError as e:
                problems.append(f"announce {adv}: {e}")
                continue
            self._have[announced] = path
            log.info("BGP: announcing %s", adv)
        return problems
