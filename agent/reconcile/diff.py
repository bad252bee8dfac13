"""Desired vs observed -> Plan, with VPP's ordering and cascade rules.

Besides plain creates/updates/deletes, the diff knows three VPP facts:
an interface whose creation parameters changed must be deleted and made
again (and everything that pointed at it re-added); VPP refuses to move an
interface to another VRF while it holds addresses of that family, so those
addresses are removed and re-added around the move; and deleting an
interface takes its addresses with it, so those are not deleted twice.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace

from agent.reconcile.observe import Observed
from agent.reconcile.plan import Change, Conflict, Op, Plan, changed_fields
from agent.vppobjects import (
    INTERFACE_TYPES,
    CnatFeature,
    Interface,
    InterfaceAddress,
    Neighbor,
    NpolInterface,
    Route,
    SnatInterface,
    VppObject,
    VrfTable,
    rank,
)


def _spec_changed(have: Interface, want: Interface) -> bool:
    return type(have) is not type(want) or replace(have, settings=want.settings) != want


def _same_but_hidden(have: VppObject, want: VppObject, observed: Observed, key: str) -> bool:
    """Whether ``have`` equals ``want`` but for fields VPP does not show of it."""
    hidden = observed.hidden.get(key)
    if not hidden or type(have) is not type(want):
        return False
    return replace(have, **{f: getattr(want, f) for f in hidden}) == want


def _refs(obj: VppObject) -> set[str]:
    """Owned interface names an address or route points at."""
    if isinstance(obj, InterfaceAddress | Neighbor | CnatFeature | SnatInterface):
        return {obj.interface} if isinstance(obj.interface, str) else set()
    if isinstance(obj, Route):
        return {p.interface for p in obj.paths if isinstance(p.interface, str)}
    if isinstance(obj, NpolInterface):  # a remade interface must be bound to its policies again
        return {obj.interface} if isinstance(obj.interface, str) else set()
    return set()


def diff(
    desired: Mapping[str, VppObject],
    observed: Observed,
    keys: Collection[str] | None = None,
) -> Plan:
    """Plan the changes for every key, or only for ``keys`` (an incremental converge)."""
    plan = Plan()
    creates: dict[str, Change] = {}
    updates: dict[str, Change] = {}
    deletes: dict[str, Change] = {}
    # An incremental converge costs the size of ``keys``, not of the whole desired state.
    if keys is None:
        wanted: Iterable[tuple[str, VppObject]] = desired.items()
        held: Iterable[tuple[str, VppObject]] = observed.objects.items()
    else:
        scope = set(keys)
        wanted = [(k, desired[k]) for k in scope if k in desired]
        held = [(k, observed.objects[k]) for k in scope if k in observed.objects]

    for key, want in wanted:
        have = observed.objects.get(key)
        if have is None:
            if key in observed.foreign:
                unowned = observed.unowned.get(key)
                if unowned == want:
                    # Exactly what we want, made by an earlier run whose index was lost:
                    # take ownership without touching VPP.
                    creates[key] = Change(Op.ADOPT, want, reason="already in VPP as desired")
                elif unowned is not None and _same_but_hidden(unowned, want, observed, key):
                    # Equal in all VPP shows: take it over, applying again what it cannot show.
                    updates[key] = Change(
                        Op.UPDATE, want, unowned, reason="taken over: fields VPP does not show"
                    )
                elif not isinstance(want, VrfTable):  # an existing table is simply used
                    plan.conflicts.append(Conflict(want, observed.foreign[key]))
                continue
            creates[key] = Change(Op.CREATE, want)
        elif (have := observed.assume_unseen(key, have, want)) == want:
            if key in observed.unseen:  # recognised by its tag alone: record it again
                creates[key] = Change(Op.ADOPT, want, reason="recognised by its VPP tag")
        else:
            if (
                isinstance(have, INTERFACE_TYPES)
                and isinstance(want, INTERFACE_TYPES)
                and _spec_changed(have, want)
            ):
                reason = "recreate: " + ", ".join(changed_fields(have, want))
                deletes[key] = Change(Op.DELETE, have, reason=reason)
                creates[key] = Change(Op.CREATE, want, reason=reason)
                continue
            updates[key] = Change(Op.UPDATE, want, have, ", ".join(changed_fields(have, want)))
    for key, have in held:
        if key not in desired:
            deletes[key] = Change(Op.DELETE, have)

    _cascade(desired, observed, creates, updates, deletes)

    ordered_deletes = sorted(deletes.values(), key=lambda c: (-rank(c.obj), c.key))
    ordered_rest = sorted(
        [*creates.values(), *updates.values()], key=lambda c: (rank(c.obj), c.key)
    )
    plan.changes = ordered_deletes + ordered_rest
    return plan


def _cascade(
    desired: Mapping[str, VppObject],
    observed: Observed,
    creates: dict[str, Change],
    updates: dict[str, Change],
    deletes: dict[str, Change],
) -> None:
    gone = {c.obj.name for c in deletes.values() if isinstance(c.obj, INTERFACE_TYPES)}
    moved: dict[str, set[int]] = {}  # interface -> IP versions whose VRF changes
    for c in updates.values():
        if isinstance(c.obj, INTERFACE_TYPES) and isinstance(c.old, INTERFACE_TYPES):
            versions = set()
            if c.obj.settings.vrf4 != c.old.settings.vrf4:
                versions.add(4)
            if c.obj.settings.vrf6 != c.old.settings.vrf6:
                versions.add(6)
            if versions:
                moved[c.obj.name] = versions
    if not gone and not moved:
        return
    _reborrow(desired, observed, gone, creates, updates, deletes)
    for key, have in observed.objects.items():
        refs = _refs(have)
        if not refs:
            continue
        hit_gone = bool(refs & gone)
        hit_moved = (
            isinstance(have, InterfaceAddress)
            and isinstance(have.interface, str)
            and have.prefix.version in moved.get(have.interface, set())
        )
        if not hit_gone and not hit_moved:
            continue
        if isinstance(have, InterfaceAddress | Neighbor) and hit_gone:
            # VPP drops an interface's addresses and neighbours with it: no delete call needed.
            deletes.pop(key, None)
        else:
            deletes.setdefault(key, Change(Op.DELETE, have, reason="its interface changes"))
        want = desired.get(key)
        if want is not None and key not in creates:
            updates.pop(key, None)
            creates[key] = Change(Op.CREATE, want, reason="its interface changes")


def _reborrow(
    desired: Mapping[str, VppObject],
    observed: Observed,
    gone: set[str],
    creates: dict[str, Change],
    updates: dict[str, Change],
    deletes: dict[str, Change],
) -> None:
    """Interfaces unnumbered to a deleted (or remade) interface lost the borrowing in VPP:
    those that stay are updated as if they had none, so it is applied again."""
    for key, have in observed.objects.items():
        if (
            not isinstance(have, INTERFACE_TYPES)
            or have.settings.unnumbered_from not in gone
            or key in creates
            or key in updates
            or key in deletes
        ):
            continue
        want = desired.get(key)
        if want is not None:
            bare = replace(have, settings=replace(have.settings, unnumbered_from=None))
            updates[key] = Change(Op.UPDATE, want, bare, reason="its unnumbered source changes")
