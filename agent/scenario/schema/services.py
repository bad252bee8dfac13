"""Scenario sections describing Services and their endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from agent.scenario.fields import Address, Name, Namespace, NetworkRef
from agent.scenario.ports import Port, PortName, TargetPort
from agent.scenario.schema.base import Spec
from agent.scenario.schema.pods import ProtocolName


class ServicePortSpec(Spec):
    name: PortName = ""
    protocol: ProtocolName = "TCP"
    port: Port
    target_port: TargetPort | None = None
    node_port: Port | None = None


class EndpointPortSpec(Spec):
    name: PortName = ""
    protocol: ProtocolName = "TCP"
    port: Port


class EndpointSpec(Spec):
    addresses: list[Address] = Field(min_length=1)
    node: Name | None = None
    ready: bool = True
    serving: bool | None = None
    terminating: bool = False
    ports: list[EndpointPortSpec] | None = None


class ServiceSpec(Spec):
    namespace: Namespace = "default"
    name: Name
    network: NetworkRef = ""
    service_type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = Field(
        "ClusterIP", alias="type"
    )
    cluster_ips: list[Address] = Field([], alias="clusterIPs")
    external_ips: list[Address] = Field([], alias="externalIPs")
    load_balancer_ips: list[Address] = Field([], alias="loadBalancerIPs")
    ports: list[ServicePortSpec] = []
    session_affinity: Literal["None", "ClientIP"] = "None"
    session_affinity_timeout: int | None = Field(None, ge=1, le=86400)
    external_traffic_policy: Literal["Cluster", "Local"] = "Cluster"
    internal_traffic_policy: Literal["Cluster", "Local"] = "Cluster"
    lb_type: Literal["ecmp", "maglev", "maglevdsr"] = "ecmp"
    endpoints: list[EndpointSpec] = []
