"""Can a packet from pod X reach pod Y? Answered from what each node's VPP holds.

A pure function over per-node dumps (routes per table, VXLAN tunnels, the
table each interface is bound to) that follows a packet the way VPP forwards
it: FIB lookup (longest prefix) in the ingress interface's table; a path
through a VXLAN tunnel encapsulates towards the tunnel's destination node,
where only a tunnel with the mirrored endpoints and the *same VNI* decapsulates,
into *that* tunnel's table; a path via a next hop that is another node's
address crosses the fabric in plain IP and arrives in that node's default
table; a path with only a table id is a lookup in that table; drop, local and
unresolved paths end the walk. The packet arrives when it leaves through the
destination pod's interface on the destination node.

:func:`dump_node` builds a node's dump from the VPP API (routes, tunnels)
plus the simulator's interface table bindings: VPP v26.06 has no dump of an
interface's VRF among the messages vppnet uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from agent.model import IPAddress
from agent.vpp import VppConnection, interfaces, ip, vxlan
from agent.vppsim import Simulator

ANY = 0xFFFFFFFF
MAX_HOPS = 16


@dataclass(frozen=True)
class NodeDump:
    name: str
    addresses: frozenset[IPAddress]  # the node's underlay addresses
    routes: Mapping[tuple[int, bool], tuple[ip.Route, ...]]  # (table, ip6) -> routes
    tunnels: Mapping[int, vxlan.VxlanTunnel]  # sw_if_index -> tunnel
    tables: Mapping[int, tuple[int, int]]  # sw_if_index -> (ip4 table, ip6 table)
    names: Mapping[int, str] = field(default_factory=dict)  # sw_if_index -> tag or name


@dataclass(frozen=True)
class Endpoint:
    node: str
    sw_if_index: int
    address: IPAddress


@dataclass(frozen=True)
class Trace:
    reached: bool
    hops: tuple[str, ...]
    why: str

    def __bool__(self) -> bool:
        return self.reached

    def __str__(self) -> str:
        return f"{'reached' if self.reached else 'NOT reached'}: {self.why}\n  " + "\n  ".join(
            self.hops
        )


def lookup(routes: tuple[ip.Route, ...], address: IPAddress) -> ip.Route | None:
    matches = [r for r in routes if r.prefix.version == address.version and address in r.prefix]
    return max(matches, key=lambda r: r.prefix.prefixlen, default=None)


def describe(node: NodeDump, path: ip.Path) -> str:
    if path.type is not ip.PathType.NORMAL:
        return path.type.name.lower()
    if path.sw_if_index != ANY:
        via = f" via {path.nh}" if path.nh is not None else ""
        return f"out of {node.names.get(path.sw_if_index, path.sw_if_index)}{via}"
    if path.nh is not None:
        return f"via {path.nh}"
    return f"lookup in table {path.table_id}"


def trace(nodes: Mapping[str, NodeDump], src: Endpoint, dst: Endpoint) -> Trace:
    """Follow a packet from ``src`` to ``dst.address`` across the nodes' VPPs."""
    v6 = dst.address.version == 6
    node = nodes[src.node]
    table = node.tables.get(src.sw_if_index, (0, 0))[v6]
    hops = [f"{node.name}: from {node.names.get(src.sw_if_index, src.sw_if_index)}, table {table}"]

    def end(reached: bool, why: str) -> Trace:
        return Trace(reached, tuple(hops), why)

    for _ in range(MAX_HOPS):
        route = lookup(node.routes.get((table, v6), ()), dst.address)
        if route is None or not route.paths:
            return end(False, f"no route to {dst.address} in table {table} on {node.name}")
        path = sorted(route.paths, key=lambda p: (p.sw_if_index, str(p.nh), p.table_id))[0]
        hops.append(f"{node.name}: table {table} {route.prefix} -> {describe(node, path)}")
        if path.type is not ip.PathType.NORMAL:
            return end(False, f"{path.type.name.lower()} in table {table} on {node.name}")
        if path.sw_if_index in node.tunnels:
            tunnel = node.tunnels[path.sw_if_index]
            remote = next((n for n in nodes.values() if tunnel.dst in n.addresses), None)
            if remote is None:
                return end(False, f"tunnel to {tunnel.dst}, which is no node")
            back = next(
                (
                    (i, t)
                    for i, t in remote.tunnels.items()
                    if (t.src, t.dst, t.vni) == (tunnel.dst, tunnel.src, tunnel.vni)
                ),
                None,
            )
            if back is None:
                return end(False, f"{remote.name} has no tunnel decapsulating VNI {tunnel.vni}")
            node, table = remote, remote.tables.get(back[0], (0, 0))[v6]
            hops.append(f"{node.name}: decapsulated VNI {tunnel.vni} into table {table}")
            continue
        if path.sw_if_index != ANY:
            arrived = node.name == dst.node and path.sw_if_index == dst.sw_if_index
            where = node.names.get(path.sw_if_index, path.sw_if_index)
            return end(arrived, f"out of {where} on {node.name}")
        if path.nh is not None:
            owner = next((n for n in nodes.values() if path.nh in n.addresses), None)
            if owner is None or owner is node:
                return end(False, f"next hop {path.nh} unresolved on {node.name}")
            node, table = owner, 0  # plain IP over the fabric lands in the default table
            hops.append(f"{node.name}: received from the fabric, table 0")
            continue
        table = path.table_id
    return end(False, "forwarding loop")


def dump_node(
    name: str, addresses: frozenset[IPAddress], conn: VppConnection, sim: Simulator
) -> NodeDump:
    """A node's forwarding state as VPP reports it (tables bindings from the simulator)."""
    ifaces = conn.dump(interfaces.dump())
    routes: dict[tuple[int, bool], tuple[ip.Route, ...]] = {}
    for table in conn.dump(ip.dump_tables()):
        routes[(table.table_id, table.ip6)] = tuple(
            conn.dump(ip.dump_routes(table.table_id, table.ip6))
        )
    tunnels = {d.sw_if_index: d.tunnel for d in conn.dump(vxlan.dump())}
    with sim.lock:
        tables = {i.sw_if_index: (i.table4, i.table6) for i in sim.state.interfaces}
    return NodeDump(
        name=name,
        addresses=addresses,
        routes=routes,
        tunnels=tunnels,
        tables=tables,
        names={i.sw_if_index: i.tag or i.name for i in ifaces},
    )
