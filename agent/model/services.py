"""Kubernetes Services and their endpoints, per network.

A Service in a secondary network load-balances to that network's pod addresses and is
reachable only from inside it, so the network is part of the service, not a detail of
its endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from agent.model.base import DEFAULT_NETWORK, IPAddress, L4Protocol


class ServiceType(StrEnum):
    CLUSTER_IP = "ClusterIP"
    NODE_PORT = "NodePort"
    LOAD_BALANCER = "LoadBalancer"


class SessionAffinity(StrEnum):
    NONE = "None"
    CLIENT_IP = "ClientIP"


class TrafficPolicy(StrEnum):
    """``Local`` keeps traffic on endpoints of the receiving node (and the client source
    address with it); ``Cluster`` spreads it over all endpoints."""

    CLUSTER = "Cluster"
    LOCAL = "Local"


class LbType(StrEnum):
    """calico-vpp's ``vppLBType`` service annotation: how cnat picks a backend."""

    ECMP = "ecmp"
    MAGLEV = "maglev"
    MAGLEV_DSR = "maglevdsr"


DEFAULT_SESSION_AFFINITY_TIMEOUT = 10800
"""Kubernetes' default ``sessionAffinityConfig.clientIP.timeoutSeconds`` (3 hours)."""


class ServiceKey(NamedTuple):
    """A tuple, not a dataclass: the model's services dict is keyed by it, and every copy,
    lookup and comparison of 10,000 services hashes it (C speed for a tuple)."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class ServicePort:
    """A service port. A string ``target_port`` names a container port, resolved per
    endpoint through the endpoint's ports of the same ``name`` (as EndpointSlices do)."""

    port: int
    target_port: int | str
    protocol: L4Protocol = L4Protocol.TCP
    name: str = ""
    node_port: int | None = None


@dataclass(frozen=True, slots=True)
class EndpointPort:
    """The port a backend really listens on, named after the service port it serves."""

    port: int
    protocol: L4Protocol = L4Protocol.TCP
    name: str = ""


@dataclass(frozen=True, slots=True)
class ServiceEndpoint:
    """One backend of a service (an EndpointSlice endpoint).

    ``serving`` without ``ready`` is a terminating backend still able to finish work:
    it takes traffic only when no ready backend is left.
    """

    addresses: tuple[IPAddress, ...]
    ports: tuple[EndpointPort, ...] = ()
    node: str | None = None
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    zone_hints: tuple[str, ...] = ()  # EndpointSlice ``hints.forZones``: zones it should serve

    def port_for(self, service_port: ServicePort) -> int | None:
        """The backend port for ``service_port``, or None if this endpoint does not serve it."""
        for port in self.ports:
            if port.name == service_port.name and port.protocol == service_port.protocol:
                return port.port
        return None


@dataclass(frozen=True, slots=True)
class Service:
    """A Kubernetes Service with the endpoints that back it."""

    namespace: str
    name: str
    service_type: ServiceType = ServiceType.CLUSTER_IP
    network: str = DEFAULT_NETWORK
    cluster_ips: tuple[IPAddress, ...] = ()
    external_ips: tuple[IPAddress, ...] = ()
    load_balancer_ips: tuple[IPAddress, ...] = ()
    ports: tuple[ServicePort, ...] = ()
    session_affinity: SessionAffinity = SessionAffinity.NONE
    session_affinity_timeout: int = DEFAULT_SESSION_AFFINITY_TIMEOUT
    external_traffic_policy: TrafficPolicy = TrafficPolicy.CLUSTER
    internal_traffic_policy: TrafficPolicy = TrafficPolicy.CLUSTER
    lb_type: LbType = LbType.MAGLEV
    endpoints: tuple[ServiceEndpoint, ...] = ()
    headless: bool = False  # ``clusterIP: None``: DNS only, nothing to load-balance
    hash_fields: tuple[str, ...] = ()  # calico-vpp's ``vppHashConfig``; empty: the 5-tuple
    created: datetime | None = None  # the older of two services claiming one VIP keeps it

    @property
    def key(self) -> ServiceKey:
        return ServiceKey(self.namespace, self.name)
