"""The cluster model: everything the plugins translate into VPP state, in one value.

A ClusterModel is immutable. The state store replaces it on every change, so a plugin
renders from it without locks and two renders of the same model always agree.
Collections are read-only mappings keyed by each entity's natural key, which is also
the key of the desired-state slice the entity produces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from agent.model.base import (
    DEFAULT_NETWORK,
    DEFAULT_VRF_TABLE_ID,
    IPAddress,
    IPInterface,
    IPNetwork,
    host_prefix,
    prefix_contains,
)
from agent.model.bgp import BgpConfiguration, BgpPeer, LearnedRoute
from agent.model.endpoints import HostEndpoint, WorkloadEndpoint
from agent.model.ipsets import IpSet
from agent.model.networks import NadRef, Network
from agent.model.nodes import Node
from agent.model.podmeta import PodMeta, PodRef
from agent.model.pods import PodInterface, PodInterfaceKey, PolicyAssignment
from agent.model.policy import Policy, PolicyId, Profile
from agent.model.pools import IpPool
from agent.model.routes import CalicoRoute, VxlanTunnelEndpoint
from agent.model.services import Service, ServiceKey

K = TypeVar("K")
V = TypeVar("V")


def _keyed(kind: str, items: Iterable[V], key: Callable[[V], K]) -> dict[K, V]:
    """Index ``items`` by key, refusing duplicates: a silently dropped entity would be a
    pod or route that never gets programmed."""
    keyed: dict[K, V] = {}
    for item in items:
        item_key = key(item)
        if item_key in keyed:
            raise ValueError(f"duplicate {kind} {item_key}")
        keyed[item_key] = item
    return keyed


@dataclass(frozen=True, slots=True)
class ClusterModel:
    """The local node's view of the cluster.

    ``networks`` holds the secondary networks only: the default Calico network
    (:data:`DEFAULT_NETWORK`) always exists and lives in VRF table 0.
    ``pod_interfaces`` are the local node's; remote pods are known only through the
    pod blocks of their nodes.

    What only Felix knows sits beside them: ``workload_endpoints`` (the policy
    of local pod interfaces, keyed like ``pod_interfaces``), ``host_endpoints``,
    ``routes`` (Felix's resolved routes, keyed by destination),
    ``vxlan_tunnel_endpoints`` (by node) and ``felix_config`` (Felix's effective
    configuration, parameter name to raw value).
    ``pods`` are the local node's Kubernetes pods (annotations, labels, uid), kept
    by the Kubernetes pod watch for the CNI server and the plugins.
    """

    local_node_name: str
    nodes: Mapping[str, Node] = field(default_factory=dict)
    pools: Mapping[str, IpPool] = field(default_factory=dict)
    networks: Mapping[str, Network] = field(default_factory=dict)
    pod_interfaces: Mapping[PodInterfaceKey, PodInterface] = field(default_factory=dict)
    services: Mapping[ServiceKey, Service] = field(default_factory=dict)
    policies: Mapping[PolicyId, Policy] = field(default_factory=dict)
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    ip_sets: Mapping[str, IpSet] = field(default_factory=dict)
    workload_endpoints: Mapping[PodInterfaceKey, WorkloadEndpoint] = field(default_factory=dict)
    host_endpoints: Mapping[str, HostEndpoint] = field(default_factory=dict)
    routes: Mapping[IPNetwork, CalicoRoute] = field(default_factory=dict)
    vxlan_tunnel_endpoints: Mapping[str, VxlanTunnelEndpoint] = field(default_factory=dict)
    felix_config: Mapping[str, str] = field(default_factory=dict)
    pods: Mapping[PodRef, PodMeta] = field(default_factory=dict)
    # BGP: Calico's resources (by name) and the best paths learned from peers
    bgp_configurations: Mapping[str, BgpConfiguration] = field(default_factory=dict)
    bgp_peers: Mapping[str, BgpPeer] = field(default_factory=dict)
    learned_routes: Mapping[tuple[str, IPNetwork], LearnedRoute] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Copy into read-only views so that whoever built the dicts cannot change us.
        # Views are kept as they are: ``dataclasses.replace`` hands over the unchanged
        # collections of the previous model, and copying them would make every event
        # cost the size of the cluster.
        for name in (
            "nodes",
            "pools",
            "networks",
            "pod_interfaces",
            "services",
            "policies",
            "profiles",
            "ip_sets",
            "workload_endpoints",
            "host_endpoints",
            "routes",
            "vxlan_tunnel_endpoints",
            "felix_config",
            "pods",
            "bgp_configurations",
            "bgp_peers",
            "learned_routes",
        ):
            value = getattr(self, name)
            if not isinstance(value, MappingProxyType):
                object.__setattr__(self, name, MappingProxyType(dict(value)))

    @classmethod
    def build(
        cls,
        local_node_name: str,
        *,
        nodes: Iterable[Node] = (),
        pools: Iterable[IpPool] = (),
        networks: Iterable[Network] = (),
        pod_interfaces: Iterable[PodInterface] = (),
        services: Iterable[Service] = (),
        policies: Iterable[Policy] = (),
        profiles: Iterable[Profile] = (),
        ip_sets: Iterable[IpSet] = (),
        workload_endpoints: Iterable[WorkloadEndpoint] = (),
        host_endpoints: Iterable[HostEndpoint] = (),
        routes: Iterable[CalicoRoute] = (),
        vxlan_tunnel_endpoints: Iterable[VxlanTunnelEndpoint] = (),
        felix_config: Mapping[str, str] | None = None,
        pods: Iterable[PodMeta] = (),
        bgp_configurations: Iterable[BgpConfiguration] = (),
        bgp_peers: Iterable[BgpPeer] = (),
        learned_routes: Iterable[LearnedRoute] = (),
    ) -> ClusterModel:
        """A model from plain sequences of entities, each keyed by its natural key.

        Raises ``ValueError`` when two entities share a key.
        """
        return cls(
            local_node_name=local_node_name,
            nodes=_keyed("node", nodes, lambda n: n.name),
            pools=_keyed("pool", pools, lambda p: p.name),
            networks=_keyed("network", networks, lambda n: n.name),
            pod_interfaces=_keyed("pod interface", pod_interfaces, lambda p: p.key),
            services=_keyed("service", services, lambda s: s.key),
            policies=_keyed("policy", policies, lambda p: p.id),
            profiles=_keyed("profile", profiles, lambda p: p.id),
            ip_sets=_keyed("IP set", ip_sets, lambda s: s.id),
            workload_endpoints=_keyed("workload endpoint", workload_endpoints, lambda e: e.key),
            host_endpoints=_keyed("host endpoint", host_endpoints, lambda e: e.id),
            routes=_keyed("route", routes, lambda r: r.dst),
            vxlan_tunnel_endpoints=_keyed("VTEP", vxlan_tunnel_endpoints, lambda v: v.node),
            felix_config=dict(felix_config or {}),
            pods=_keyed("pod", pods, lambda p: p.key),
            bgp_configurations=_keyed("BGP configuration", bgp_configurations, lambda c: c.name),
            bgp_peers=_keyed("BGP peer", bgp_peers, lambda p: p.name),
            learned_routes=_keyed("learned route", learned_routes, lambda r: r.key),
        )

    @property
    def local_node(self) -> Node:
        try:
            return self.nodes[self.local_node_name]
        except KeyError:
            raise LookupError(f"local node {self.local_node_name!r} is not in the model") from None

    @property
    def remote_nodes(self) -> tuple[Node, ...]:
        """Every node but the local one, by name: the peers to route or tunnel to."""
        return tuple(
            self.nodes[name] for name in sorted(self.nodes) if name != self.local_node_name
        )

    def pool_containing(self, item: IPAddress | IPInterface | IPNetwork) -> IpPool | None:
        """The pool an address (or a whole prefix) belongs to, or None.

        Pools do not overlap in a valid cluster; should they, the most specific wins,
        as it would in a FIB.
        """
        if isinstance(item, IPInterface):
            item = item.ip
        prefix = host_prefix(item) if isinstance(item, IPAddress) else item
        matches = [pool for pool in self.pools.values() if prefix_contains(pool.cidr, prefix)]
        return max(matches, key=lambda pool: pool.cidr.prefixlen, default=None)

    def vrf_table_id(self, network: str) -> int:
        """The VPP table id of a network; raises ``KeyError`` for an unknown network."""
        if network == DEFAULT_NETWORK:
            return DEFAULT_VRF_TABLE_ID
        return self.networks[network].vrf_table_id

    def network_of(self, pod: PodInterface | PodInterfaceKey) -> Network | None:
        """The secondary network of a pod interface; None for the default network.

        Raises ``KeyError`` for an unknown pod interface or network.
        """
        interface = self.pod_interfaces[pod] if isinstance(pod, PodInterfaceKey) else pod
        if interface.network == DEFAULT_NETWORK:
            return None
        return self.networks[interface.network]

    def vrf_table_id_of(self, pod: PodInterface | PodInterfaceKey) -> int:
        """The VPP table id the pod interface's routes live in."""
        interface = self.pod_interfaces[pod] if isinstance(pod, PodInterfaceKey) else pod
        return self.vrf_table_id(interface.network)

    def network_for_attachment(self, nad: NadRef) -> Network | None:
        """The network a Multus NetworkAttachmentDefinition selects, if any."""
        return next((n for n in self.networks.values() if nad in n.attachments), None)

    def pod_interfaces_in(self, network: str) -> tuple[PodInterface, ...]:
        """The local pod interfaces attached to ``network``, ordered by key."""
        return tuple(
            self.pod_interfaces[key]
            for key in sorted(self.pod_interfaces)
            if self.pod_interfaces[key].network == network
        )

    def pod_interfaces_of(self, namespace: str, pod: str) -> tuple[PodInterface, ...]:
        """All interfaces of one pod, ordered by interface name."""
        return tuple(
            self.pod_interfaces[key]
            for key in sorted(self.pod_interfaces)
            if key.namespace == namespace and key.pod == pod
        )

    def policy_for(self, pod: PodInterface | PodInterfaceKey) -> PolicyAssignment:
        """The policy of a local pod interface: the CNI's interface joined with Felix's endpoint.

        Felix's workload endpoint for the same (namespace, pod, interface) is
        authoritative; an interface Felix does not (yet) know keeps the
        assignment it was created with (empty unless a scenario file set one).
        Raises ``KeyError`` for an unknown pod interface key.
        """
        interface = self.pod_interfaces[pod] if isinstance(pod, PodInterfaceKey) else pod
        endpoint = self.workload_endpoints.get(interface.key)
        return interface.policy if endpoint is None else endpoint.policy
