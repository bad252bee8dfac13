"""Values a scenario may leave out, derived the way the real sources would fill them.

Both the checks and the model builder use these, so that a duplicate or a conflict
is found in exactly the value the model will hold.
"""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Network, IPv6Network

from agent.model import DEFAULT_NETWORK, EndpointPort, IPNetwork, L4Protocol
from agent.scenario.schema import (
    EndpointSpec,
    InterfaceSpec,
    NetworkSpec,
    PoolSpec,
    ServicePortSpec,
    ServiceSpec,
)

DEFAULT_ROUTES: dict[int, IPNetwork] = {4: IPv4Network("0.0.0.0/0"), 6: IPv6Network("::/0")}
DEFAULT_BLOCK_SIZES = {4: 26, 6: 122}
"""Calico's default IPPool block sizes."""


def host_interface_name(namespace: str, pod: str, interface: str) -> str:
    """Calico's own name for ``eth0`` (``cali`` + 11 hex digits of SHA-1 of ``ns.pod``),
    extended with the interface name for additional interfaces so that names stay
    unique per node."""
    seed = f"{namespace}.{pod}" if interface == "eth0" else f"{namespace}.{pod}.{interface}"
    return "cali" + hashlib.sha1(seed.encode()).hexdigest()[:11]


def container_id(namespace: str, pod: str) -> str:
    """A stable, container-runtime-shaped id (64 hex digits) for a pod."""
    return hashlib.sha256(f"{namespace}/{pod}".encode()).hexdigest()


def block_size(pool: PoolSpec) -> int:
    return (
        pool.block_size if pool.block_size is not None else DEFAULT_BLOCK_SIZES[pool.cidr.version]
    )


def vrf_table_id(network: NetworkSpec) -> int:
    return network.vni if network.vrf_table_id is None else network.vrf_table_id


def pod_routes(interface: InterfaceSpec, network: NetworkSpec | None) -> list[IPNetwork]:
    """The routes Calico's CNI would install in the pod when none are given.

    The default route stays on the default network (multinet has no per-network default
    route); a secondary interface routes its network's range, per family it has.
    """
    if interface.routes is not None:
        return list(interface.routes)
    versions = sorted({address.version for address in interface.addresses})
    if interface.network == DEFAULT_NETWORK or network is None:
        return [DEFAULT_ROUTES[version] for version in versions]
    return [r for r in network.ranges if r.version in versions]


def target_port(port: ServicePortSpec) -> int | str:
    return port.port if port.target_port is None else port.target_port


def endpoint_ports(endpoint: EndpointSpec, service: ServiceSpec) -> list[EndpointPort]:
    """An endpoint's ports: as given, else the service's numeric target ports."""
    if endpoint.ports is not None:
        return [EndpointPort(p.port, L4Protocol(p.protocol), p.name) for p in endpoint.ports]
    return [
        EndpointPort(target, L4Protocol(p.protocol), p.name)
        for p in service.ports
        if isinstance(target := target_port(p), int)
    ]
