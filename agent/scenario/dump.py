"""Writing a cluster model back as a scenario.

Lets a live agent's model be captured as a reproducible scenario (for a bug report or
a test), and gives the loader a strong test: ``parse(dump(model)) == model``. Derived
values are written out, so the dump does not depend on today's defaults.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from agent.model import (
    ClusterModel,
    IcmpMatch,
    IpPool,
    Network,
    Node,
    PodInterface,
    Policy,
    PolicyAssignment,
    Rule,
    Service,
    SessionAffinity,
)

Document = dict[str, Any]


def dump_scenario(model: ClusterModel) -> str:
    """The model as scenario YAML; ``ValueError`` if it holds what a scenario cannot say."""
    return yaml.safe_dump(scenario_document(model), sort_keys=False, allow_unicode=True)


def scenario_document(model: ClusterModel) -> Document:
    return _compact(
        {
            "localNode": model.local_node_name,
            "nodes": [_node(node) for node in model.nodes.values()],
            "pools": [_pool(pool) for pool in model.pools.values()],
            "networks": [_network(network) for network in model.networks.values()],
            "pods": _pods(model.pod_interfaces.values()),
            "services": [_service(service) for service in model.services.values()],
            "policies": [_policy(policy) for policy in model.policies.values()],
            "profiles": [
                {"id": p.id, "ingress": _rules(p.ingress_rules), "egress": _rules(p.egress_rules)}
                for p in model.profiles.values()
            ],
            "ipSets": [
                {"id": s.id, "type": str(s.type), "members": sorted(str(m) for m in s.members)}
                for s in model.ip_sets.values()
            ],
        }
    )


def _compact(document: Document, keep: tuple[str, ...] = ()) -> Document:
    """Drop empty lists, empty strings and unset optionals, whose defaults say the same;
    ``keep`` names the lists whose absence would mean "derive a default" instead."""
    return {
        key: value
        for key, value in document.items()
        if key in keep or (value is not None and not (isinstance(value, list | str) and not value))
    }


def _strings(items: Iterable[object]) -> list[str]:
    return [str(item) for item in items]


def _node(node: Node) -> Document:
    return _compact(
        {
            "name": node.name,
            "addresses": _strings(node.addresses),
            "podBlocks": [
                _compact({"cidr": str(b.cidr), "network": b.network}) for b in node.pod_blocks
            ],
            "asn": node.asn,
            "uplinkInterface": node.uplink_interface,
        }
    )


def _pool(pool: IpPool) -> Document:
    return {
        "name": pool.name,
        "cidr": str(pool.cidr),
        "blockSize": pool.block_size,
        "ipipMode": str(pool.ipip_mode),
        "vxlanMode": str(pool.vxlan_mode),
        "natOutgoing": pool.nat_outgoing,
        "disabled": pool.disabled,
        "network": pool.network,
    }


def _network(network: Network) -> Document:
    return _compact(
        {
            "name": network.name,
            "vni": network.vni,
            "ranges": _strings(network.ranges),
            "vrfTableId": network.table_id,
            "attachments": _strings(network.attachments),
            "physicalNetwork": network.physical_network,
        }
    )


def _pods(interfaces: Iterable[PodInterface]) -> list[Document]:
    """Interfaces regrouped by pod: a scenario states netns and container once per pod."""
    pods: dict[tuple[str, str], Document] = {}
    for interface in sorted(interfaces, key=lambda i: i.key):
        key = (interface.key.namespace, interface.key.pod)
        pod = pods.setdefault(
            key,
            {
                "namespace": key[0],
                "name": key[1],
                "containerID": interface.container_id,
                "netns": interface.netns,
                "interfaces": [],
            },
        )
        if (pod["containerID"], pod["netns"]) != (interface.container_id, interface.netns):
            raise ValueError(f"interfaces of pod {key[0]}/{key[1]} disagree on container or netns")
        pod["interfaces"].append(_interface(interface))
    return list(pods.values())


def _interface(interface: PodInterface) -> Document:
    return _compact(
        {
            "name": interface.key.interface,
            "network": interface.network,
            "type": str(interface.interface_type),
            "hostInterfaceName": interface.host_interface_name,
            "addresses": _strings(interface.addresses),
            "routes": _strings(interface.routes),
            "mtu": interface.mtu,
            "rxQueues": interface.rx_queues,
            "txQueues": interface.tx_queues,
            "queueSize": interface.queue_size,
            "rxMode": str(interface.rx_mode),
            "extraMemifs": [
                {
                    "name": m.name,
                    "rxQueues": m.rx_queues,
                    "txQueues": m.tx_queues,
                    "queueSize": m.queue_size,
                    "role": str(m.role),
                    "mode": str(m.mode),
                    "ports": [
                        f"{s.protocol.lower()}:{s.ports.first}-{s.ports.last}"
                        for s in m.steered_ports
                    ],
                }
                for m in interface.extra_memifs
            ],
            "allowedSourcePrefixes": _strings(interface.allowed_source_prefixes),
            "hostPorts": [
                _compact(
                    {
                        "containerPort": h.container_port,
                        "hostPort": h.host_port,
                        "protocol": str(h.protocol),
                        "hostIP": None if h.host_ip is None else str(h.host_ip),
                    }
                )
                for h in interface.host_ports
            ],
            "policy": _assignment(interface.policy) or None,
        },
        keep=("routes",),
    )


def _assignment(policy: PolicyAssignment) -> Document:
    tiers = []
    for tier in policy.tiers:
        refs = {}
        for direction, ids in (
            ("ingress", tier.ingress_policies),
            ("egress", tier.egress_policies),
        ):
            if any(policy_id.tier != tier.name for policy_id in ids):
                raise ValueError(f"tier {tier.name!r} lists a policy of another tier")
            refs[direction] = [f"{i.namespace}/{i.name}" if i.namespace else i.name for i in ids]
        tiers.append({"name": tier.name, **refs, "defaultAction": str(tier.default_action)})
    return _compact({"tiers": tiers, "profiles": list(policy.profile_ids)})


def _service(service: Service) -> Document:
    client_ip = service.session_affinity is SessionAffinity.CLIENT_IP
    return _compact(
        {
            "namespace": service.namespace,
            "name": service.name,
            "network": service.network,
            "type": str(service.service_type),
            "clusterIPs": _strings(service.cluster_ips),
            "externalIPs": _strings(service.external_ips),
            "loadBalancerIPs": _strings(service.load_balancer_ips),
            "ports": [
                _compact(
                    {
                        "name": p.name,
                        "protocol": str(p.protocol),
                        "port": p.port,
                        "targetPort": p.target_port,
                        "nodePort": p.node_port,
                    }
                )
                for p in service.ports
            ],
            "sessionAffinity": str(service.session_affinity),
            "sessionAffinityTimeout": service.session_affinity_timeout if client_ip else None,
            "externalTrafficPolicy": str(service.external_traffic_policy),
            "internalTrafficPolicy": str(service.internal_traffic_policy),
            "lbType": str(service.lb_type),
            "endpoints": [
                _compact(
                    {
                        "addresses": _strings(e.addresses),
                        "node": e.node,
                        "ready": e.ready,
                        "serving": e.serving,
                        "terminating": e.terminating,
                        "ports": [
                            _compact({"name": p.name, "protocol": str(p.protocol), "port": p.port})
                            for p in e.ports
                        ],
                    },
                    keep=("ports",),
                )
                for e in service.endpoints
            ],
        }
    )


def _policy(policy: Policy) -> Document:
    return _compact(
        {
            "tier": policy.id.tier,
            "name": policy.id.name,
            "namespace": policy.id.namespace,
            "kind": policy.id.kind,
            "order": policy.order,
            "ingress": _rules(policy.ingress_rules),
            "egress": _rules(policy.egress_rules),
            "preDNAT": policy.pre_dnat,
            "untracked": policy.untracked,
        }
    )


def _icmp(icmp: IcmpMatch | None) -> Document | None:
    return None if icmp is None else _compact({"type": icmp.type, "code": icmp.code})


def _rules(rules: Iterable[Rule]) -> list[Document]:
    return [
        _compact(
            {
                "action": str(r.action),
                "ipVersion": None if r.ip_version is None else int(r.ip_version),
                "protocol": r.protocol,
                "notProtocol": r.not_protocol,
                "srcNets": _strings(r.src_nets),
                "notSrcNets": _strings(r.not_src_nets),
                "dstNets": _strings(r.dst_nets),
                "notDstNets": _strings(r.not_dst_nets),
                "srcPorts": _strings(r.src_ports),
                "notSrcPorts": _strings(r.not_src_ports),
                "dstPorts": _strings(r.dst_ports),
                "notDstPorts": _strings(r.not_dst_ports),
                "srcNamedPortIpSetIds": list(r.src_named_port_ip_set_ids),
                "notSrcNamedPortIpSetIds": list(r.not_src_named_port_ip_set_ids),
                "dstNamedPortIpSetIds": list(r.dst_named_port_ip_set_ids),
                "notDstNamedPortIpSetIds": list(r.not_dst_named_port_ip_set_ids),
                "srcIpSetIds": list(r.src_ip_set_ids),
                "notSrcIpSetIds": list(r.not_src_ip_set_ids),
                "dstIpSetIds": list(r.dst_ip_set_ids),
                "notDstIpSetIds": list(r.not_dst_ip_set_ids),
                "dstIpPortSetIds": list(r.dst_ip_port_set_ids),
                "icmp": _icmp(r.icmp),
                "notIcmp": _icmp(r.not_icmp),
                "network": r.network,
            }
        )
        for r in rules
    ]
