"""``vppnet explain service``: where a packet to a service goes, read back from VPP.

Only VPP's dumps are used (cnat translations, FIB tables, interface addresses), never
the agent's model, so the answer shows what is programmed, not what was meant; the
tests compare it with the model's reference answer
(:func:`agent.model.service_reach.reach`) on random clusters.

How VPP forwards such a packet, as vppnet programs it (docs/services.md):

1. a cnat translation of (VIP, port, protocol) rewrites the destination to one of its
   backends (the flow hash picks one per new flow; the session keeps it);
2. the rewritten packet is forwarded in the FIB of the interface it came in on (the
   client's VRF), so a backend only that network routes is not reachable from another
   network: translated but dropped;
3. without a translation for the port, a VIP translated on other ports is dropped by
   cnat; otherwise the client's FIB decides: vppnet's host route for a VIP answers
   with ICMP unreachable (no endpoints) or drops (none may serve), and anything else
   is ordinary forwarding, not a service.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.model.service_reach import Outcome
from agent.vpp import VppConnection, cnat, interfaces, ip
from agent.vpp.convert import IPAddress, IPNetwork
from agent.vpp.request import ANY_INTERFACE

_MAX_LOOKUPS = 4  # lookups in other tables followed before giving up (loops)


@dataclass(frozen=True, slots=True)
class ServicePacket:
    vip: IPAddress
    port: int
    protocol: str = "TCP"  # TCP, UDP or SCTP
    table: int = 0  # the VRF of the client's interface
    source: IPAddress | None = None

    def __post_init__(self) -> None:
        if self.protocol not in ("TCP", "UDP", "SCTP"):
            raise ValueError(f"protocol: {self.protocol!r} is not TCP, UDP or SCTP")
        if not 0 < self.port < 65536:
            raise ValueError(f"port: {self.port} is not a port (1-65535)")
        if self.source is not None and self.source.version != self.vip.version:
            raise ValueError(f"source: {self.source} is not of the family of {self.vip}")


@dataclass(frozen=True, slots=True)
class BackendPath:
    address: IPAddress
    port: int
    reachable: bool
    via: str  # how the client's table forwards to it


@dataclass(frozen=True, slots=True)
class Explanation:
    packet: ServicePacket
    outcome: Outcome
    translation: cnat.Translation | None = None
    paths: tuple[BackendPath, ...] = ()
    why: str = ""

    @property
    def backends(self) -> frozenset[tuple[IPAddress, int]]:
        """The backends the packet may reach (what the reference answer is compared with)."""
        return frozenset((p.address, p.port) for p in self.paths if p.reachable)

    def render(self) -> str:
        p = self.packet
        source = f" from {p.source}" if p.source is not None else ""
        lines = [f"packet to {_ep(p.vip, p.port)} {p.protocol}{source} in table {p.table}"]
        t = self.translation
        if t is not None:
            lb = "maglev" if t.lb_type is cnat.LbType.MAGLEV else "hash"
            lines.append(f"  cnat translation {t.translation_id} ({lb}), {len(t.backends)} path(s)")
            for path in self.paths:
                mark = "->" if path.reachable else "x "
                lines.append(f"  {mark} {_ep(path.address, path.port)}  {path.via}")
        lines.append(f"outcome: {self.outcome.value}: {self.why}")
        return "\n".join(lines)


def _ep(address: IPAddress, port: int) -> str:
    return f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"


@dataclass
class ServiceView:
    """One read of what the explanation needs; explain many packets against it."""

    conn: VppConnection
    translations: list[cnat.Translation]
    local: set[IPAddress]
    names: dict[int, str]
    _routes: dict[tuple[int, bool], list[ip.Route]] = field(default_factory=dict)

    @classmethod
    def read(cls, conn: VppConnection) -> ServiceView:
        ifaces = conn.dump(interfaces.dump())
        local: set[IPAddress] = set()
        for i in ifaces:
            for ip6 in (False, True):
                local.update(
                    a.prefix.ip for a in conn.dump(interfaces.dump_addresses(i.sw_if_index, ip6))
                )
        names = {i.sw_if_index: i.tag or i.name for i in ifaces}
        return cls(conn, conn.dump(cnat.dump()), local, names)

    def routes(self, table: int, ip6: bool) -> list[ip.Route]:
        key = (table, ip6)
        if key not in self._routes:
            self._routes[key] = self.conn.dump(ip.dump_routes(table, ip6))
        return self._routes[key]

    def lookup(self, table: int, address: IPAddress) -> tuple[str, str]:
        """(kind, text) of the client table's forwarding to ``address``: kind is
        ``forward``, ``local``, ``drop``, ``unreach`` or ``none``."""
        for _ in range(_MAX_LOOKUPS):
            best = _longest(self.routes(table, address.version == 6), address)
            if best is None:
                return "none", f"no route in table {table}"
            kinds = {p.type for p in best.paths}
            if kinds <= {ip.PathType.DROP}:
                return "drop", f"dropped by route {best.prefix} in table {table}"
            if ip.PathType.ICMP_UNREACH in kinds:
                return "unreach", f"ICMP unreachable from route {best.prefix} in table {table}"
            if ip.PathType.LOCAL in kinds:
                return "local", f"local address in table {table}"
            path = best.paths[0]
            if path.sw_if_index == ANY_INTERFACE and path.nh is None:
                table = path.table_id
                continue
            hops = [
                f"via {p.nh}" if p.nh else f"dev {self.names.get(p.sw_if_index, p.sw_if_index)}"
                for p in best.paths
            ]
            return "forward", f"{'; '.join(hops)} (route {best.prefix}, table {table})"
        return "none", "too many table lookups"

    def explain(self, packet: ServicePacket) -> Explanation:
        proto = cnat.IpProto[packet.protocol]
        on_vip = [t for t in self.translations if t.vip.addr == packet.vip]
        t = next((t for t in on_vip if t.vip.port == packet.port and t.proto == proto), None)
        if t is not None:
            paths = []
            for b in t.backends:
                kind, via = self.lookup(packet.table, b.dst.addr)
                paths.append(BackendPath(b.dst.addr, b.dst.port, kind == "forward", via))
            reachable = [p for p in paths if p.reachable]
            if reachable:
                why = f"load-balanced over {len(reachable)} backend(s)"
                if any(p.address == packet.source for p in reachable):
                    why += "; to itself: source-NATed to the node (hairpin)"
                return Explanation(packet, Outcome.BACKENDS, t, tuple(paths), why)
            why = f"translated, but table {packet.table} forwards to none of the backends"
            return Explanation(packet, Outcome.DROP, t, tuple(paths), why)
        if on_vip and packet.vip not in self.local:
            return Explanation(
                packet, Outcome.DROP, why="a cnat VIP with no translation for this port"
            )
        kind, via = self.lookup(packet.table, packet.vip)
        best = _longest(self.routes(packet.table, packet.vip.version == 6), packet.vip)
        host = best is not None and best.prefix.prefixlen == best.prefix.max_prefixlen
        if host and kind == "unreach":
            return Explanation(packet, Outcome.REJECT, why=f"no endpoints: {via}")
        if host and kind == "drop":
            return Explanation(packet, Outcome.DROP, why=f"no endpoint may serve here: {via}")
        return Explanation(packet, Outcome.NONE, why=f"not a service here; {via}")


def _longest(routes: list[ip.Route], address: IPAddress) -> ip.Route | None:
    best: ip.Route | None = None
    for route in routes:
        prefix: IPNetwork = route.prefix
        if address in prefix and (best is None or prefix.prefixlen > best.prefix.prefixlen):
            best = route
    return best


def explain_service(conn: VppConnection, packet: ServicePacket) -> Explanation:
    """Read VPP and explain one packet (the CLI's entry point; ``.render()`` prints it)."""
    return ServiceView.read(conn).explain(packet)
