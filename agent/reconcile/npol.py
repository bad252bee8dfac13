"""npol in the reconciler: the phased calls of each npol kind, registered on import.

Order (see :class:`agent.reconcile.steps.Phase`): sets, their members, rules,
policies, all before interfaces are created; an interface is bound right after
it is created and before it is brought up; policies, rules and sets are deleted
last, once whatever referred to them has been updated. Updates are npol's own:
a set changes by member deltas, a rule or a policy by its update message, an
interface by a new ``npol_configure_policies``. The index records and the
observing of what npol cannot dump are in :mod:`agent.reconcile.npol_records`.

VPP v26.06 compares IP-and-port members wrongly when deleting them (see
:func:`ipport_deleted`): deleting one also deletes others, so vppnet adds back
what it did not mean to delete, in the same phase.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from agent.reconcile.apply import EXTRA_RECORDERS
from agent.reconcile.npol_records import member_text, observe, record
from agent.reconcile.observe import EXTRA_READERS, Observed
from agent.reconcile.steps import (
    EXTRA_CREATE,
    EXTRA_DELETE,
    EXTRA_UPDATE,
    Phase,
    Step,
    UnresolvedError,
    handle,
    resolve,
)
from agent.vpp import npol
from agent.vppobjects import (
    IpPort,
    NpolInterface,
    NpolIpset,
    NpolMember,
    NpolPolicy,
    NpolRule,
    npol_ipset_key,
    npol_policy_key,
    npol_rule_key,
)

CHUNK = 1000  # members per npol_ipset_add_del_members

_SET_TYPES = {
    "ip": npol.IpsetType.IP,
    "net": npol.IpsetType.NET,
    "ip-and-port": npol.IpsetType.IP_AND_PORT,
}
_ACTIONS = {"allow": npol.Action.ALLOW, "deny": npol.Action.DENY, "pass": npol.Action.PASS}
_DEFAULTS = {"allow": npol.Default.ALLOW, "deny": npol.Default.DENY, "pass": npol.Default.PASS}
_FILTERS = {
    "proto": npol.FilterType.L4_PROTO,
    "icmp-type": npol.FilterType.ICMP_TYPE,
    "icmp-code": npol.FilterType.ICMP_CODE,
}
_ENTRIES = {
    "cidr": npol.EntryType.CIDR,
    "ports": npol.EntryType.PORT_RANGE,
    "port-ipset": npol.EntryType.PORT_IP_SET,
    "ipset": npol.EntryType.IP_SET,
}


# -- steps -----------------------------------------------------------------------------


def _members(members: Iterable[NpolMember]) -> list[npol.Member]:
    out = []
    for m in sorted(members, key=member_text):
        if isinstance(m, tuple):
            out.append(npol.Member(address=m[0], proto=m[1], port=m[2]))
        elif isinstance(m, ipaddress.IPv4Network | ipaddress.IPv6Network):
            out.append(npol.Member(prefix=m))
        else:
            out.append(npol.Member(address=m))
    return out


def _member_steps(key: str, members: Iterable[NpolMember], is_add: bool) -> list[Step]:
    """Add or delete members, :data:`CHUNK` per message."""
    ordered = _members(members)
    return [
        _member_step(key, tuple(ordered[i : i + CHUNK]), is_add)
        for i in range(0, len(ordered), CHUNK)
    ]


def _member_step(key: str, chunk: tuple[npol.Member, ...], is_add: bool) -> Step:
    return Step(
        Phase.NPOL_FILL, lambda o: npol.ipset_members(handle(o.npol_ids, key), chunk, is_add)
    )


def _id_done(key: str) -> Callable[[Any, Observed], None]:
    def done(value: Any, o: Observed) -> None:
        o.npol_ids[key] = int(value)

    return done


def ipport_deleted(held: Iterable[IpPort], removed: Iterable[IpPort]) -> set[IpPort]:
    """What VPP v26.06 deletes from an IP-and-port set when asked to delete ``removed``.

    Its member comparison returns "equal" unless port and protocol are equal and the
    addresses differ: every member with another port or protocol, or with the same
    address, goes too. Members are deleted one by one, each from what is left.
    """
    left = set(held)
    for m in removed:
        left = {x for x in left if x[2] == m[2] and x[1] == m[1] and x[0] != m[0]}
    return set(held) - left


def _create_ipset(obj: NpolIpset) -> list[Step]:
    key, kind = obj.key, _SET_TYPES[obj.kind]
    create = Step(Phase.NPOL_SETS, lambda o: npol.create_ipset(kind), _id_done(key))
    return [create, *_member_steps(key, obj.members, True)]


def _update_ipset(obj: NpolIpset, old: NpolIpset) -> list[Step]:
    removed, added = old.members - obj.members, obj.members - old.members
    if obj.kind == "ip-and-port" and removed:
        held = [m for m in old.members if isinstance(m, tuple)]
        gone = ipport_deleted(held, [m for m in removed if isinstance(m, tuple)])
        added = added | (gone & obj.members)  # add back what VPP deletes by mistake
    steps = _member_steps(obj.key, removed, False) if removed else []
    return steps + (_member_steps(obj.key, added, True) if added else [])


def _delete(phase: Phase, build: Callable[[int], Any]) -> Callable[[Any], list[Step]]:
    def steps(obj: Any) -> list[Step]:
        return [Step(phase, lambda o: build(handle(o.npol_ids, obj.key)))]

    return steps


def _rule(obj: NpolRule, ids: dict[str, int]) -> npol.Rule:
    matches = []
    for e in obj.entries:
        kind = _ENTRIES[e.kind]
        if e.kind == "cidr":
            matches.append(npol.Match(kind, e.src, e.negated, cidr=e.cidr))
        elif e.kind == "ports":
            assert e.ports is not None
            matches.append(
                npol.Match(kind, e.src, e.negated, port_start=e.ports[0], port_end=e.ports[1])
            )
        else:
            set_id = handle(ids, npol_ipset_key(e.ipset or ""))
            matches.append(npol.Match(kind, e.src, e.negated, set_id=set_id))
    filters = tuple(npol.Filter(_FILTERS[f.kind], f.value, f.match) for f in obj.filters)
    return npol.Rule(_ACTIONS[obj.action], filters, tuple(matches))


def _create_rule(obj: NpolRule) -> list[Step]:
    return [
        Step(
            Phase.NPOL_RULES, lambda o: npol.create_rule(_rule(obj, o.npol_ids)), _id_done(obj.key)
        )
    ]


def _update_rule(obj: NpolRule, old: NpolRule) -> list[Step]:
    return [
        Step(
            Phase.NPOL_RULES,
            lambda o: npol.update_rule(handle(o.npol_ids, obj.key), _rule(obj, o.npol_ids)),
        )
    ]


def _rule_ids(o: Observed, names: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(handle(o.npol_ids, npol_rule_key(n)) for n in names)


def _create_policy(obj: NpolPolicy) -> list[Step]:
    def build(o: Observed) -> Any:
        return npol.create_policy(_rule_ids(o, obj.inbound), _rule_ids(o, obj.outbound))

    return [Step(Phase.NPOL_POLICIES, build, _id_done(obj.key))]


def _update_policy(obj: NpolPolicy, old: NpolPolicy) -> list[Step]:
    def build(o: Observed) -> Any:
        return npol.update_policy(
            handle(o.npol_ids, obj.key), _rule_ids(o, obj.inbound), _rule_ids(o, obj.outbound)
        )

    return [Step(Phase.NPOL_POLICIES, build)]


def _bind(obj: NpolInterface, o: Observed) -> Any:
    """npol_configure_policies, inverted: rx lists and inbound rules judge traffic to the pod.

    A policy that is not in VPP (its creation failed) binds the interface to deny
    everything instead, reported as a failure so that the binding is tried again.
    """
    sw_if_index = resolve(o, obj.interface)

    def ids(names: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(handle(o.npol_ids, npol_policy_key(n)) for n in names)

    try:
        ids((*obj.inbound, *obj.outbound, *obj.profiles))
    except UnresolvedError as e:
        return npol.deny_everything(sw_if_index, str(e))
    policies = npol.InterfacePolicies(
        rx_policies=ids(obj.inbound),
        tx_policies=ids(obj.outbound),
        profiles=ids(obj.profiles),
        policy_default_rx=_DEFAULTS[obj.inbound_default],
        policy_default_tx=_DEFAULTS[obj.outbound_default],
        profile_default_rx=_DEFAULTS[obj.profile_default],
        profile_default_tx=_DEFAULTS[obj.profile_default],
        invert_rx_tx=True,
    )
    return npol.configure_policies(sw_if_index, policies)


def _create_interface(obj: NpolInterface) -> list[Step]:
    return [Step(Phase.NPOL_BIND, lambda o: _bind(obj, o))]


def _update_interface(obj: NpolInterface, old: NpolInterface) -> list[Step]:
    return _create_interface(obj)


def _delete_interface(obj: NpolInterface) -> list[Step]:
    """npol has no unbind: bind to nothing, allowing all (the interface is usually going)."""
    free = npol.InterfacePolicies(
        policy_default_rx=npol.Default.ALLOW,
        policy_default_tx=npol.Default.ALLOW,
        profile_default_rx=npol.Default.ALLOW,
        profile_default_tx=npol.Default.ALLOW,
    )
    return [
        Step(Phase.DELETE_USERS, lambda o: npol.configure_policies(resolve(o, obj.interface), free))
    ]


EXTRA_CREATE.update(
    {
        NpolIpset: _create_ipset,
        NpolRule: _create_rule,
        NpolPolicy: _create_policy,
        NpolInterface: _create_interface,
    }
)
EXTRA_UPDATE.update(
    {
        NpolIpset: _update_ipset,
        NpolRule: _update_rule,
        NpolPolicy: _update_policy,
        NpolInterface: _update_interface,
    }
)
EXTRA_DELETE.update(
    {
        NpolIpset: _delete(Phase.NPOL_RELEASE_SETS, npol.delete_ipset),
        NpolRule: _delete(Phase.NPOL_RELEASE_RULES, npol.delete_rule),
        NpolPolicy: _delete(Phase.NPOL_RELEASE_POLICIES, npol.delete_policy),
        NpolInterface: _delete_interface,
    }
)
EXTRA_READERS.append(observe)
EXTRA_RECORDERS.append(record)
