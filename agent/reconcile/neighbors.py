"""Static neighbours in the reconciler: observe, create, delete, and their index records.

A pod on an Ethernet interface (tap, or af_packet on a veth) is reached with
its own address as next hop, so VPP needs the pod's MAC. Rather than have VPP
resolve it with ARP/ND (from an unnumbered interface, with the pod answering
a VRF loopback's address), vppnet tells VPP: a static neighbour entry per pod
address. It is added with NO_FIB_ENTRY: the pod's host route comes from the
pods plugin, and the entry only completes the adjacency that route uses, so
no second, VPP-made route shows up in the tables.

Ownership: a static neighbour on an interface vppnet owns is vppnet's (like
an address there); elsewhere only if the index lists it. Learned (dynamic)
entries are VPP's own and never touched. VPP drops an interface's
neighbours when it deletes the interface (the diff knows that, see
:mod:`agent.reconcile.diff`). The module registers itself with the generic
reconciler when imported (:mod:`agent.reconcile` imports it).
"""

from __future__ import annotations

from agent.reconcile.apply import EXTRA_RECORDERS
from agent.reconcile.index import OwnershipIndex
from agent.reconcile.observe import EXTRA_READERS, Observed
from agent.reconcile.plan import Change, Op
from agent.reconcile.steps import EXTRA_CREATE, EXTRA_DELETE, Phase, Step, resolve
from agent.vpp import ip
from agent.vpp.connection import VppConnection
from agent.vppobjects import INTERFACE_TYPES, Neighbor


def observe(conn: VppConnection, index: OwnershipIndex, out: Observed) -> None:
    """Every static neighbour VPP holds, as owned, or foreign (and adoptable when equal)."""
    for ip6 in (False, True):
        for n in conn.dump(ip.dump_neighbors(ip6)):
            ref = out.names.get(n.sw_if_index)
            if ref is None or not n.static:
                continue  # learned entries are VPP's own business
            obj = Neighbor(ref, n.ip, n.mac)
            if isinstance(ref, str) or obj.key in index.neighbors:
                out.objects[obj.key] = obj
            else:
                out.foreign[obj.key] = f"static neighbour on {ref.name}"
                out.unowned[obj.key] = obj


def _create(obj: Neighbor) -> list[Step]:
    """Adding an existing entry again replaces its MAC: an update is the same call."""
    return [
        Step(
            Phase.ADD_ADDRESSES,
            lambda o: ip.add_neighbor(
                resolve(o, obj.interface), obj.ip, obj.mac, what=obj.key, no_fib_entry=True
            ),
        )
    ]


def _delete(obj: Neighbor) -> list[Step]:
    return [
        Step(
            Phase.DELETE_ADDRESSES,
            lambda o: ip.del_neighbor(resolve(o, obj.interface), obj.ip, obj.mac, obj.key),
        )
    ]


def record(change: Change, observed: Observed, index: OwnershipIndex) -> None:
    """Keep ``index.neighbors`` in line with what landed (called for every change)."""
    obj = change.obj
    if isinstance(obj, Neighbor):
        if change.op is Op.DELETE:
            index.neighbors.discard(change.key)
        else:
            index.neighbors.add(change.key)
    elif change.op is Op.DELETE and isinstance(obj, INTERFACE_TYPES):
        prefix = f"neighbor {obj.name} "  # VPP dropped the interface's neighbours with it
        index.neighbors = {k for k in index.neighbors if not k.startswith(prefix)}


EXTRA_CREATE[Neighbor] = _create
EXTRA_DELETE[Neighbor] = _delete
EXTRA_READERS.append(observe)
EXTRA_RECORDERS.append(record)
