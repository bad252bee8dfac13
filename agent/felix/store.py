"""Everything one Felix connection has told us, typed and keyed as Felix keys it.

Each ``ToDataplane`` payload has one handler that converts the message and
updates the store, recording the model-visible effect in a
:class:`~agent.felix.changes.ChangeSet`. A message that does not convert
raises :class:`ConversionError` *before* anything is changed, so a bad update
leaves the previous version in force. Payloads the model has no place for yet
(namespaces, service accounts, services, WireGuard, BGP, encapsulation) are
kept as Felix sent them so later plugins can use them without a protocol change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from google.protobuf.message import Message

from agent.felix import convert, convert_policy
from agent.felix.changes import ChangeSet
from agent.felix.convert_policy import ConversionError
from agent.felix.hosts import HostRecord, HostSlots, HostView, host_record
from agent.model import (
    CalicoRoute,
    HostEndpoint,
    IPNetwork,
    IpPool,
    IpSet,
    PodInterfaceKey,
    Policy,
    PolicyId,
    Profile,
    VxlanTunnelEndpoint,
    WorkloadEndpoint,
)
from agent.proto_gen import felixbackend_pb2 as pb

EndpointTriple = tuple[str, str, str]


@dataclass
class FelixStore:
    config: dict[str, str] = field(default_factory=dict)
    config_sources: dict[str, dict[str, str]] = field(default_factory=dict)
    ip_sets: dict[str, IpSet] = field(default_factory=dict)
    policies: dict[PolicyId, Policy] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)
    workload_endpoints: dict[PodInterfaceKey, WorkloadEndpoint] = field(default_factory=dict)
    endpoint_messages: dict[PodInterfaceKey, pb.WorkloadEndpoint] = field(default_factory=dict)
    foreign_endpoints: dict[EndpointTriple, pb.WorkloadEndpoint] = field(default_factory=dict)
    host_endpoints: dict[str, HostEndpoint] = field(default_factory=dict)
    pools: dict[str, IpPool] = field(default_factory=dict)
    hosts: dict[str, HostSlots] = field(default_factory=dict)
    routes: dict[IPNetwork, CalicoRoute] = field(default_factory=dict)
    blocks_by_node: dict[str, set[IPNetwork]] = field(default_factory=dict)
    vteps: dict[str, VxlanTunnelEndpoint] = field(default_factory=dict)
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    service_accounts: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    services: dict[tuple[str, str], pb.ServiceUpdate] = field(default_factory=dict)
    wireguard: dict[str, pb.WireguardEndpointUpdate] = field(default_factory=dict)
    wireguard_v6: dict[str, pb.WireguardEndpointV6Update] = field(default_factory=dict)
    encapsulation: pb.Encapsulation | None = None
    global_bgp: pb.GlobalBGPConfigUpdate | None = None
    problems: list[str] = field(default_factory=list)  # non-fatal, drained by the caller

    def apply(self, kind: str, message: Message, changes: ChangeSet) -> None:
        """Apply one payload; raises ConversionError (store unchanged) for a bad one."""
        HANDLERS[kind](self, message, changes)

    def host_view(self, name: str) -> HostView | None:
        """Felix's view of a node, or None when Felix knows nothing of it."""
        slots = self.hosts.get(name)
        record = slots.merged() if slots else None
        blocks = tuple(sorted(self.blocks_by_node.get(name, ()), key=str))
        if record is None and not blocks:
            return None
        record = record or HostRecord()
        addresses = tuple(a for a in (record.ipv4, record.ipv6) if a is not None)
        return HostView(addresses=addresses, asn=record.asn, blocks=blocks)

    def node_names(self) -> set[str]:
        return set(self.hosts) | set(self.blocks_by_node)

    # ---- config ----------------------------------------------------------------

    def _config(self, m: pb.ConfigUpdate, changes: ChangeSet) -> None:
        self.config = dict(m.config)
        self.config_sources = {
            raw.source or str(number): dict(raw.config)
            for number, raw in m.source_to_raw_config.items()
        }
        changes.config = True

    # ---- IP sets, policies, profiles -----------------------------------------------

    def _ipset_update(self, m: pb.IPSetUpdate, changes: ChangeSet) -> None:
        kind = convert.ip_set_type(m.type, f"IP set {m.id}")
        members = convert.ip_set_members(m.id, kind, m.members, self.problems)
        self._put_ip_set(convert.ip_set(m.id, kind, members), changes)

    def _ipset_delta(self, m: pb.IPSetDeltaUpdate, changes: ChangeSet) -> None:
        current = self.ip_sets.get(m.id)
        if current is None:
            raise ConversionError(f"IP set {m.id}: delta update for a set never sent")
        removed = convert.ip_set_members(m.id, current.type, m.removed_members, self.problems)
        added = convert.ip_set_members(m.id, current.type, m.added_members, self.problems)
        members = (current.members - removed) | added
        self._put_ip_set(convert.ip_set(m.id, current.type, members), changes)

    def _put_ip_set(self, ip_set: IpSet, changes: ChangeSet) -> None:
        self.ip_sets[ip_set.id] = ip_set
        changes.ip_sets.put(ip_set.id, ip_set)

    def _ipset_remove(self, m: pb.IPSetRemove, changes: ChangeSet) -> None:
        self.ip_sets.pop(m.id, None)
        changes.ip_sets.remove(m.id)

    def _policy_update(self, m: pb.ActivePolicyUpdate, changes: ChangeSet) -> None:
        policy = convert_policy.policy(m)
        self.policies[policy.id] = policy
        changes.policies.put(policy.id, policy)

    def _policy_remove(self, m: pb.ActivePolicyRemove, changes: ChangeSet) -> None:
        pid = convert_policy.policy_id(m.id)
        self.policies.pop(pid, None)
        changes.policies.remove(pid)

    def _profile_update(self, m: pb.ActiveProfileUpdate, changes: ChangeSet) -> None:
        profile = convert_policy.profile(m)
        self.profiles[profile.id] = profile
        changes.profiles.put(profile.id, profile)

    def _profile_remove(self, m: pb.ActiveProfileRemove, changes: ChangeSet) -> None:
        self.profiles.pop(m.id.name, None)
        changes.profiles.remove(m.id.name)

    # ---- endpoints -------------------------------------------------------------------

    def _workload_update(self, m: pb.WorkloadEndpointUpdate, changes: ChangeSet) -> None:
        key = convert.pod_key(m.id)
        if key is None:
            triple = (m.id.orchestrator_id, m.id.workload_id, m.id.endpoint_id)
            if triple not in self.foreign_endpoints:
                self.problems.append(
                    f"{convert.describe_endpoint(m.id)}: not a Kubernetes pod interface; "
                    "kept, but no CNI interface can match it"
                )
            self.foreign_endpoints[triple] = m.endpoint
            return
        endpoint = convert.workload_endpoint(key, m)
        self.workload_endpoints[key] = endpoint
        self.endpoint_messages[key] = m.endpoint
        changes.workload_endpoints.put(key, endpoint)

    def _workload_remove(self, m: pb.WorkloadEndpointRemove, changes: ChangeSet) -> None:
        key = convert.pod_key(m.id)
        if key is None:
            triple = (m.id.orchestrator_id, m.id.workload_id, m.id.endpoint_id)
            self.foreign_endpoints.pop(triple, None)
            return
        self.workload_endpoints.pop(key, None)
        self.endpoint_messages.pop(key, None)
        changes.workload_endpoints.remove(key)

    def _host_endpoint_update(self, m: pb.HostEndpointUpdate, changes: ChangeSet) -> None:
        endpoint = convert.host_endpoint(m)
        self.host_endpoints[endpoint.id] = endpoint
        changes.host_endpoints.put(endpoint.id, endpoint)

    def _host_endpoint_remove(self, m: pb.HostEndpointRemove, changes: ChangeSet) -> None:
        self.host_endpoints.pop(m.id.endpoint_id, None)
        changes.host_endpoints.remove(m.id.endpoint_id)

    # ---- pools, hosts, routes, VTEPs -------------------------------------------------------

    def _pool_update(self, m: pb.IPAMPoolUpdate, changes: ChangeSet) -> None:
        pool = convert.pool(m)
        self.pools[pool.name] = pool
        changes.pools.put(pool.name, pool)

    def _pool_remove(self, m: pb.IPAMPoolRemove, changes: ChangeSet) -> None:
        self.pools.pop(m.id, None)
        changes.pools.remove(m.id)

    def _host_update(self, slot: str, m: Any, changes: ChangeSet) -> None:
        record = host_record(m)
        setattr(self.hosts.setdefault(m.hostname, HostSlots()), slot, record)
        changes.nodes.add(m.hostname)

    def _host_remove(self, slot: str, m: Any, changes: ChangeSet) -> None:
        slots = self.hosts.get(m.hostname)
        if slots is None:
            return
        setattr(slots, slot, None)
        if slots.main is None and slots.v6 is None and slots.v4v6 is None:
            del self.hosts[m.hostname]
        changes.nodes.add(m.hostname)

    def _route_update(self, m: pb.RouteUpdate, changes: ChangeSet) -> None:
        new = convert.route(m)
        self._forget_block(self.routes.get(new.dst), changes)
        self.routes[new.dst] = new
        if new.is_workload_block:
            self.blocks_by_node.setdefault(new.node, set()).add(new.dst)
            changes.nodes.add(new.node)
        changes.routes.put(new.dst, new)

    def _route_remove(self, m: pb.RouteRemove, changes: ChangeSet) -> None:
        (dst,) = convert_policy.networks((m.dst,), f"route {m.dst} dst")
        self._forget_block(self.routes.pop(dst, None), changes)
        changes.routes.remove(dst)

    def _forget_block(self, old: CalicoRoute | None, changes: ChangeSet) -> None:
        if old is None or not old.is_workload_block:
            return
        blocks = self.blocks_by_node.get(old.node, set())
        blocks.discard(old.dst)
        if not blocks:
            self.blocks_by_node.pop(old.node, None)
        changes.nodes.add(old.node)

    def _vtep_update(self, m: pb.VXLANTunnelEndpointUpdate, changes: ChangeSet) -> None:
        vtep = convert.vtep(m)
        self.vteps[vtep.node] = vtep
        changes.vteps.put(vtep.node, vtep)

    def _vtep_remove(self, m: pb.VXLANTunnelEndpointRemove, changes: ChangeSet) -> None:
        self.vteps.pop(m.node, None)
        changes.vteps.remove(m.node)

    # ---- kept as sent ------------------------------------------------------------------------

    def _namespace(self, m: pb.NamespaceUpdate, changes: ChangeSet) -> None:
        self.namespaces[m.id.name] = dict(m.labels)

    def _namespace_remove(self, m: pb.NamespaceRemove, changes: ChangeSet) -> None:
        self.namespaces.pop(m.id.name, None)

    def _service_account(self, m: pb.ServiceAccountUpdate, changes: ChangeSet) -> None:
        self.service_accounts[(m.id.namespace, m.id.name)] = dict(m.labels)

    def _service_account_remove(self, m: pb.ServiceAccountRemove, changes: ChangeSet) -> None:
        self.service_accounts.pop((m.id.namespace, m.id.name), None)

    def _service(self, m: pb.ServiceUpdate, changes: ChangeSet) -> None:
        self.services[(m.namespace, m.name)] = m

    def _service_remove(self, m: pb.ServiceRemove, changes: ChangeSet) -> None:
        self.services.pop((m.namespace, m.name), None)

    def _wireguard(self, m: pb.WireguardEndpointUpdate, changes: ChangeSet) -> None:
        self.wireguard[m.hostname] = m

    def _wireguard_remove(self, m: pb.WireguardEndpointRemove, changes: ChangeSet) -> None:
        self.wireguard.pop(m.hostname, None)

    def _wireguard_v6(self, m: pb.WireguardEndpointV6Update, changes: ChangeSet) -> None:
        self.wireguard_v6[m.hostname] = m

    def _wireguard_v6_remove(self, m: pb.WireguardEndpointV6Remove, changes: ChangeSet) -> None:
        self.wireguard_v6.pop(m.hostname, None)

    def _encapsulation(self, m: pb.Encapsulation, changes: ChangeSet) -> None:
        self.encapsulation = m

    def _global_bgp(self, m: pb.GlobalBGPConfigUpdate, changes: ChangeSet) -> None:
        self.global_bgp = m

    def _in_sync(self, m: pb.InSync, changes: ChangeSet) -> None:
        """The marker itself changes nothing; the sync state machine acts on it."""


def _slot(method: Callable[[FelixStore, str, Any, ChangeSet], None], slot: str) -> Handler:
    return lambda store, message, changes: method(store, slot, message, changes)


Handler = Callable[[FelixStore, Any, ChangeSet], None]

HANDLERS: Final[dict[str, Handler]] = {
    "in_sync": FelixStore._in_sync,
    "config_update": FelixStore._config,
    "ipset_update": FelixStore._ipset_update,
    "ipset_delta_update": FelixStore._ipset_delta,
    "ipset_remove": FelixStore._ipset_remove,
    "active_policy_update": FelixStore._policy_update,
    "active_policy_remove": FelixStore._policy_remove,
    "active_profile_update": FelixStore._profile_update,
    "active_profile_remove": FelixStore._profile_remove,
    "workload_endpoint_update": FelixStore._workload_update,
    "workload_endpoint_remove": FelixStore._workload_remove,
    "host_endpoint_update": FelixStore._host_endpoint_update,
    "host_endpoint_remove": FelixStore._host_endpoint_remove,
    "ipam_pool_update": FelixStore._pool_update,
    "ipam_pool_remove": FelixStore._pool_remove,
    "host_metadata_update": _slot(FelixStore._host_update, "main"),
    "host_metadata_remove": _slot(FelixStore._host_remove, "main"),
    "host_metadata_v6_update": _slot(FelixStore._host_update, "v6"),
    "host_metadata_v6_remove": _slot(FelixStore._host_remove, "v6"),
    "host_metadata_v4v6_update": _slot(FelixStore._host_update, "v4v6"),
    "host_metadata_v4v6_remove": _slot(FelixStore._host_remove, "v4v6"),
    "route_update": FelixStore._route_update,
    "route_remove": FelixStore._route_remove,
    "vtep_update": FelixStore._vtep_update,
    "vtep_remove": FelixStore._vtep_remove,
    "namespace_update": FelixStore._namespace,
    "namespace_remove": FelixStore._namespace_remove,
    "service_account_update": FelixStore._service_account,
    "service_account_remove": FelixStore._service_account_remove,
    "service_update": FelixStore._service,
    "service_remove": FelixStore._service_remove,
    "wireguard_endpoint_update": FelixStore._wireguard,
    "wireguard_endpoint_remove": FelixStore._wireguard_remove,
    "wireguard_endpoint_v6_update": FelixStore._wireguard_v6,
    "wireguard_endpoint_v6_remove": FelixStore._wireguard_v6_remove,
    "encapsulation": FelixStore._encapsulation,
    "global_bgp_config_update": FelixStore._global_bgp,
}
"""One handler per ToDataplane payload (tests check every payload has one)."""
