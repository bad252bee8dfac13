"""Uniqueness: every name, key and id of the scenario designates one thing only."""

from __future__ import annotations

from agent.scenario import defaults
from agent.scenario.checks.common import FirstSeen
from agent.scenario.errors import Problems
from agent.scenario.schema import PodSpec, ScenarioSpec, ServiceSpec


def check_identity(spec: ScenarioSpec, problems: Problems) -> None:
    names = FirstSeen(problems, "node")
    for i, node in enumerate(spec.nodes):
        names.see(node.name, ("nodes", i, "name"), repr(node.name))
    names = FirstSeen(problems, "pool")
    for i, pool in enumerate(spec.pools):
        names.see(pool.name, ("pools", i, "name"), repr(pool.name))
    _check_networks(spec, problems)
    _check_pods(spec, problems)
    services = FirstSeen(problems, "service")
    node_ports = FirstSeen(problems, "nodePort")
    for i, service in enumerate(spec.services):
        services.see((service.namespace, service.name), ("services", i, "name"), _svc(service))
        _check_service_ports(service, ("services", i), problems)
        for j, port in enumerate(service.ports):
            if port.node_port is not None:
                label = f"{port.node_port}/{port.protocol}"
                node_ports.see(
                    (port.node_port, port.protocol), ("services", i, "ports", j, "nodePort"), label
                )
    policies = FirstSeen(problems, "policy")
    for i, policy in enumerate(spec.policies):
        label = f"{policy.namespace}/{policy.name}" if policy.namespace else policy.name
        policies.see(
            (policy.tier, policy.namespace, policy.name),
            ("policies", i, "name"),
            f"{label!r} in tier {policy.tier!r}",
        )
    profiles = FirstSeen(problems, "profile")
    for i, profile in enumerate(spec.profiles):
        profiles.see(profile.id, ("profiles", i, "id"), repr(profile.id))
    ip_sets = FirstSeen(problems, "IP set")
    for i, ip_set in enumerate(spec.ip_sets):
        ip_sets.see(ip_set.id, ("ipSets", i, "id"), repr(ip_set.id))


def _check_networks(spec: ScenarioSpec, problems: Problems) -> None:
    names = FirstSeen(problems, "network")
    vnis: dict[int, str] = {}
    tables: dict[int, str] = {}
    nads: dict[object, str] = {}
    for i, network in enumerate(spec.networks):
        names.see(network.name, ("networks", i, "name"), repr(network.name))
        if network.vni in vnis:
            problems.add(
                ("networks", i, "vni"),
                f"VNI {network.vni} is already used by network {vnis[network.vni]!r}",
            )
        vnis.setdefault(network.vni, network.name)
        table = defaults.vrf_table_id(network)
        if table in tables and network.vrf_table_id is not None:
            problems.add(
                ("networks", i, "vrfTableId"),
                f"VRF table {table} is already used by network {tables[table]!r}",
            )
        elif table in tables and vnis[network.vni] == network.name:
            problems.add(
                ("networks", i, "vni"),
                f"VRF table {table} (the VNI, as vrfTableId is not set) "
                f"is already used by network {tables[table]!r}",
            )
        tables.setdefault(table, network.name)
        for j, nad in enumerate(network.attachments):
            if nad in nads:
                problems.add(
                    ("networks", i, "attachments", j),
                    f"NAD {nad} is already mapped to network {nads[nad]!r}",
                )
            nads.setdefault(nad, network.name)


def _check_pods(spec: ScenarioSpec, problems: Problems) -> None:
    pods = FirstSeen(problems, "pod")
    netns = FirstSeen(problems, "netns")
    container_ids = FirstSeen(problems, "containerID")
    host_names = FirstSeen(problems, "host interface name")
    for i, pod in enumerate(spec.pods):
        pods.see((pod.namespace, pod.name), ("pods", i, "name"), f"{pod.namespace}/{pod.name}")
        netns.see(pod.netns, ("pods", i, "netns"), repr(pod.netns))
        if pod.container_id is not None:
            container_ids.see(pod.container_id, ("pods", i, "containerID"), repr(pod.container_id))
        _check_pod_interfaces(pod, i, problems)
        for j, interface in enumerate(pod.interfaces):
            name = interface.host_interface_name or defaults.host_interface_name(
                pod.namespace, pod.name, interface.name
            )
            field = "hostInterfaceName" if interface.host_interface_name else "name"
            host_names.see(name, ("pods", i, "interfaces", j, field), repr(name))


def _check_pod_interfaces(pod: PodSpec, i: int, problems: Problems) -> None:
    """Interfaces and extra memifs share the pod's netns (memif sockets are named after
    the interface there), so their names must all differ."""
    names = FirstSeen(problems, "interface name")
    for j, interface in enumerate(pod.interfaces):
        names.see(interface.name, ("pods", i, "interfaces", j, "name"), repr(interface.name))
    for j, interface in enumerate(pod.interfaces):
        for k, memif in enumerate(interface.extra_memifs):
            names.see(
                memif.name, ("pods", i, "interfaces", j, "extraMemifs", k, "name"), repr(memif.name)
            )
        tiers = FirstSeen(problems, "tier")
        for k, tier in enumerate(interface.policy.tiers):
            tiers.see(
                tier.name,
                ("pods", i, "interfaces", j, "policy", "tiers", k, "name"),
                repr(tier.name),
            )


def _check_service_ports(
    service: ServiceSpec, loc: tuple[str | int, ...], problems: Problems
) -> None:
    """Kubernetes' own rules: ports are told apart by name, and by port and protocol."""
    names = FirstSeen(problems, "port name")
    numbers = FirstSeen(problems, "port")
    for j, port in enumerate(service.ports):
        if len(service.ports) > 1 and not port.name:
            problems.add((*loc, "ports", j, "name"), "required when a service has several ports")
        elif port.name:
            names.see(port.name, (*loc, "ports", j, "name"), repr(port.name))
        numbers.see(
            (port.port, port.protocol), (*loc, "ports", j, "port"), f"{port.port}/{port.protocol}"
        )


def _svc(service: ServiceSpec) -> str:
    return f"{service.namespace}/{service.name}"
