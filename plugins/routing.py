"""What this node announces over BGP: its pod prefixes and, following Calico, service IPs.

This plugin renders BGP advertisements, not VPP objects: the BGP speaker
(:mod:`agent.bgp`) reconciles them against the paths it put into gobgpd's
RIB, adding what is missing and withdrawing what is no longer rendered.
Like every plugin it is a pure function of the cluster model.

What is announced, with the local node's address of the prefix's family as
next hop (a prefix of a family the node has no address of is left out):

* the node's pod blocks of the default network, and the single addresses
  Felix reports as borrowed from another node's block but living here;
* service addresses inside the CIDRs of Calico's default BGPConfiguration
  (``serviceClusterIPs``, ``serviceExternalIPs``, ``serviceLoadBalancerIPs``),
  with Calico's rules: every node announces the CIDRs themselves (traffic is
  spread over all nodes with ECMP, ``externalTrafficPolicy: Cluster``); a
  service with ``externalTrafficPolicy: Local`` also gets its addresses in
  those CIDRs announced as /32 (/128), only by the nodes holding a ready
  endpoint of it, so the fabric prefers them and the client address is kept;
* for each secondary network that asks for it (``Network.advertise``), the
  prefixes covering its local pods' addresses, as VPN routes whose route
  distinguisher carries the network's VNI (calico-vpp's multinet scheme);
  secondary networks' services are not announced.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from agent.model import (
    DEFAULT_BGP_CONFIGURATION,
    DEFAULT_NETWORK,
    ClusterModel,
    IPAddress,
    IPNetwork,
    Node,
    RouteType,
    Service,
    TrafficPolicy,
    host_prefix,
    prefix_contains,
)
from plugins import networks


@dataclass(frozen=True, slots=True)
class Advertisement:
    """One prefix this node announces: in ``network`` (VPN with ``vni``) or plain unicast.

    ``origin`` says why, for operators; it is not part of what is announced.
    """

    prefix: IPNetwork
    next_hop: IPAddress
    network: str = DEFAULT_NETWORK
    vni: int | None = None
    origin: str = field(default="", compare=False)

    @property
    def key(self) -> str:
        return advertisement_key(self.network, self.prefix)

    def __str__(self) -> str:
        where = f" in network {self.network} (vni {self.vni})" if self.network else ""
        why = f" ({self.origin})" if self.origin else ""
        return f"{self.prefix} via {self.next_hop}{where}{why}"


def advertisement_key(network: str, prefix: IPNetwork) -> str:
    return f"bgp {network or 'default'} {prefix}"


def render(model: ClusterModel) -> dict[str, Advertisement]:
    """Every advertisement of the local node, by key (empty when the node is unknown)."""
    local = model.nodes.get(model.local_node_name)
    if local is None:
        return {}
    out: dict[str, Advertisement] = {}
    for adv in (
        *_pod_blocks(model, local),
        *_services(model, local),
        *_networks(model, local),
    ):
        out.setdefault(adv.key, adv)  # a pod block beats a service CIDR that equals it
    return out


def _announce(
    local: Node, prefix: IPNetwork, origin: str, network: str = "", vni: int | None = None
) -> Iterator[Advertisement]:
    address = local.address_for(prefix.version)
    if address is not None:
        yield Advertisement(prefix, address.ip, network, vni, origin)


def _pod_blocks(model: ClusterModel, local: Node) -> Iterator[Advertisement]:
    for block in local.blocks(DEFAULT_NETWORK):
        yield from _announce(local, block, "pod block")
    for route in model.routes.values():
        here = route.local_workload or route.types & RouteType.LOCAL_WORKLOAD
        if here and route.borrowed and route.node in ("", model.local_node_name):
            yield from _announce(local, route.dst, "borrowed pod address")


def _services(model: ClusterModel, local: Node) -> Iterator[Advertisement]:
    config = model.bgp_configurations.get(DEFAULT_BGP_CONFIGURATION)
    if config is None:
        return
    kinds = (
        ("cluster IP", config.service_cluster_ips),
        ("external IP", config.service_external_ips),
        ("LoadBalancer IP", config.service_load_balancer_ips),
    )
    for what, cidrs in kinds:
        for cidr in cidrs:
            yield from _announce(local, cidr, f"service {what} range")
    for key in sorted(model.services):
        service = model.services[key]
        if service.network != DEFAULT_NETWORK:
            continue
        if service.external_traffic_policy is not TrafficPolicy.LOCAL:
            continue
        if not _has_local_endpoint(service, model.local_node_name):
            continue
        for what, cidrs in kinds:
            for ip in _service_addresses(service, what):
                prefix = host_prefix(ip)
                if any(prefix_contains(cidr, prefix) for cidr in cidrs):
                    yield from _announce(local, prefix, f"{what} of {key}, local endpoints")


def _service_addresses(service: Service, what: str) -> tuple[IPAddress, ...]:
    if what == "cluster IP":
        return service.cluster_ips
    if what == "external IP":
        return service.external_ips
    return service.load_balancer_ips


def _has_local_endpoint(service: Service, node: str) -> bool:
    return any(e.node == node and e.ready for e in service.endpoints)


def _networks(model: ClusterModel, local: Node) -> Iterator[Advertisement]:
    valid = networks.usable(model)
    for name in sorted(valid.networks):
        network = valid.networks[name]
        if not network.advertise:
            continue
        addresses = [
            ip
            for pod in valid.pod_interfaces_in(name)
            for ip in pod.ip_addresses
            if any(prefix_contains(r, host_prefix(ip)) for r in network.ranges)
        ]
        for prefix in covering_prefixes(addresses):
            yield from _announce(local, prefix, "local pods", name, network.vni)


def covering_prefixes(addresses: Iterable[IPAddress]) -> list[IPNetwork]:
    """The smallest exact cover of ``addresses``: contiguous ones collapse into a prefix,
    no prefix claims an address that is not in the list."""
    v4 = [ipaddress.IPv4Network(a) for a in addresses if isinstance(a, ipaddress.IPv4Address)]
    v6 = [ipaddress.IPv6Network(a) for a in addresses if isinstance(a, ipaddress.IPv6Address)]
    out: list[IPNetwork] = list(ipaddress.collapse_addresses(v4))
    out += list(ipaddress.collapse_addresses(v6))
    return out
