"""Rendering that costs what changed: the dataplane's render at 10,000 services.

:func:`plugins.render` builds the whole desired state from scratch, which is right
and cheap at node scale (pods, tunnels, routes) but not for the cluster-wide part:
every Service of the cluster is programmed on every node, so one endpoint change
would re-render and re-compare every service. :class:`IncrementalRenderer` returns
exactly what :func:`plugins.render` returns (tests hold it to that), but

* renders services through a persistent :class:`~plugins.service_table.ServiceTable`,
  which re-renders only the Service objects that changed;
* renders the node-scale rest from scratch and compares it with its previous one;
* takes the npol objects keyed from the policy renderer, which reuses the very object
  for whatever did not change: finding what did is an identity check per object;
* returns a :class:`Desired`: the state plus the keys that changed since the state it
  returned before, so the dataplane need not compare 20,000 objects to find one.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping

import plugins
from agent.model import ClusterModel
from agent.vppobjects import VppObject
from plugins import nat, networks, pods, policy
from plugins.service_table import ServiceTable
from plugins.services import ServiceSettings


class Desired(dict[str, VppObject]):
    """A desired state that knows which keys differ from the one it was derived from."""

    def __init__(
        self,
        items: Mapping[str, VppObject],
        base: Desired | None = None,
        changed: Iterable[str] = (),
    ) -> None:
        super().__init__(items)
        self._base = weakref.ref(base) if base is not None else None
        self.changed = frozenset(changed)

    def derived_from(self, other: object) -> bool:
        """Whether ``changed`` is relative to ``other`` (the previous render)."""
        return self._base is not None and self._base() is other


def _differs(a: VppObject | None, b: VppObject | None) -> bool:
    return a is not b and a != b


class IncrementalRenderer:
    """``render(model)`` for the dataplane, incremental in the services."""

    def __init__(
        self,
        pod_defaults: pods.PodDefaults | None = None,
        service_settings: ServiceSettings | None = None,
        nat_settings: nat.NatSettings | None = None,
    ) -> None:
        self.pod_defaults = pod_defaults
        self.nat_settings = nat_settings
        self.services = ServiceTable(service_settings)
        self._core: dict[str, VppObject] = {}
        self._npol: Mapping[str, VppObject] = {}
        self._last: Desired | None = None

    def __call__(self, model: ClusterModel) -> Desired:
        model = networks.usable(model)
        core = plugins.core(model, self.pod_defaults, self.nat_settings, with_policy=False)
        npol = policy.rendered(model).by_key
        service_changes = self.services.update(model)
        last, old_core, old_npol = self._last, self._core, self._npol
        self._core, self._npol = core, npol
        if last is None:
            desired: dict[str, VppObject] = dict(core)
            desired.update(npol)
            for obj in self.services.objects.values():
                desired.setdefault(obj.key, obj)
            self._last = Desired(desired, None, desired)
            return self._last
        touched = {
            k for k in core.keys() | old_core.keys() if _differs(old_core.get(k), core.get(k))
        }
        # the policy renderer hands back the very object when nothing changed it: an
        # identity check per npol object, not a comparison (10,000 rules at 1,000 policies)
        touched.update(k for k, obj in npol.items() if old_npol.get(k) is not obj)
        touched.update(k for k in old_npol if k not in npol)
        touched |= service_changes
        result = Desired(last, last)
        changed = []
        for key in touched:
            want = core.get(key) or npol.get(key) or self.services.objects.get(key)
            if _differs(last.get(key), want):
                changed.append(key)
                if want is None:
                    del result[key]
                else:
                    result[key] = want
        result.changed = frozenset(changed)
        self._last = result
        return result
