"""npol objects in the ownership index, and observing them: VPP cannot dump them.

What vppnet applied is recorded in the index (``npol``: a version, the VPP
process the records belong to, and per key VPP's id and the object as applied,
each record kept as its JSON text so that saving the index does not encode
thousands of records again). Records are trusted only while the VPP they were
made in still runs: the same process id (``control_ping``) and the always-empty
"epoch" set still exists (adding nothing to it succeeds; process ids repeat
across container restarts). Otherwise VPP forgot every npol object: the records
are dropped, and the diff programs everything again.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from typing import Any

from agent.reconcile.index import OwnershipIndex
from agent.reconcile.observe import Observed
from agent.reconcile.plan import Change, Op
from agent.vpp import VppApiError, npol, vpe
from agent.vpp.connection import VppConnection
from agent.vppobjects import (
    NPOL_TYPES,
    IfRef,
    NpolEntry,
    NpolFilter,
    NpolInterface,
    NpolIpset,
    NpolMember,
    NpolMembers,
    NpolPolicy,
    NpolRule,
    VppName,
    VppObject,
    npol_ipset_key,
)

log = logging.getLogger(__name__)

RECORDS_VERSION = 1
EPOCH_SET = "vppnet-epoch"  # plugins.policy_sets.EPOCH_SET (reconcile may not import it)


# -- records ---------------------------------------------------------------------------


def member_text(m: NpolMember) -> str:
    return f"{m[0]},{m[1]},{m[2]}" if isinstance(m, tuple) else str(m)


def _member(kind: str, text: str) -> NpolMember:
    if kind == "ip-and-port":
        a, proto, port = text.split(",")
        return (ipaddress.ip_address(a), int(proto), int(port))
    return ipaddress.ip_network(text) if kind == "net" else ipaddress.ip_address(text)


def _ref_json(ref: IfRef) -> dict[str, str]:
    return {"vpp": ref.name} if isinstance(ref, VppName) else {"owned": ref}


def encode(obj: VppObject) -> dict[str, Any]:
    """The record of an npol object (its name is in its key)."""
    match obj:
        case NpolIpset():
            members = " ".join(sorted(member_text(m) for m in obj.members))
            return {"kind": obj.kind, "members": members}
        case NpolRule():
            return {
                "action": obj.action,
                "filters": [[f.kind, f.value, f.match] for f in obj.filters],
                "entries": [[e.kind, e.src, e.negated, _entry_data(e)] for e in obj.entries],
            }
        case NpolPolicy():
            return {"in": list(obj.inbound), "out": list(obj.outbound)}
        case NpolInterface():
            return {
                "interface": _ref_json(obj.interface),
                "in": list(obj.inbound),
                "out": list(obj.outbound),
                "profiles": list(obj.profiles),
                "defaults": [obj.inbound_default, obj.outbound_default, obj.profile_default],
            }
    raise TypeError(f"not an npol object: {type(obj).__name__}")


def _entry_data(e: NpolEntry) -> str:
    if e.kind == "cidr":
        return str(e.cidr)
    if e.kind == "ports":
        assert e.ports is not None
        return f"{e.ports[0]}-{e.ports[1]}"
    return e.ipset or ""


def _entry(kind: Any, src: bool, negated: bool, data: str) -> NpolEntry:
    if kind == "cidr":
        return NpolEntry(kind, src, negated, cidr=ipaddress.ip_network(data))
    if kind == "ports":
        first, last = data.split("-")
        return NpolEntry(kind, src, negated, ports=(int(first), int(last)))
    return NpolEntry(kind, src, negated, ipset=data)


def decode(key: str, rec: dict[str, Any]) -> VppObject:
    """The object a record describes; raises ValueError/KeyError/TypeError when garbled."""
    kind, _, name = key.partition(" ")
    if kind == "npol-ipset":
        text = rec["members"]
        members = (
            NpolMembers(_member(rec["kind"], t) for t in text.split()) if text else NpolMembers()
        )
        return NpolIpset(name, rec["kind"], members)
    if kind == "npol-rule":
        return NpolRule(
            name,
            rec["action"],
            tuple(NpolFilter(k, int(v), bool(m)) for k, v, m in rec["filters"]),
            tuple(_entry(*e) for e in rec["entries"]),
        )
    if kind == "npol-policy":
        return NpolPolicy(name, tuple(rec["in"]), tuple(rec["out"]))
    if kind == "npol-interface":
        ref: IfRef = (
            VppName(rec["interface"]["vpp"])
            if "vpp" in rec["interface"]
            else rec["interface"]["owned"]
        )
        d_in, d_out, d_prof = rec["defaults"]
        return NpolInterface(
            ref, tuple(rec["in"]), tuple(rec["out"]), tuple(rec["profiles"]), d_in, d_out, d_prof
        )
    raise ValueError(f"unknown npol record kind {kind!r}")


def record(change: Change, observed: Observed, index: OwnershipIndex) -> None:
    """Keep the index record of a landed npol change (the applier calls this for all)."""
    obj, key = change.obj, change.key
    if not isinstance(obj, NPOL_TYPES):
        return
    index.npol.setdefault("version", RECORDS_VERSION)
    if change.op is Op.DELETE:
        index.put_npol(key, None)
        observed.npol_ids.pop(key, None)
        return
    rec = encode(obj)
    if isinstance(obj, NpolInterface):
        rec["sw_if_index"] = observed.resolve(obj.interface)
    else:
        rec["id"] = observed.npol_ids[key]
    # encoded once, not at every save; saved by a journal line, not a rewrite of the index
    index.put_npol(key, json.dumps(rec, separators=(",", ":")))


def _record(raw: Any) -> dict[str, Any]:
    """A record as stored: its JSON text (or, written by hand, the object itself)."""
    rec = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(rec, dict):
        raise TypeError(f"a record is an object, not {type(rec).__name__}")
    return rec


def programmed(records: dict[str, Any]) -> tuple[list[VppObject], dict[str, int]]:
    """The objects and VPP ids an index's npol records describe (unreadable ones left out)."""
    objects: list[VppObject] = []
    ids: dict[str, int] = {}
    for key, raw in records.get("objects", {}).items():
        try:
            rec = _record(raw)
            objects.append(decode(key, rec))
        except (KeyError, TypeError, ValueError):
            continue
        if "id" in rec:
            ids[key] = int(rec["id"])
    return objects, ids


# -- observe ---------------------------------------------------------------------------


def _exists(conn: VppConnection, set_id: int) -> bool:
    try:
        conn.call(npol.ipset_exists(set_id))
    except VppApiError:
        return False
    return True


def observe(conn: VppConnection, index: OwnershipIndex, out: Observed) -> None:
    """The npol objects the index records, if they live in the VPP that answers now."""
    data = index.npol
    pid = conn.call(vpe.vpe_pid())
    objects: dict[str, Any] = (
        dict(data.get("objects", {})) if data.get("version") == RECORDS_VERSION else {}
    )
    if objects:
        epoch = objects.get(npol_ipset_key(EPOCH_SET))
        same_pid = data.get("vpe_pid") == pid
        try:
            alive = same_pid and (epoch is None or _exists(conn, int(_record(epoch)["id"])))
        except (KeyError, TypeError, ValueError):
            alive = False
        if not alive:
            log.warning(
                "VPP restarted since vppnet programmed its policies (%s): %d npol objects "
                "will be programmed again",
                "new process" if not same_pid else "its npol sets are gone",
                len(objects),
            )
            objects = {}
    before = index.npol
    index.npol = {"version": RECORDS_VERSION, "vpe_pid": pid, "objects": objects}
    for key, raw in list(objects.items()):
        try:
            rec = _record(raw)
            obj = decode(key, rec)
        except (KeyError, TypeError, ValueError) as e:
            log.error("npol record %s is unreadable (%s): it will be made again", key, e)
            del objects[key]
            continue
        if isinstance(obj, NpolInterface):
            if out.resolve(obj.interface) != rec.get("sw_if_index"):
                del objects[key]  # the interface was made again: VPP dropped its binding
                continue
        else:
            out.npol_ids[key] = int(rec["id"])
        out.objects[key] = obj
    if index.npol != before:  # records dropped, a new VPP: not journal lines, a rewrite
        index.dirty = True
