"""Secondary networks -> a VRF per network, and VXLAN per (network, remote node).

Each valid Network gets an IPv4 and an IPv6 VRF on every node. Towards every
other node that has pod prefixes in the network, it gets an L3 VXLAN tunnel
whose VNI is the network's (endpoints in the default table, the tunnel itself
bound to the network's VRF) and a route per remote prefix through it.
Isolation follows from what is *not* rendered: a network's VRF holds only its
own pods' routes and routes into its own tunnels; there is no default route,
no route leaking into another table, and a decapsulated packet lands in the VRF
its VNI's tunnel is bound to, so nothing crosses between networks or into the
default network (table 0).

Validation lives here too, so that the Kubernetes status writer and the
renderer agree by construction: :func:`problems` names every invalid network
with a reason, :func:`render` programs nothing for them, and :func:`usable`
hides them (and the pod interfaces attached to them) from the other plugins.
Conflicts are settled by seniority: the older network keeps its VNI, table and
addresses; the newcomer is refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final

from agent.model import (
    DEFAULT_NETWORK,
    ClusterModel,
    IPAddress,
    IPNetwork,
    Network,
    Node,
    host_prefix,
    prefix_contains,
    prefixes_overlap,
)
from agent.vppobjects import InterfaceSettings, Route, RoutePath, VppObject, VrfTable, Vxlan
from plugins.learned import learned_prefixes

MAX_VNI: Final = 16_777_215  # 24 bits
MAX_TABLE_ID: Final = 0xFFFF_FFFE  # ~0 means "pick one" in VPP's API
RESERVED_VNIS: Final[Mapping[int, str]] = {
    4096: "Calico's default VXLAN VNI (Felix VXLANVNI), used by the default network",
}
_NEWEST: Final = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class NetworkProblem:
    """Why a network is refused: a CamelCase reason (as in a Kubernetes condition)
    and a message naming the field and the conflicting object."""

    reason: str
    message: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


def seniority(network: Network) -> tuple[datetime, str]:
    """Older first; networks without a creation time (scenario files) come last, by name."""
    created = network.created
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return (created or _NEWEST, network.name)


def problems(model: ClusterModel) -> dict[str, NetworkProblem]:
    """Every invalid network of the model, by name.

    A network is judged against the pools and against the networks accepted
    before it in seniority order, never against refused ones: a broken newcomer
    cannot take an older network down with it.
    """
    found: dict[str, NetworkProblem] = {}
    accepted: list[Network] = []
    for network in sorted(model.networks.values(), key=seniority):
        problem = (
            _own_problem(network) or _pool_problem(model, network) or _conflict(network, accepted)
        )
        if problem is None:
            accepted.append(network)
        else:
            found[network.name] = problem
    return found


def _own_problem(network: Network) -> NetworkProblem | None:
    if not 1 <= network.vni <= MAX_VNI:
        return NetworkProblem("VNIOutOfRange", f"vni {network.vni} is not in 1..{MAX_VNI}")
    if network.vni in RESERVED_VNIS:
        return NetworkProblem(
            "VNIReserved", f"vni {network.vni} is reserved: {RESERVED_VNIS[network.vni]}"
        )
    if not 1 <= network.vrf_table_id <= MAX_TABLE_ID:
        return NetworkProblem(
            "TableOutOfRange",
            f"VRF table {network.vrf_table_id} is not in 1..{MAX_TABLE_ID} (0 is the default "
            "network's table)",
        )
    if not network.ranges:
        return NetworkProblem("NoRange", "the network has no IPv4 or IPv6 range")
    versions = [r.version for r in network.ranges]
    if len(set(versions)) < len(versions):
        return NetworkProblem("DuplicateFamily", "at most one range per IP family")
    if network.physical_network:
        return NetworkProblem(
            "UnsupportedPhysicalNetwork",
            f"physicalNetworkName {network.physical_network!r}: vppnet carries secondary "
            "networks over the main uplink only; leave it empty",
        )
    return None


def _pool_problem(model: ClusterModel, network: Network) -> NetworkProblem | None:
    for pool in sorted(model.pools.values(), key=lambda p: p.name):
        if pool.network == network.name:
            continue
        for cidr in network.ranges:
            if prefixes_overlap(cidr, pool.cidr):
                owner = (
                    "the default network"
                    if pool.network == DEFAULT_NETWORK
                    else (f"network {pool.network!r}")
                )
                return NetworkProblem(
                    "RangeOverlap",
                    f"range {cidr} overlaps IP pool {pool.name!r} ({pool.cidr}) of {owner}",
                )
    return None


def _conflict(network: Network, accepted: list[Network]) -> NetworkProblem | None:
    for other in accepted:
        if other.vni == network.vni:
            return NetworkProblem(
                "DuplicateVNI", f"vni {network.vni} is already used by network {other.name!r}"
            )
        if other.vrf_table_id == network.vrf_table_id:
            return NetworkProblem(
                "DuplicateTable",
                f"VRF table {network.vrf_table_id} is already used by network {other.name!r}",
            )
        for cidr in network.ranges:
            clash = next((r for r in other.ranges if prefixes_overlap(r, cidr)), None)
            if clash is not None:
                return NetworkProblem(
                    "RangeOverlap",
                    f"range {cidr} overlaps range {clash} of network {other.name!r}",
                )
    return None


def usable(model: ClusterModel) -> ClusterModel:
    """The model without invalid networks nor the pod interfaces attached to them.

    Every plugin renders from this view, so an invalid network programs nothing
    at all: no VRF, no tunnel, and no pod interface that could land in a table
    another network also uses. A pod interface on a network the model does not
    (yet, or any more) know is left out too, instead of failing the whole render.
    Returns ``model`` itself when all is valid.
    """
    bad = problems(model)
    known = {DEFAULT_NETWORK, *(n for n in model.networks if n not in bad)}
    orphans = any(pod.network not in known for pod in model.pod_interfaces.values())
    if not bad and not orphans:
        return model
    return replace(
        model,
        networks={n: net for n, net in model.networks.items() if n not in bad},
        pod_interfaces={k: pod for k, pod in model.pod_interfaces.items() if pod.network in known},
    )


def tunnel_name(network: Network, node: Node) -> str:
    """The owned name (and tag) of the tunnel carrying ``network`` to ``node``."""
    return f"vxlan/{network.name}/{node.name}"


def render(model: ClusterModel) -> Iterator[VppObject]:
    bad = problems(model)
    local = model.nodes.get(model.local_node_name)
    for name in sorted(model.networks):
        if name in bad:
            continue
        network = model.networks[name]
        yield VrfTable(network.vrf_table_id, ip6=False)
        yield VrfTable(network.vrf_table_id, ip6=True)
        if local is not None:
            yield from render_network(model, network, local)


def render_network(model: ClusterModel, network: Network, local: Node) -> Iterator[VppObject]:
    """The tunnels and routes that join ``local`` to the other nodes of ``network``."""
    table = network.vrf_table_id
    for node, prefixes in remote_prefixes(model, network).items():
        underlay = _underlay(local, node)
        if underlay is None:
            continue  # no common address family: the node is unreachable from here
        name = tunnel_name(network, node)
        yield Vxlan(
            name=name,
            src=underlay[0],
            dst=underlay[1],
            vni=network.vni,
            encap_vrf=0,
            is_l3=True,
            settings=InterfaceSettings(admin_up=True, vrf4=table, vrf6=table),
        )
        for prefix in prefixes:
            yield Route(table, prefix, (RoutePath(interface=name),))


def remote_prefixes(model: ClusterModel, network: Network) -> dict[Node, list[IPNetwork]]:
    """Each other node's pod prefixes in ``network`` that may be routed to it.

    Only prefixes inside the network's ranges are routed, so a node cannot pull
    another network's (or the default network's) addresses into this VRF.
    A prefix also held by a local pod, or claimed by two nodes at once (a stale
    announcement while a pod moves), is left out rather than misrouted: the
    conflict resolves when the stale owner withdraws it.
    """
    local_prefixes = {
        host_prefix(ip) for pod in model.pod_interfaces_in(network.name) for ip in pod.ip_addresses
    }
    claims: dict[IPNetwork, list[Node]] = {}
    for node in model.remote_nodes:
        for block in dict.fromkeys(node.blocks(network.name)):
            if any(prefix_contains(r, block) for r in network.ranges):
                claims.setdefault(block, []).append(node)
    for node, prefix in learned_prefixes(model, network.name):  # BGP VPN routes
        nodes = claims.setdefault(prefix, [])
        if node not in nodes and any(prefix_contains(r, prefix) for r in network.ranges):
            nodes.append(node)
    out: dict[Node, list[IPNetwork]] = {}
    for prefix, nodes in sorted(claims.items(), key=lambda item: str(item[0])):
        if len(nodes) == 1 and prefix not in local_prefixes:
            out.setdefault(nodes[0], []).append(prefix)
    return dict(sorted(out.items(), key=lambda item: item[0].name))


def _underlay(local: Node, remote: Node) -> tuple[IPAddress, IPAddress] | None:
    """Tunnel endpoints: IPv4 when both nodes have it, else IPv6. One tunnel carries
    both families of the network, as the VRF it is bound to has both tables."""
    for version in (4, 6):
        src, dst = local.address_for(version), remote.address_for(version)
        if src is not None and dst is not None:
            return src.ip, dst.ip
    return None
