"""Turning a checked scenario into the cluster model.

Runs only after the checks found nothing, so it may trust references; defaults come
from :mod:`agent.scenario.defaults`, the same place the checks took them from.
"""

from __future__ import annotations

from agent.model import (
    ETHERNET_TYPES,
    ClusterModel,
    EncapMode,
    ExtraMemif,
    HostPort,
    IcmpMatch,
    InterfaceType,
    IpPool,
    IpSet,
    IpSetType,
    IpVersion,
    L4Protocol,
    LbType,
    MemifMode,
    MemifRole,
    Network,
    Node,
    PodBlock,
    PodInterface,
    PodInterfaceKey,
    Policy,
    PolicyAssignment,
    PolicyId,
    Profile,
    Rule,
    RuleAction,
    RxMode,
    Service,
    ServiceEndpoint,
    ServicePort,
    ServiceType,
    SessionAffinity,
    TierAssignment,
    TrafficPolicy,
    ethernet_mac,
)
from agent.model.services import DEFAULT_SESSION_AFFINITY_TIMEOUT
from agent.scenario import defaults
from agent.scenario.ports import parse_ip_set_member
from agent.scenario.schema import (
    IcmpSpec,
    InterfaceSpec,
    NetworkSpec,
    PodSpec,
    PolicyAssignmentSpec,
    RuleSpec,
    ScenarioSpec,
    ServiceSpec,
)

PolicyIds = dict[tuple[str, str, str], PolicyId]
"""Declared policies by the (tier, namespace, name) a tier reference resolves."""


def build_model(spec: ScenarioSpec) -> ClusterModel:
    networks = {network.name: network for network in spec.networks}
    policy_ids = {
        (p.tier, p.namespace, p.name): PolicyId(p.tier, p.name, p.namespace, p.kind)
        for p in spec.policies
    }
    return ClusterModel.build(
        spec.local_node,
        nodes=[
            Node(
                name=node.name,
                addresses=tuple(node.addresses),
                pod_blocks=tuple(PodBlock(b.cidr, b.network) for b in node.pod_blocks),
                asn=node.asn,
                uplink_interface=node.uplink_interface,
            )
            for node in spec.nodes
        ],
        pools=[
            IpPool(
                name=pool.name,
                cidr=pool.cidr,
                block_size=defaults.block_size(pool),
                ipip_mode=EncapMode(pool.ipip_mode),
                vxlan_mode=EncapMode(pool.vxlan_mode),
                nat_outgoing=pool.nat_outgoing,
                disabled=pool.disabled,
                network=pool.network,
            )
            for pool in spec.pools
        ],
        networks=[_network(network) for network in spec.networks],
        pod_interfaces=[
            _pod_interface(pod, interface, networks.get(interface.network), policy_ids)
            for pod in spec.pods
            for interface in pod.interfaces
        ],
        services=[_service(service) for service in spec.services],
        policies=[
            Policy(
                id=PolicyId(p.tier, p.name, p.namespace, p.kind),
                ingress_rules=tuple(_rule(rule) for rule in p.ingress),
                egress_rules=tuple(_rule(rule) for rule in p.egress),
                order=p.order,
                pre_dnat=p.pre_dnat,
                untracked=p.untracked,
            )
            for p in spec.policies
        ],
        profiles=[
            Profile(
                id=p.id,
                ingress_rules=tuple(_rule(rule) for rule in p.ingress),
                egress_rules=tuple(_rule(rule) for rule in p.egress),
            )
            for p in spec.profiles
        ],
        ip_sets=[
            IpSet(
                id=s.id,
                type=IpSetType(s.set_type),
                members=frozenset(parse_ip_set_member(IpSetType(s.set_type), m) for m in s.members),
            )
            for s in spec.ip_sets
        ],
    )


def _network(network: NetworkSpec) -> Network:
    return Network(
        name=network.name,
        vni=network.vni,
        ranges=tuple(network.ranges),
        table_id=network.vrf_table_id,
        attachments=tuple(network.attachments),
        physical_network=network.physical_network,
    )


def _pod_interface(
    pod: PodSpec,
    interface: InterfaceSpec,
    network: NetworkSpec | None,
    policy_ids: PolicyIds,
) -> PodInterface:
    key = PodInterfaceKey(pod.namespace, pod.name, interface.name)
    kind = InterfaceType(interface.interface_type)
    return PodInterface(
        key=key,
        container_id=pod.container_id or defaults.container_id(pod.namespace, pod.name),
        netns=pod.netns,
        host_interface_name=interface.host_interface_name
        or defaults.host_interface_name(pod.namespace, pod.name, interface.name),
        addresses=tuple(interface.addresses),
        network=interface.network,
        interface_type=kind,
        routes=tuple(defaults.pod_routes(interface, network)),
        mtu=interface.mtu,
        rx_queues=interface.rx_queues,
        tx_queues=interface.tx_queues,
        queue_size=interface.queue_size,
        rx_mode=RxMode(interface.rx_mode),
        extra_memifs=tuple(
            ExtraMemif(
                name=m.name,
                rx_queues=m.rx_queues,
                tx_queues=m.tx_queues,
                queue_size=m.queue_size,
                role=MemifRole(m.role),
                mode=MemifMode(m.mode),
                steered_ports=tuple(m.ports),
            )
            for m in interface.extra_memifs
        ),
        allowed_source_prefixes=tuple(interface.allowed_source_prefixes),
        host_ports=tuple(
            HostPort(L4Protocol(h.protocol), h.container_port, h.host_port, h.host_ip)
            for h in interface.host_ports
        ),
        policy=_policy_assignment(interface.policy, policy_ids),
        mac=ethernet_mac(key) if kind in ETHERNET_TYPES else None,
    )


def _policy_assignment(policy: PolicyAssignmentSpec, policy_ids: PolicyIds) -> PolicyAssignment:
    """Tier references name a policy within the tier; the model holds its full id."""
    return PolicyAssignment(
        tiers=tuple(
            TierAssignment(
                name=tier.name,
                ingress_policies=tuple(policy_ids[(tier.name, ns, n)] for ns, n in tier.ingress),
                egress_policies=tuple(policy_ids[(tier.name, ns, n)] for ns, n in tier.egress),
                default_action=RuleAction(tier.default_action),
            )
            for tier in policy.tiers
        ),
        profile_ids=tuple(policy.profiles),
    )


def _service(service: ServiceSpec) -> Service:
    return Service(
        namespace=service.namespace,
        name=service.name,
        service_type=ServiceType(service.service_type),
        network=service.network,
        cluster_ips=tuple(service.cluster_ips),
        external_ips=tuple(service.external_ips),
        load_balancer_ips=tuple(service.load_balancer_ips),
        ports=tuple(
            ServicePort(
                port=p.port,
                target_port=defaults.target_port(p),
                protocol=L4Protocol(p.protocol),
                name=p.name,
                node_port=p.node_port,
            )
            for p in service.ports
        ),
        session_affinity=SessionAffinity(service.session_affinity),
        session_affinity_timeout=service.session_affinity_timeout
        or DEFAULT_SESSION_AFFINITY_TIMEOUT,
        external_traffic_policy=TrafficPolicy(service.external_traffic_policy),
        internal_traffic_policy=TrafficPolicy(service.internal_traffic_policy),
        lb_type=LbType(service.lb_type),
        endpoints=tuple(
            ServiceEndpoint(
                addresses=tuple(e.addresses),
                ports=tuple(defaults.endpoint_ports(e, service)),
                node=e.node,
                ready=e.ready,
                serving=e.ready if e.serving is None else e.serving,
                terminating=e.terminating,
            )
            for e in service.endpoints
        ),
    )


def _icmp(icmp: IcmpSpec | None) -> IcmpMatch | None:
    return None if icmp is None else IcmpMatch(icmp.icmp_type, icmp.code)


def _rule(rule: RuleSpec) -> Rule:
    return Rule(
        action=RuleAction(rule.action),
        ip_version=None if rule.ip_version is None else IpVersion(rule.ip_version),
        protocol=rule.protocol,
        not_protocol=rule.not_protocol,
        src_nets=tuple(rule.src_nets),
        not_src_nets=tuple(rule.not_src_nets),
        dst_nets=tuple(rule.dst_nets),
        not_dst_nets=tuple(rule.not_dst_nets),
        src_ports=tuple(rule.src_ports),
        not_src_ports=tuple(rule.not_src_ports),
        dst_ports=tuple(rule.dst_ports),
        not_dst_ports=tuple(rule.not_dst_ports),
        src_named_port_ip_set_ids=tuple(rule.src_named_port_ip_set_ids),
        not_src_named_port_ip_set_ids=tuple(rule.not_src_named_port_ip_set_ids),
        dst_named_port_ip_set_ids=tuple(rule.dst_named_port_ip_set_ids),
        not_dst_named_port_ip_set_ids=tuple(rule.not_dst_named_port_ip_set_ids),
        src_ip_set_ids=tuple(rule.src_ip_set_ids),
        not_src_ip_set_ids=tuple(rule.not_src_ip_set_ids),
        dst_ip_set_ids=tuple(rule.dst_ip_set_ids),
        not_dst_ip_set_ids=tuple(rule.not_dst_ip_set_ids),
        dst_ip_port_set_ids=tuple(rule.dst_ip_port_set_ids),
        icmp=_icmp(rule.icmp),
        not_icmp=_icmp(rule.not_icmp),
        network=rule.network,
    )
