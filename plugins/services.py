"""One Kubernetes Service -> cnat translations (and the routes that answer for its VIPs).

Pure and per service: :func:`render_service` depends only on the Service and a small
:class:`ServiceContext` (this node, its addresses and zone, the secondary networks), so
its result can be memoised per Service object (:mod:`plugins.service_table` does).

What is programmed (docs/services.md has the full story):

* each ClusterIP, external IP and load-balancer ingress IP, per service port: a cnat
  translation to the port's backends of the same IP family; NodePorts (type NodePort
  or LoadBalancer) on every node address with ``is_real_ip`` (the node's own
  forwarding stays), remote backends reached through a NodePort source-NATed to the
  node address unless ``externalTrafficPolicy: Local``;
* backends: ready endpoints, else serving-and-terminating ones (Kubernetes'
  terminating fallback); ``Local`` traffic policies keep the endpoints of this node
  (ClusterIP: ``internalTrafficPolicy``; everything else: ``externalTrafficPolicy``);
  topology hints are followed when every chosen endpoint has them and one is for
  this node's zone; named target ports are resolved per endpoint from its slice;
* Maglev (consistent hashing) unless the ``vppLBType`` annotation asks for ``ecmp``;
  ``sessionAffinity: ClientIP`` hashes on the client address only;
* a VIP with no translation at all gets a route answering ICMP unreachable when the
  service has no endpoints (kube-proxy's REJECT), or dropping when it has endpoints
  none of which may serve here (kube-proxy's DROP for ``Local`` policies);
* a service of a secondary network (calico-vpp's ``extensions.projectcalico.org/network``
  annotation) load-balances to that network's addresses only, with translations that
  have no FIB entry (``no_client``: applied by the cnat feature on pod interfaces, then
  forwarded in the ingress interface's VRF, so other networks cannot reach the
  backends), plus a reject route for its ClusterIPs in the default VRF. Node ports of
  such services are not programmed: node addresses belong to the default network.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from agent.model import (
    DEFAULT_NETWORK,
    ClusterModel,
    IPAddress,
    IPNetwork,
    LbType,
    Service,
    ServiceEndpoint,
    ServicePort,
    ServiceType,
    SessionAffinity,
    TrafficPolicy,
    host_prefix,
    prefix_contains,
)
from agent.vppobjects import (
    FIVE_TUPLE,
    Backend,
    CnatTranslation,
    FlowField,
    PathKind,
    Route,
    RoutePath,
    VppObject,
)

HASH_FIELDS: dict[str, FlowField] = {
    "srcaddr": "src",
    "dstaddr": "dst",
    "srcport": "sport",
    "dstport": "dport",
    "iproto": "proto",
    "reverse": "reverse",
    "symmetric": "symmetric",
}
"""calico-vpp's ``vppHashConfig`` words and the flow-hash fields they select."""

CLIENT_AFFINITY: tuple[FlowField, ...] = ("src",)


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """Node-wide choices: addresses that take NodePorts besides the node's own ones
    (the host tun's, when they differ from the Node object's)."""

    node_port_addresses: tuple[IPAddress, ...] = ()


@dataclass(frozen=True, slots=True)
class NetworkScope:
    """A secondary network as services see it: its VRF and the addresses it owns."""

    name: str
    table: int
    ranges: tuple[IPNetwork, ...]

    def owns(self, address: IPAddress) -> bool:
        return any(prefix_contains(r, host_prefix(address)) for r in self.ranges)

    def not_ours(self, ctx: ServiceContext, address: IPAddress) -> str | None:
        """Why ``address`` cannot be a backend of this network's services (None: it can)."""
        if self.name != DEFAULT_NETWORK:
            return None if self.owns(address) else f"outside network {self.name!r}"
        theirs = next((n.name for n in ctx.networks if n.owns(address)), None)
        return None if theirs is None else f"in network {theirs!r}, not the default network"


DEFAULT_SCOPE = NetworkScope(DEFAULT_NETWORK, 0, ())


@dataclass(frozen=True, slots=True)
class ServiceContext:
    """Everything besides the Service that its objects depend on (compared per render)."""

    node: str
    zone: str | None = None
    node_addresses: tuple[IPAddress, ...] = ()
    networks: tuple[NetworkScope, ...] = ()

    @classmethod
    def of(cls, model: ClusterModel, settings: ServiceSettings) -> ServiceContext:
        node = model.nodes.get(model.local_node_name)
        own = tuple(a.ip for a in node.addresses) if node is not None else ()
        addresses = tuple(dict.fromkeys((*own, *settings.node_port_addresses)))
        networks = tuple(
            NetworkScope(n.name, n.vrf_table_id, n.ranges)
            for _, n in sorted(model.networks.items())
        )
        zone = node.zone if node is not None else None
        return cls(model.local_node_name, zone, addresses, networks)

    def scope(self, network: str) -> NetworkScope | None:
        if network == DEFAULT_NETWORK:
            return DEFAULT_SCOPE
        return next((n for n in self.networks if n.name == network), None)


@dataclass(frozen=True, slots=True)
class Rendered:
    objects: tuple[VppObject, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass
class _Builder:
    svc: Service
    ctx: ServiceContext
    scope: NetworkScope
    objects: list[VppObject] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    translated: set[IPAddress] = field(default_factory=set)

    @property
    def per_network(self) -> bool:
        return self.svc.network != DEFAULT_NETWORK

    def flow_hash(self) -> tuple[FlowField, ...]:
        if self.svc.session_affinity is SessionAffinity.CLIENT_IP:
            return CLIENT_AFFINITY
        fields = tuple(HASH_FIELDS[f] for f in self.svc.hash_fields if f in HASH_FIELDS)
        return fields or FIVE_TUPLE

    def translate(
        self,
        vip: IPAddress,
        sp: ServicePort,
        endpoints: Sequence[ServiceEndpoint],
        *,
        port: int,
        node_port: bool = False,
    ) -> None:
        local_only = self.svc.external_traffic_policy is TrafficPolicy.LOCAL
        dsr = self.svc.lb_type is LbType.MAGLEV_DSR
        backends: list[Backend] = []
        for ep in endpoints:
            target = backend_port(ep, sp)
            if target is None:
                continue
            local = ep.node == self.ctx.node
            for address in ep.addresses:
                if address.version != vip.version:
                    continue
                src = vip if node_port and not local and not local_only else None
                backends.append(Backend(address, target, src, dsr and not local and not node_port))
        if not backends:
            return
        self.translated.add(vip)
        self.objects.append(
            CnatTranslation(
                vip=vip,
                port=port,
                proto=sp.protocol.value,
                backends=tuple(backends),
                maglev=self.svc.lb_type is not LbType.ECMP,
                flow_hash=self.flow_hash(),
                is_real_ip=node_port or vip in self.ctx.node_addresses,
                no_client=self.per_network,
            )
        )


def backend_port(ep: ServiceEndpoint, sp: ServicePort) -> int | None:
    """The port ``ep`` serves ``sp`` on: from its slice's ports (named target ports resolved
    per endpoint), or the numeric target port for an endpoint listing no ports at all."""
    port = ep.port_for(sp)
    if port is not None:
        return port
    if not ep.ports and isinstance(sp.target_port, int):
        return sp.target_port
    return None


def select(
    endpoints: Sequence[ServiceEndpoint], local_only: bool, ctx: ServiceContext
) -> list[ServiceEndpoint]:
    """The endpoints traffic may go to: ready ones, else serving ones that terminate."""
    pool = [e for e in endpoints if e.node == ctx.node] if local_only else list(endpoints)
    chosen = [e for e in pool if e.ready] or [e for e in pool if e.serving and e.terminating]
    if local_only or ctx.zone is None or not chosen:
        return chosen
    if all(e.zone_hints for e in chosen):
        mine = [e for e in chosen if ctx.zone in e.zone_hints]
        if mine:
            return mine
    return chosen


def _in_scope(b: _Builder) -> list[ServiceEndpoint]:
    """The service's endpoints without addresses of another network (each reported):
    the client's VRF could not forward to them, so they would blackhole flows."""
    if not b.per_network and not b.ctx.networks:
        return list(b.svc.endpoints)
    kept: list[ServiceEndpoint] = []
    for ep in b.svc.endpoints:
        inside: list[IPAddress] = []
        for address in ep.addresses:
            why = b.scope.not_ours(b.ctx, address)
            if why is None:
                inside.append(address)
            else:
                b.problems.append(f"endpoint {address} is {why}: not a backend")
        if inside:
            kept.append(ep if len(inside) == len(ep.addresses) else _with(ep, tuple(inside)))
    return kept


def _with(ep: ServiceEndpoint, addresses: tuple[IPAddress, ...]) -> ServiceEndpoint:
    return ServiceEndpoint(
        addresses, ep.ports, ep.node, ep.ready, ep.serving, ep.terminating, ep.zone_hints
    )


def render_service(svc: Service, ctx: ServiceContext) -> Rendered:
    """The objects of one service in this node's context, and what could not be done."""
    if svc.headless:
        return Rendered()
    scope = ctx.scope(svc.network)
    if scope is None:
        return Rendered(problems=(f"network {svc.network!r} is unknown: service not programmed",))
    b = _Builder(svc, ctx, scope)
    endpoints = _in_scope(b)
    internal = select(endpoints, svc.internal_traffic_policy is TrafficPolicy.LOCAL, ctx)
    external = select(endpoints, svc.external_traffic_policy is TrafficPolicy.LOCAL, ctx)
    node_ports = svc.service_type in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER)
    outside = (*svc.external_ips, *svc.load_balancer_ips)
    for sp in svc.ports:
        for vip in svc.cluster_ips:
            b.translate(vip, sp, internal, port=sp.port)
        for vip in outside:
            b.translate(vip, sp, external, port=sp.port)
        if node_ports and sp.node_port is not None:
            if b.per_network:
                b.problems.append(
                    f"nodePort {sp.node_port}: not programmed, node addresses are in the "
                    "default network"
                )
                continue
            for address in ctx.node_addresses:
                b.translate(address, sp, external, port=sp.node_port, node_port=True)
    if svc.ports:
        b.objects.extend(_answers(b, endpoints, (*svc.cluster_ips, *outside)))
    return Rendered(tuple(b.objects), tuple(dict.fromkeys(b.problems)))


def _answers(
    b: _Builder, endpoints: Sequence[ServiceEndpoint], vips: Sequence[IPAddress]
) -> Iterator[Route]:
    """Routes for VIPs no translation serves: reject (no endpoints) or drop (none here)."""
    for vip in dict.fromkeys(vips):
        if vip in b.translated or vip in b.ctx.node_addresses:
            continue
        any_endpoint = any(
            (e.ready or (e.serving and e.terminating))
            and any(a.version == vip.version for a in e.addresses)
            for e in endpoints
        )
        kind: PathKind = "drop" if any_endpoint else "unreach"
        yield Route(b.scope.table, host_prefix(vip), (RoutePath(kind=kind),))
    if b.per_network and b.scope.table:
        # Not this network's clients: answered, never leaked to the default route.
        for vip in b.svc.cluster_ips:
            yield Route(0, host_prefix(vip), (RoutePath(kind="unreach"),))
