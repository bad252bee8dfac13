"""Where may a packet to a service go? The reference answer, from the model alone.

This is the specification the services plugin and VPP are checked against
(``vppnet explain service`` reads the same answer back from VPP's dumps, and tests
compare the two on random clusters). It is written from Kubernetes' rules, not from
the plugin's code, so that a shared mistake is unlikely:

* a service port matches (VIP, port, protocol) on a ClusterIP, an external IP, a
  load-balancer ingress IP, or, for NodePort and LoadBalancer services, on one of
  this node's addresses at the node port;
* its endpoints are the ready ones, else the serving ones that are terminating;
  ``Local`` traffic policies keep this node's (ClusterIPs follow
  ``internalTrafficPolicy``, the rest ``externalTrafficPolicy``); topology hints
  narrow ``Cluster`` policies to this node's zone when every endpoint has hints and
  one is for the zone; the backend port is the endpoint's port named like the service
  port (a numeric target port when the endpoint lists no ports); only addresses of
  the VIP's family;
* a service with no endpoint at all is answered (ICMP unreachable, like
  kube-proxy's REJECT); one whose endpoints may not serve this traffic drops it;
* vppnet's isolation rules: a secondary network's service reaches only that
  network's addresses, only clients of that network reach it (others' packets are
  dropped, or, for default-network clients of its ClusterIPs, rejected), and it has
  no node ports; a VIP translated on some port drops the ports it is not translated on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from agent.model.base import (
    DEFAULT_NETWORK,
    IPAddress,
    L4Protocol,
    host_prefix,
    prefix_contains,
)
from agent.model.cluster import ClusterModel
from agent.model.services import (
    Service,
    ServiceEndpoint,
    ServiceKey,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)

Backend = tuple[IPAddress, int]


class Outcome(StrEnum):
    BACKENDS = "backends"  # load-balanced over ``Reach.backends``
    REJECT = "reject"  # answered with ICMP unreachable: the service has no endpoints
    DROP = "drop"  # a service's address, but nothing may serve this packet
    NONE = "none"  # no service here: ordinary forwarding


@dataclass(frozen=True, slots=True)
class Packet:
    vip: IPAddress
    port: int
    protocol: L4Protocol = L4Protocol.TCP
    network: str = DEFAULT_NETWORK  # the client's network
    source: IPAddress | None = None


@dataclass(frozen=True, slots=True)
class Reach:
    outcome: Outcome
    backends: frozenset[Backend] = frozenset()
    service: ServiceKey | None = None
    why: str = ""


@dataclass(frozen=True, slots=True)
class _Match:
    service: Service
    port: ServicePort
    external: bool  # external IP, ingress IP or node port: externalTrafficPolicy applies
    node_port: bool


def _age(svc: Service) -> tuple[datetime, ServiceKey]:
    created = svc.created or datetime.max.replace(tzinfo=UTC)
    return (created if created.tzinfo else created.replace(tzinfo=UTC), svc.key)


def _node_addresses(model: ClusterModel, extra: Sequence[IPAddress]) -> tuple[IPAddress, ...]:
    node = model.nodes.get(model.local_node_name)
    own = tuple(a.ip for a in node.addresses) if node is not None else ()
    return (*own, *extra)


def _vip_kind(svc: Service, vip: IPAddress) -> str | None:
    if vip in svc.cluster_ips:
        return "cluster"
    if vip in svc.external_ips or vip in svc.load_balancer_ips:
        return "external"
    return None


def _matches(
    model: ClusterModel, packet: Packet, node_addresses: tuple[IPAddress, ...]
) -> list[_Match]:
    found = []
    for svc in model.services.values():
        if svc.headless:
            continue
        kind = _vip_kind(svc, packet.vip)
        for sp in svc.ports:
            if sp.protocol != packet.protocol:
                continue
            if kind is not None and sp.port == packet.port:
                found.append(_Match(svc, sp, kind == "external", False))
            elif (
                svc.service_type in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER)
                and svc.network == DEFAULT_NETWORK
                and sp.node_port == packet.port
                and packet.vip in node_addresses
            ):
                found.append(_Match(svc, sp, True, True))
    return found


def _in_network(model: ClusterModel, svc: Service, address: IPAddress) -> bool:
    """Whether ``address`` is in the service's network; the default network has every
    address no secondary network claims."""
    prefix = host_prefix(address)
    if svc.network == DEFAULT_NETWORK:
        return not any(
            prefix_contains(r, prefix) for n in model.networks.values() for r in n.ranges
        )
    network = model.networks.get(svc.network)
    return network is not None and any(prefix_contains(r, prefix) for r in network.ranges)


def _target(ep: ServiceEndpoint, sp: ServicePort) -> int | None:
    for port in ep.ports:
        if port.name == sp.name and port.protocol == sp.protocol:
            return port.port
    if not ep.ports and isinstance(sp.target_port, int):
        return sp.target_port
    return None


def _serving(model: ClusterModel, svc: Service, local: bool) -> list[ServiceEndpoint]:
    here = model.local_node_name
    pool = [
        e
        for e in svc.endpoints
        if (not local or e.node == here) and any(_in_network(model, svc, a) for a in e.addresses)
    ]
    ready = [e for e in pool if e.ready]
    chosen = ready if ready else [e for e in pool if e.serving and e.terminating]
    node = model.nodes.get(here)
    zone = node.zone if node is not None else None
    if not local and zone and chosen and all(e.zone_hints for e in chosen):
        in_zone = [e for e in chosen if zone in e.zone_hints]
        chosen = in_zone or chosen
    return chosen


def backends_of(model: ClusterModel, match: _Match, vip: IPAddress) -> frozenset[Backend]:
    svc = match.service
    policy = svc.external_traffic_policy if match.external else svc.internal_traffic_policy
    out = set()
    for ep in _serving(model, svc, policy is TrafficPolicy.LOCAL):
        target = _target(ep, match.port)
        if target is None:
            continue
        for address in ep.addresses:
            if address.version == vip.version and _in_network(model, svc, address):
                out.add((address, target))
    return frozenset(out)


def _has_endpoints(model: ClusterModel, svc: Service, vip: IPAddress) -> bool:
    return any(
        (e.ready or (e.serving and e.terminating))
        and any(a.version == vip.version and _in_network(model, svc, a) for a in e.addresses)
        for e in svc.endpoints
    )


def _translated_elsewhere(model: ClusterModel, svc: Service, vip: IPAddress) -> bool:
    """Whether the service load-balances ``vip`` on any of its ports."""
    kind = _vip_kind(svc, vip)
    if kind is None:
        return False
    return any(
        backends_of(model, _Match(svc, sp, kind == "external", False), vip) for sp in svc.ports
    )


def reach(
    model: ClusterModel, packet: Packet, node_port_addresses: Sequence[IPAddress] = ()
) -> Reach:
    """Which backends ``packet`` may reach from a client of ``packet.network`` on this node."""
    node_addresses = _node_addresses(model, node_port_addresses)
    matches = _matches(model, packet, node_addresses)
    if not matches:
        owner = next(
            (
                s
                for s in sorted(model.services.values(), key=_age)
                if not s.headless and _vip_kind(s, packet.vip) and s.ports
            ),
            None,
        )
        if owner is None or packet.vip in node_addresses:
            return Reach(Outcome.NONE, why="no service port has this address, port and protocol")
        return _vip_answer(model, owner, packet, "no service port here on this address")
    match = min(matches, key=lambda m: _age(m.service))
    svc = match.service
    if svc.network != packet.network:
        return _isolated(model, svc, packet, match)
    backends = backends_of(model, match, packet.vip)
    if backends:
        hairpin = any(address == packet.source for address, _ in backends)
        why = "load-balanced" + ("; to itself: source-NATed to the node" if hairpin else "")
        return Reach(Outcome.BACKENDS, backends, svc.key, why)
    if match.node_port:
        return Reach(Outcome.NONE, service=svc.key, why="node port without backends: to the node")
    return _vip_answer(model, svc, packet, "no backend for this port")


def _vip_answer(model: ClusterModel, svc: Service, packet: Packet, why: str) -> Reach:
    if packet.network != svc.network:
        return _isolated(model, svc, packet, None)
    if _translated_elsewhere(model, svc, packet.vip):
        return Reach(Outcome.DROP, service=svc.key, why=f"{why}; the address is load-balanced")
    if _has_endpoints(model, svc, packet.vip):
        return Reach(Outcome.DROP, service=svc.key, why=f"{why}; no endpoint may serve here")
    return Reach(Outcome.REJECT, service=svc.key, why="the service has no endpoints")


def _isolated(model: ClusterModel, svc: Service, packet: Packet, match: _Match | None) -> Reach:
    """A client of another network: never a backend; answered or dropped, never leaked."""
    translated = _translated_elsewhere(model, svc, packet.vip) or (
        match is not None and bool(backends_of(model, match, packet.vip))
    )
    theirs, ours = svc.network or "default", packet.network or "default"
    why = f"service of network {theirs!r}, client in {ours!r}"
    if translated:
        return Reach(Outcome.DROP, service=svc.key, why=why)
    if (
        packet.network == DEFAULT_NETWORK
        and packet.vip in svc.cluster_ips
        and svc.network in model.networks
        and model.vrf_table_id(svc.network) != 0
    ):
        return Reach(Outcome.REJECT, service=svc.key, why=why)
    return Reach(Outcome.NONE, service=svc.key, why=why)
