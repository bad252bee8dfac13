"""All services' objects, kept incrementally: one endpoint change re-renders one service.

A :class:`ServiceTable` remembers, per service key, the Service object it rendered and
the result. :meth:`ServiceTable.update` re-renders only the services whose object
changed (the model store replaces only what changed, so identity says it) and reports
exactly the object keys whose desired value changed, so a converge at 10,000 services
costs the changed service, not the world. When what every service depends on changes
(this node's addresses or zone, the networks), everything is rendered again.

Two services may claim one key (the same external IP and port, a ClusterIP route):
the older service keeps it (then the smaller namespace/name), the other is told
(:meth:`ServiceTable.problems`), and neither render order nor history changes the
winner, so the incremental table always equals a fresh one.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from itertools import compress, islice

from agent.model import ClusterModel, Service, ServiceKey
from agent.vppobjects import VppObject
from plugins.services import Rendered, ServiceContext, ServiceSettings, render_service

_NEVER = datetime.max.replace(tzinfo=UTC)


def _seniority(svc: Service) -> tuple[datetime, ServiceKey]:
    created = svc.created or _NEVER
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return (created, svc.key)


class ServiceTable:
    def __init__(self, settings: ServiceSettings | None = None) -> None:
        self.settings = settings or ServiceSettings()
        self.objects: dict[str, VppObject] = {}  # the winner of every claimed key
        self._ctx: ServiceContext | None = None
        self._services: Mapping[ServiceKey, Service] | None = None
        self._memo: dict[ServiceKey, tuple[Service, Rendered]] = {}
        self._claims: dict[str, dict[ServiceKey, VppObject]] = {}

    def update(self, model: ClusterModel) -> set[str]:
        """Follow ``model``; returns the keys whose desired object changed."""
        ctx = ServiceContext.of(model, self.settings)
        services = model.services
        if ctx == self._ctx and services is self._services:
            return set()
        touched: set[str] = set()
        if ctx != self._ctx:  # everything depends on the context: start over
            touched.update(self.objects)
            self._memo.clear()
            self._claims.clear()
        previous, self._ctx, self._services = self._services, ctx, services
        candidates = _replaced(previous, services) if self._memo else None
        if candidates is None:  # not a small change of the last mapping: look at everything
            for key in [k for k in self._memo if k not in services]:
                _, gone = self._memo.pop(key)
                self._unclaim(key, gone, touched)
            candidates = list(services)
        for key in candidates:
            svc = services[key]
            cached = self._memo.get(key)
            if cached is not None and cached[0] is svc:
                continue
            rendered = render_service(svc, ctx)
            if cached is not None:
                if cached[1] == rendered:
                    self._memo[key] = (svc, rendered)
                    continue
                self._unclaim(key, cached[1], touched)
            self._memo[key] = (svc, rendered)
            for obj in rendered.objects:
                self._claims.setdefault(obj.key, {})[key] = obj
                touched.add(obj.key)
        return self._elect(touched)

    def _unclaim(self, key: ServiceKey, rendered: Rendered, touched: set[str]) -> None:
        """Forget ``key``'s claims on its objects; their keys must be elected again."""
        for obj in rendered.objects:
            claims = self._claims.get(obj.key)
            if claims is not None:
                claims.pop(key, None)
                if not claims:
                    del self._claims[obj.key]
            touched.add(obj.key)

    def _elect(self, touched: set[str]) -> set[str]:
        changed: set[str] = set()
        for obj_key in touched:
            claims = self._claims.get(obj_key)
            before = self.objects.get(obj_key)
            if not claims:
                if before is not None:
                    del self.objects[obj_key]
                    changed.add(obj_key)
                continue
            winner = min(claims, key=lambda k: _seniority(self._memo[k][0]))
            after = claims[winner]
            if after is not before and after != before:
                self.objects[obj_key] = after
                changed.add(obj_key)
        return changed

    def problems(self) -> dict[ServiceKey, tuple[str, ...]]:
        """What each service could not have programmed, conflicts with older services included."""
        out: dict[ServiceKey, list[str]] = {
            k: list(r.problems) for k, (_, r) in self._memo.items() if r.problems
        }
        for obj_key, claims in self._claims.items():
            if len(claims) < 2:
                continue
            winner = min(claims, key=lambda k: _seniority(self._memo[k][0]))
            for loser in claims:
                if loser != winner:
                    out.setdefault(loser, []).append(
                        f"{obj_key} is also wanted by service {winner}, which is older: "
                        "not programmed for this one"
                    )
        return {k: tuple(v) for k, v in sorted(out.items())}


def _replaced(
    old: Mapping[ServiceKey, Service] | None, new: Mapping[ServiceKey, Service]
) -> list[ServiceKey] | None:
    """The keys whose Service object is not the same one, when ``new`` is ``old`` with
    services replaced or added at the end (how the model store changes one service: the
    same keys in the same order); None otherwise. Identity checks at C speed, so one
    changed service among 10,000 costs well under a millisecond."""
    if old is None or len(new) < len(old):
        return None
    head = islice(new.keys(), len(old))
    if not all(map(operator.is_, old.keys(), head)):
        return None
    changed = list(compress(old.keys(), map(operator.is_not, old.values(), new.values())))
    return changed + list(islice(new.keys(), len(old), None))


def overlay(desired: dict[str, VppObject], objects: Iterable[VppObject]) -> list[str]:
    """Add the services' objects where no other plugin's object has the key; the keys
    left out (held by a pod, a tunnel, a hostPort) are returned."""
    shadowed = []
    for obj in objects:
        held = desired.setdefault(obj.key, obj)
        if held is not obj and held != obj:
            shadowed.append(obj.key)
    return shadowed


def render(model: ClusterModel, settings: ServiceSettings | None = None) -> list[VppObject]:
    """Every service's objects, from scratch (what the incremental table must equal)."""
    table = ServiceTable(settings)
    table.update(model)
    return list(table.objects.values())


def problems(
    model: ClusterModel, settings: ServiceSettings | None = None
) -> dict[ServiceKey, tuple[str, ...]]:
    table = ServiceTable(settings)
    table.update(model)
    return table.problems()
