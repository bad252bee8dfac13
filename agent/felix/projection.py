"""The Felix store -> the cluster model, as pure changes for ``ClusterState.update``.

Felix owns some collections outright (policies, profiles, IP sets, workload
and host endpoints, routes, VTEPs, its config): at InSync they are replaced
wholesale, which deletes whatever the new snapshot no longer mentions (the
"resync" Felix's InSync stands for). Two collections are shared with other
sources, so Felix replaces only its part of them:

* pools: the pools Felix has sent (by Felix's pool id);
* nodes: for each node Felix knows, its addresses, AS number and its blocks
  of the default network. Blocks of secondary networks and the uplink name
  come from elsewhere and are kept; a node Felix forgets keeps them too, and
  disappears only when nothing else is left of it.

:class:`Ownership` remembers which pools and nodes Felix contributed, so a
later snapshot can withdraw them; it survives Felix reconnections.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from agent.felix.changes import ChangeSet
from agent.felix.hosts import HostView
from agent.felix.store import FelixStore
from agent.model import DEFAULT_NETWORK, ClusterModel, Node, PodBlock

ModelChange = Callable[[ClusterModel], ClusterModel]


@dataclass(frozen=True, slots=True)
class Ownership:
    """The pools and nodes whose Felix-owned parts are in the model."""

    pools: frozenset[str] = frozenset()
    nodes: frozenset[str] = frozenset()


def merge_node(name: str, existing: Node | None, view: HostView | None) -> Node | None:
    """A node with Felix's fields from ``view`` and every other field from ``existing``."""
    blocks = existing.pod_blocks if existing is not None else ()
    others = tuple(b for b in blocks if b.network != DEFAULT_NETWORK)
    if view is None:
        if existing is None or (not others and existing.uplink_interface is None):
            return None
        return replace(existing, addresses=(), asn=None, pod_blocks=others)
    base = existing if existing is not None else Node(name=name, addresses=())
    felix_blocks = tuple(PodBlock(cidr) for cidr in view.blocks)
    return replace(base, addresses=view.addresses, asn=view.asn, pod_blocks=felix_blocks + others)


def _merge_nodes(
    model: ClusterModel, store: FelixStore, names: set[str] | frozenset[str]
) -> dict[str, Node]:
    nodes = dict(model.nodes)
    for name in names:
        merged = merge_node(name, nodes.get(name), store.host_view(name))
        if merged is None:
            nodes.pop(name, None)
        else:
            nodes[name] = merged
    return nodes


def full(store: FelixStore, owned: Ownership) -> tuple[ModelChange, Ownership]:
    """The change that makes the model say exactly what the store says (at InSync)."""
    now = Ownership(pools=frozenset(store.pools), nodes=frozenset(store.node_names()))

    def change(model: ClusterModel) -> ClusterModel:
        pools = {k: v for k, v in model.pools.items() if k not in owned.pools}
        pools.update(store.pools)
        return replace(
            model,
            policies=store.policies,
            profiles=store.profiles,
            ip_sets=store.ip_sets,
            workload_endpoints=store.workload_endpoints,
            host_endpoints=store.host_endpoints,
            routes=store.routes,
            vxlan_tunnel_endpoints=store.vteps,
            felix_config=store.config,
            pools=pools,
            nodes=_merge_nodes(model, store, owned.nodes | now.nodes),
        )

    return change, now


def incremental(
    changes: ChangeSet, store: FelixStore, owned: Ownership
) -> tuple[ModelChange, Ownership]:
    """The change for one batch of messages after InSync; touches only what changed."""
    now = Ownership(
        pools=(owned.pools | changes.pools.puts.keys()) - changes.pools.removes,
        nodes=(owned.nodes - changes.nodes) | (changes.nodes & store.node_names()),
    )

    def change(model: ClusterModel) -> ClusterModel:
        fields: dict[str, object] = {}
        for name, delta in (
            ("policies", changes.policies),
            ("profiles", changes.profiles),
            ("ip_sets", changes.ip_sets),
            ("workload_endpoints", changes.workload_endpoints),
            ("host_endpoints", changes.host_endpoints),
            ("pools", changes.pools),
            ("routes", changes.routes),
            ("vxlan_tunnel_endpoints", changes.vteps),
        ):
            if delta:
                fields[name] = delta.apply_to(getattr(model, name))
        if changes.nodes:
            fields["nodes"] = _merge_nodes(model, store, changes.nodes)
        if changes.config:
            fields["felix_config"] = store.config
        return replace(model, **fields) if fields else model  # type: ignore[arg-type]

    return change, now
