"""Routes learned over BGP, attributed to the cluster nodes their next hops belong to.

The BGP speaker writes gobgpd's best paths into ``model.learned_routes``;
the networks plugin routes a secondary network's learned prefixes through
the VXLAN tunnel to the node that announced them, exactly like the
prefixes a node announces on its Node object. A next hop that is no
remote node's address (the local node's own, reflected back; a router of
the fabric) gives nothing here: secondary networks exist only between nodes.
"""

from __future__ import annotations

from collections.abc import Iterator

from agent.model import ClusterModel, IPNetwork, Node


def learned_prefixes(model: ClusterModel, network: str) -> Iterator[tuple[Node, IPNetwork]]:
    """(remote node, prefix) for each learned route of ``network``, in prefix order."""
    routes = [r for r in model.learned_routes.values() if r.network == network]
    if not routes:
        return
    owners = {a.ip: node for node in model.remote_nodes for a in node.addresses}
    for route in sorted(routes, key=lambda r: (r.prefix.version, r.prefix)):
        node = owners.get(route.next_hop)
        if node is not None:
            yield node, route.prefix
