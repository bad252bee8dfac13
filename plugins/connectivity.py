"""Routes to the other nodes' pods (default network), directly or through VXLAN/IPIP tunnels.

Where a remote prefix comes from, first source wins per prefix:

1. Felix's resolved routes (remote workload blocks and borrowed addresses,
   with the node and pool type Felix joined in);
2. routes learned over BGP (:mod:`agent.bgp` writes them into the model);
   a next hop that is a cluster node's address makes the prefix that node's,
   any other next hop (a router of the fabric) is routed to directly;
3. the pod blocks of the nodes (Kubernetes podCIDRs, scenario files).

For a prefix on another node, :func:`plugins.encap.choose` picks direct
routing (via the node's address), VXLAN (Felix's VNI, one L3 tunnel per
node, bound to table 0) or IPIP (one tunnel per node), from the prefix's
IP pool and whether the node shares the local node's subnet. A node gets a
tunnel when we send to it encapsulated *or* it sends to us encapsulated
(our own blocks' pools, seen from its side), since VPP decapsulates only
packets that match a tunnel. Tunnels carry the MTU that leaves room for the
encapsulation. Whatever concerns a node that left is simply not rendered,
so the reconciler removes its routes and tunnels.

Secondary networks are :mod:`plugins.networks`' (always VXLAN, per VNI).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from agent.model import (
    DEFAULT_NETWORK,
    DEFAULT_VRF_TABLE_ID,
    ClusterModel,
    IPAddress,
    IPNetwork,
    Node,
    PoolEncap,
    RouteType,
    host_prefix,
    prefix_contains,
)
from agent.vppobjects import InterfaceSettings, Ipip, Route, RoutePath, VppObject, Vxlan
from plugins import encap
from plugins.encap import Encap


@dataclass(frozen=True, slots=True)
class Destination:
    """A remote prefix: where it lives (``node`` empty for a fabric router) and via what."""

    prefix: IPNetwork
    gateway: IPAddress
    node: str = ""
    felix_pool: PoolEncap = PoolEncap.NONE
    same_subnet: bool | None = None  # Felix's word on it, when the local node is unknown


def tunnel_name(kind: Encap, node: str) -> str:
    """The owned name (and tag) of the default network's tunnel of ``kind`` to ``node``."""
    return f"tunnel/{kind.value}/{node}"


def render(model: ClusterModel) -> Iterator[VppObject]:
    local = model.nodes.get(model.local_node_name)
    tunnels: dict[str, VppObject] = {}
    for dest in destinations(model):
        kind = _encap_for(model, local, dest)
        if kind is Encap.DIRECT:
            yield Route(DEFAULT_VRF_TABLE_ID, dest.prefix, (RoutePath(nh=dest.gateway),))
            continue
        tunnel = _tunnel(model, local, kind, dest.node, dest.gateway)
        if tunnel is None:
            continue  # no local address of that family: nothing to encapsulate from
        tunnels[tunnel.key] = tunnel
        yield Route(DEFAULT_VRF_TABLE_ID, dest.prefix, (RoutePath(interface=tunnel.name),))
    if local is not None:
        for tunnel in _return_tunnels(model, local):
            tunnels.setdefault(tunnel.key, tunnel)
    yield from (tunnels[key] for key in sorted(tunnels))


def destinations(model: ClusterModel) -> list[Destination]:
    """Every remote prefix of the default network with where it goes, by prefix."""
    local_name = model.local_node_name
    local = model.nodes.get(local_name)
    own = set(local.blocks(DEFAULT_NETWORK)) if local is not None else set()
    own_pods = {
        host_prefix(ip)
        for pod in model.pod_interfaces.values()
        if pod.network == DEFAULT_NETWORK
        for ip in pod.ip_addresses
    }

    def ours(prefix: IPNetwork) -> bool:
        return prefix in own_pods or any(prefix_contains(block, prefix) for block in own)

    found: dict[IPNetwork, Destination] = {}
    for route in model.routes.values():
        remote = route.types & RouteType.REMOTE_WORKLOAD and not route.local_workload
        if not remote or not route.node or route.node == local_name:
            continue
        if route.node_address is None or route.dst in found or ours(route.dst):
            continue
        found[route.dst] = Destination(
            route.dst, route.node_address, route.node, route.pool_encap, route.same_subnet
        )
    owners = _address_owners(model)
    for learned in model.learned_routes.values():
        if learned.network != DEFAULT_NETWORK or learned.prefix in found or ours(learned.prefix):
            continue
        owner = owners.get(learned.next_hop, "")
        if owner == local_name:
            continue  # our own prefix, reflected back to us
        found[learned.prefix] = Destination(learned.prefix, learned.next_hop, owner)
    for node in model.remote_nodes:
        for block in node.blocks(DEFAULT_NETWORK):
            gateway = node.address_for(block.version)
            if gateway is None or block in found or ours(block):
                continue  # no node address of that family: the block is unreachable from here
            found[block] = Destination(block, gateway.ip, node.name)
    return [found[p] for p in sorted(found, key=lambda p: (p.version, p))]


def _address_owners(model: ClusterModel) -> dict[IPAddress, str]:
    return {a.ip: node.name for node in model.nodes.values() for a in node.addresses}


def _encap_for(model: ClusterModel, local: Node | None, dest: Destination) -> Encap:
    if not dest.node:
        return Encap.DIRECT  # a router of the fabric: no tunnel ends there
    local_address = local.address_for(dest.gateway.version) if local is not None else None
    if local_address is None and dest.same_subnet is not None:
        same = dest.same_subnet
    else:
        same = encap.same_subnet(local_address, dest.gateway)
    pool = model.pool_containing(dest.prefix)
    return encap.choose(dest.prefix.version, pool, same, dest.felix_pool)


def _tunnel(
    model: ClusterModel, local: Node | None, kind: Encap, node: str, address: IPAddress
) -> Vxlan | Ipip | None:
    """The tunnel of ``kind`` to ``node``, whose underlay address of that family is ``address``."""
    src = local.address_for(address.version) if local is not None else None
    if src is None or src.ip == address:
        return None
    version = address.version
    mtu = encap.tunnel_mtu(model.felix_config, kind, version)
    settings = InterfaceSettings(admin_up=True, mtu=mtu)
    name = tunnel_name(kind, node)
    if kind is Encap.VXLAN:
        dst = _vtep_address(model, node, version) or address
        vni = encap.vni(model.felix_config)
        return Vxlan(name, src.ip, dst, vni, encap_vrf=0, is_l3=True, settings=settings)
    return Ipip(name, src.ip, address, encap_vrf=0, settings=settings)


def _vtep_address(model: ClusterModel, node: str, version: int) -> IPAddress | None:
    """The underlay address Felix's VTEP of ``node`` says VXLAN packets go to, if any."""
    vtep = model.vxlan_tunnel_endpoints.get(node)
    if vtep is None:
        return None
    return vtep.parent_address if version == 4 else vtep.parent_address_v6


def _return_tunnels(model: ClusterModel, local: Node) -> Iterator[Vxlan | Ipip]:
    """Tunnels the other nodes send our pods' traffic through: VPP decapsulates only what
    arrives on a tunnel it has, so we need ours even if we send them nothing."""
    blocks = local.blocks(DEFAULT_NETWORK)
    for node in model.remote_nodes:
        for block in blocks:
            remote = node.address_for(block.version)
            mine = local.address_for(block.version)
            if remote is None or mine is None:
                continue
            same = encap.same_subnet(remote, mine.ip)
            kind = encap.choose(block.version, model.pool_containing(block), same)
            if kind is not Encap.DIRECT:
                tunnel = _tunnel(model, local, kind, node.name, remote.ip)
                if tunnel is not None:
                    yield tunnel
