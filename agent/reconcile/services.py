"""cnat beyond translations, in the reconciler: feature, SNAT entry, policy, tables, prefixes.

VPP v26.06 shows little of this. ``cnat_get_snat_addresses`` shows the default
SNAT entry; nothing shows the SNAT policy, the interface tables, the excluded
prefixes, where the cnat feature is enabled, or a translation's flow hash,
``is_real_ip`` and flags. What vppnet applied is therefore recorded in the
ownership index (``cnat_records``), and each record is tied to evidence VPP
does show, so that a restarted VPP (which forgot all of it) is noticed and
everything is applied again:

* the policy, the tables and the excluded prefixes live on VPP's default SNAT
  entry: they are observed only while that entry exists;
* a feature or table membership of an interface is observed only while the
  interface still has the sw_if_index it had when the record was made;
* a translation's hidden fields are taken from the record only for a
  translation VPP still dumps.

Ordering follows VPP's rules (and its hazards: with no default SNAT entry,
``cnat_set_snat_policy`` and ``cnat_snat_policy_add_del_exclude_pfx`` crash
VPP v26.06): the entry is set in :attr:`Phase.ADD_SERVICES`, everything that
lives on it in :attr:`Phase.ADD_NAT_RULES`, and every SNAT rule needs the entry,
so a failed entry skips them. Deleting the entry (all-zero addresses) makes
VPP drop the rules with it.

The module registers its readers, step builders and recorder with the generic
reconciler when imported (:mod:`agent.reconcile` imports it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

from agent.reconcile.apply import EXTRA_RECORDERS
from agent.reconcile.index import OwnershipIndex
from agent.reconcile.observe import EXTRA_READERS, Observed
from agent.reconcile.plan import Change, Op
from agent.reconcile.steps import EXTRA_CREATE, EXTRA_DELETE, Phase, Step, resolve
from agent.vpp import VppApiError, cnat
from agent.vpp.connection import VppConnection
from agent.vpp.request import ANY_INTERFACE
from agent.vppobjects import (
    SNAT_ADDRESSES_KEY,
    CnatFeature,
    CnatTranslation,
    FlowField,
    IfRef,
    SnatAddresses,
    SnatExclude,
    SnatInterface,
    SnatPolicy,
    SnatPolicyName,
    SnatTable,
    VppName,
    VppObject,
)

HIDDEN_TRANSLATION_FIELDS = frozenset({"flow_hash", "is_real_ip", "no_client"})

_POLICIES: dict[str, cnat.SnatPolicy] = {
    "none": cnat.SnatPolicy.NONE,
    "if-pfx": cnat.SnatPolicy.IF_PFX,
    "k8s": cnat.SnatPolicy.K8S,
}
_TABLES: dict[str, cnat.SnatTable] = {
    "include-v4": cnat.SnatTable.INCLUDE_V4,
    "include-v6": cnat.SnatTable.INCLUDE_V6,
    "pod": cnat.SnatTable.POD,
    "host": cnat.SnatTable.HOST,
}
_ZERO4 = ipaddress.IPv4Address(0)
_ZERO6 = ipaddress.IPv6Address(0)


# -- records ---------------------------------------------------------------------------


def _ref_json(ref: IfRef) -> dict[str, str]:
    return {"vpp": ref.name} if isinstance(ref, VppName) else {"owned": ref}


def _ref(data: dict[str, str]) -> IfRef:
    return VppName(data["vpp"]) if "vpp" in data else data["owned"]


def _encode(obj: VppObject) -> dict[str, Any] | None:
    match obj:
        case CnatTranslation():
            return {
                "kind": "translation",
                "flow_hash": list(obj.flow_hash),
                "is_real_ip": obj.is_real_ip,
                "no_client": obj.no_client,
            }
        case SnatAddresses():
            return {"kind": "snat-addresses"}
        case SnatPolicy():
            return {"kind": "snat-policy", "policy": obj.policy}
        case SnatExclude():
            return {"kind": "snat-exclude", "prefix": str(obj.prefix)}
        case SnatInterface():
            return {"kind": "snat-if", "interface": _ref_json(obj.interface), "table": obj.table}
        case CnatFeature():
            return {"kind": "feature", "interface": _ref_json(obj.interface)}
    return None


def _decode(data: dict[str, Any]) -> VppObject | None:
    """The object a record describes; None for translation fields or a garbled record."""
    try:
        match data.get("kind"):
            case "snat-policy":
                return SnatPolicy(cast(SnatPolicyName, data["policy"]))
            case "snat-exclude":
                return SnatExclude(ipaddress.ip_network(data["prefix"]))
            case "snat-if":
                return SnatInterface(_ref(data["interface"]), cast(SnatTable, data["table"]))
            case "feature":
                return CnatFeature(_ref(data["interface"]))
    except (KeyError, TypeError, ValueError):
        return None
    return None


def record(change: Change, observed: Observed, index: OwnershipIndex) -> None:
    """Keep the index records of a landed change (called for every change by the applier)."""
    obj, key = change.obj, change.key
    encoded = _encode(obj)
    if encoded is None:
        return
    if change.op is Op.DELETE:
        index.cnat_records.pop(key, None)
        if isinstance(obj, SnatAddresses):  # VPP dropped everything that lived on the entry
            for other in [k for k, r in index.cnat_records.items() if _on_entry(r)]:
                index.cnat_records.pop(other, None)
                observed.objects.pop(other, None)
        index.dirty = True
        return
    if isinstance(obj, SnatInterface | CnatFeature):
        sw_if_index = observed.resolve(obj.interface)
        if sw_if_index is None:
            return
        encoded["sw_if_index"] = sw_if_index
    if index.cnat_records.get(key) != encoded:
        index.cnat_records[key] = encoded
        index.dirty = True


def _on_entry(data: dict[str, Any]) -> bool:
    return data.get("kind") in ("snat-policy", "snat-exclude", "snat-if")


# -- observe ---------------------------------------------------------------------------


def observe(conn: VppConnection, index: OwnershipIndex, out: Observed) -> None:
    """Complete what :mod:`agent.reconcile.observe` read with what only the index knows."""
    _translations(index, out)
    entry = _snat_entry(conn)
    if entry is not None:
        if SNAT_ADDRESSES_KEY in index.cnat_records:
            out.objects[SNAT_ADDRESSES_KEY] = entry
        else:
            out.foreign[SNAT_ADDRESSES_KEY] = f"cnat SNAT entry {entry.ip4} / {entry.ip6}"
            out.unowned[SNAT_ADDRESSES_KEY] = entry
    for key, data in index.cnat_records.items():
        obj = _decode(data)
        if obj is None:
            continue
        if isinstance(obj, SnatInterface | CnatFeature):
            alive = out.resolve(obj.interface) == data.get("sw_if_index")
            if isinstance(obj, SnatInterface):
                alive = alive and entry is not None
        else:
            alive = entry is not None
        if alive:
            out.objects[key] = obj


def _translations(index: OwnershipIndex, out: Observed) -> None:
    for key, obj in list(out.objects.items()):
        if not isinstance(obj, CnatTranslation):
            continue
        data = index.cnat_records.get(key)
        if data is not None and data.get("kind") == "translation":
            out.objects[key] = replace(
                obj,
                flow_hash=tuple(cast(list[FlowField], data.get("flow_hash", obj.flow_hash))),
                is_real_ip=bool(data.get("is_real_ip", False)),
                no_client=bool(data.get("no_client", False)),
            )
    for key, obj in out.unowned.items():
        if isinstance(obj, CnatTranslation):
            out.hidden[key] = HIDDEN_TRANSLATION_FIELDS


def _snat_entry(conn: VppConnection) -> SnatAddresses | None:
    """VPP's default SNAT entry; None when there is none (FEATURE_DISABLED, or all zero)."""
    try:
        got = conn.call(cnat.get_snat_addresses())
    except VppApiError:
        return None
    ip4 = got.ip4 if isinstance(got.ip4, ipaddress.IPv4Address) and got.ip4 != _ZERO4 else None
    ip6 = got.ip6 if isinstance(got.ip6, ipaddress.IPv6Address) and got.ip6 != _ZERO6 else None
    if ip4 is None and ip6 is None:
        return None
    return SnatAddresses(ip4, ip6)


# -- steps -----------------------------------------------------------------------------


def _addresses(obj: SnatAddresses) -> cnat.SnatAddresses:
    return cnat.SnatAddresses(obj.ip4 or _ZERO4, obj.ip6 or _ZERO6, ANY_INTERFACE)


def _one(phase: Phase, build: Callable[[Observed], Any]) -> list[Step]:
    return [Step(phase, build)]


def _create_feature(obj: CnatFeature) -> list[Step]:
    # With the policy bindings, before the interface comes up: a new pod's first packet
    # to a service VIP is already translated (translations made later apply at once).
    return _one(
        Phase.NPOL_BIND,
        lambda o: cnat.enable_feature(resolve(o, obj.interface), True, obj.key),
    )


def _delete_feature(obj: CnatFeature) -> list[Step]:
    return _one(
        Phase.DELETE_USERS,
        lambda o: cnat.enable_feature(resolve(o, obj.interface), False, obj.key),
    )


def _create_addresses(obj: SnatAddresses) -> list[Step]:
    return _one(Phase.ADD_SERVICES, lambda o: cnat.set_snat_addresses(_addresses(obj), obj.key))


def _delete_addresses(obj: SnatAddresses) -> list[Step]:
    empty = cnat.SnatAddresses(_ZERO4, _ZERO6, ANY_INTERFACE)
    return _one(Phase.DELETE_CONTAINERS, lambda o: cnat.set_snat_addresses(empty, obj.key))


def _create_policy(obj: SnatPolicy) -> list[Step]:
    policy = _POLICIES[obj.policy]
    return _one(Phase.ADD_NAT_RULES, lambda o: cnat.set_snat_policy(policy, obj.key))


def _delete_policy(obj: SnatPolicy) -> list[Step]:
    return _one(Phase.DELETE_USERS, lambda o: cnat.set_snat_policy(cnat.SnatPolicy.NONE, obj.key))


def _interface_steps(obj: SnatInterface, is_add: bool) -> list[Step]:
    table = _TABLES[obj.table]
    return _one(
        Phase.ADD_NAT_RULES if is_add else Phase.DELETE_USERS,
        lambda o: cnat.snat_policy_interface(resolve(o, obj.interface), table, is_add, obj.key),
    )


def _exclude_steps(obj: SnatExclude, is_add: bool) -> list[Step]:
    return _one(
        Phase.ADD_NAT_RULES if is_add else Phase.DELETE_USERS,
        lambda o: cnat.snat_exclude_prefix(obj.prefix, is_add, obj.key),
    )


EXTRA_CREATE.update(
    {
        CnatFeature: _create_feature,
        SnatAddresses: _create_addresses,
        SnatPolicy: _create_policy,
        SnatInterface: lambda obj: _interface_steps(obj, True),
        SnatExclude: lambda obj: _exclude_steps(obj, True),
    }
)
EXTRA_DELETE.update(
    {
        CnatFeature: _delete_feature,
        SnatAddresses: _delete_addresses,
        SnatPolicy: _delete_policy,
        SnatInterface: lambda obj: _interface_steps(obj, False),
        SnatExclude: lambda obj: _exclude_steps(obj, False),
    }
)
EXTRA_READERS.append(observe)
EXTRA_RECORDERS.append(record)
