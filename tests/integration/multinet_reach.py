"""Can a packet from pod X reach pod Y? Answered from what each node's VPP holds.

A pure function over per-node dumps (routes per table, VXLAN tunnels, the
table each interface is bound to) that follows a packet the way VPP forwards
it: FIB lookup (longest prefix) in the ingress interface's table; a path
through a VXLAN tunnel encapsulates towards the tunnel's destination node,
where only a tunnel with the mirrored endpoints and the *same VNI* decapsulates,
into *that* tunnel's table (an IPIP tunnel likewise, without a VNI); a path
via a next hop that is another node's address crosses the fabric in plain IP
and arrives in that node's default table; a path with only a table id is a
lookup in that table; drop, local and unresolved paths end the walk. The
packet arrives when it leaves through the destination pod's interface on the
destination node.

VPP drops IPv4 (IPv6) received on an interface where that family is not
enabled, so the walk also requires it where a packet enters VPP: the source
pod's interface and every tunnel that decapsulates it; and on the
destination pod's interface, which the pod's replies enter through. Leaving
through an Ethernet interface (tap, af_packet, Ethernet memif) needs the next
hop's MAC: a static neighbour, which vppnet programs for its L2 pods.

:func:`dump_node` builds a node's dump from the VPP API (routes, tunnels,
neighbours, which interfaces are Ethernet) plus, from the simulator, each
interface's table bindings and whether IP is enabled on it: VPP v26.06 has no
dump of either among the messages vppnet uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from agent.model import IPAddress
from agent.vpp import VppConnection, af_packet, interfaces, ip, ipip, memif, tap, vxlan
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
    ipip: Mapping[int, ipip.IpipTunnel] = field(default_factory=dict)  # sw_if_index -> tunnel
    ip_enabled: Mapping[int, tuple[bool, bool]] = field(default_factory=dict)  # (ip4, ip6)
    ethernet: frozenset[int] = frozenset()  # interfaces that need a next hop's MAC
    neighbors: frozenset[tuple[int, IPAddress]] = frozenset()  # (sw_if_index, ip): MAC known

    def accepts(self, sw_if_index: int, v6: bool) -> bool:
        """Whether VPP takes in IPv4 (IPv6) arriving on the interface."""
        return self.ip_enabled.get(sw_if_index, (False, False))[v6]


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

    def disabled(n: NodeDump, sw_if_index: int) -> str:
        family = "IPv6" if v6 else "IPv4"
        return f"{family} is not enabled on {n.names.get(sw_if_index, sw_if_index)} on {n.name}"

    if not node.accepts(src.sw_if_index, v6):
        return end(False, disabled(node, src.sw_if_index) + ": what the pod sends is dropped")
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
            if not remote.accepts(back[0], v6):
                return end(False, disabled(remote, back[0]) + ": decapsulated packets dropped")
            node, table = remote, remote.tables.get(back[0], (0, 0))[v6]
            hops.append(f"{node.name}: decapsulated VNI {tunnel.vni} into table {table}")
            continue
        if path.sw_if_index in node.ipip:
            outer = node.ipip[path.sw_if_index]
            remote = next((n for n in nodes.values() if outer.dst in n.addresses), None)
            if remote is None:
                return end(False, f"IPIP tunnel to {outer.dst}, which is no node")
            decap = next(
                (i for i, t in remote.ipip.items() if (t.src, t.dst) == (outer.dst, outer.src)),
                None,
            )
            if decap is None:
                return end(False, f"{remote.name} has no IPIP tunnel from {outer.src}")
            if not remote.accepts(decap, v6):
                return end(False, disabled(remote, decap) + ": decapsulated packets dropped")
            node, table = remote, remote.tables.get(decap, (0, 0))[v6]
            hops.append(f"{node.name}: decapsulated IPIP into table {table}")
            continue
        if path.sw_if_index != ANY:
            arrived = node.name == dst.node and path.sw_if_index == dst.sw_if_index
            where = node.names.get(path.sw_if_index, path.sw_if_index)
            nh = path.nh if path.nh is not None else dst.address
            if path.sw_if_index in node.ethernet and (path.sw_if_index, nh) not in node.neighbors:
                return end(False, f"no neighbour for {nh} on {where} on {node.name}: no MAC")
            if arrived and not node.accepts(path.sw_if_index, v6):
                return end(False, disabled(node, path.sw_if_index) + ": the pod's replies drop")
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
    """A node's forwarding state as VPP reports it (table bindings and IP enabling from
    the simulator)."""
    ifaces = conn.dump(interfaces.dump())
    routes: dict[tuple[int, bool], tuple[ip.Route, ...]] = {}
    for table in conn.dump(ip.dump_tables()):
        routes[(table.table_id, table.ip6)] = tuple(
            conn.dump(ip.dump_routes(table.table_id, table.ip6))
        )
    tunnels = {d.sw_if_index: d.tunnel for d in conn.dump(vxlan.dump())}
    ipips = {d.sw_if_index: d.tunnel for d in conn.dump(ipip.dump())}
    ethernet = {t.sw_if_index for t in conn.dump(tap.dump()) if not t.tun}
    ethernet |= {a.sw_if_index for a in conn.dump(af_packet.dump())}
    ethernet |= {
        m.sw_if_index for m in conn.dump(memif.dump()) if m.mode == memif.MemifMode.ETHERNET
    }
    neighbors = {
        (n.sw_if_index, n.ip) for v6 in (False, True) for n in conn.dump(ip.dump_neighbors(v6))
    }
    with sim.lock:
        tables = {i.sw_if_index: (i.table4, i.table6) for i in sim.state.interfaces}
        enabled = {
            i.sw_if_index: (i.ip_enabled(False), i.ip_enabled(True)) for i in sim.state.interfaces
        }
    return NodeDump(
        name=name,
        addresses=addresses,
        routes=routes,
        tunnels=tunnels,
        tables=tables,
        names={i.sw_if_index: i.tag or i.name for i in ifaces},
        ipip=ipips,
        ip_enabled=enabled,
        ethernet=frozenset(ethernet),
        neighbors=frozenset(neighbors),
    )
