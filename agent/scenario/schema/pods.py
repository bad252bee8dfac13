"""Scenario sections describing the local node's pods and their interfaces."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from agent.scenario.fields import (
    Address,
    Cidr,
    Identifier,
    IfName,
    Name,
    Namespace,
    NetnsPath,
    NetworkRef,
    PodAddress,
    PolicyRef,
    Prefix,
    QueueSize,
)
from agent.scenario.ports import Port, SteeredPortsField
from agent.scenario.schema.base import Spec

ProtocolName = Literal["TCP", "UDP", "SCTP"]


class ExtraMemifSpec(Spec):
    name: IfName = "memif0"
    rx_queues: int = Field(1, ge=1, le=64)
    tx_queues: int = Field(1, ge=1, le=64)
    queue_size: QueueSize = 1024
    role: Literal["master", "slave"] = "master"
    mode: Literal["ip", "ethernet"] = "ip"
    ports: list[SteeredPortsField] = []


class HostPortSpec(Spec):
    container_port: Port
    host_port: Port
    protocol: ProtocolName = "TCP"
    host_ip: Address | None = Field(None, alias="hostIP")


class TierSpec(Spec):
    name: Name
    ingress: list[PolicyRef] = []
    egress: list[PolicyRef] = []
    default_action: Literal["deny", "pass"] = "deny"


class PolicyAssignmentSpec(Spec):
    tiers: list[TierSpec] = []
    profiles: list[Name] = []


class InterfaceSpec(Spec):
    name: IfName = "eth0"
    network: NetworkRef = ""
    interface_type: Literal["tun", "tap", "memif", "veth"] = Field("tun", alias="type")
    host_interface_name: IfName | None = None
    addresses: list[PodAddress] = Field(min_length=1)
    routes: list[Cidr] | None = None
    mtu: int = Field(1450, ge=576, le=9216)
    rx_queues: int = Field(1, ge=1, le=64)
    tx_queues: int = Field(1, ge=1, le=64)
    queue_size: QueueSize = 1024
    rx_mode: Literal["default", "interrupt", "polling", "adaptive"] = "default"
    extra_memifs: list[ExtraMemifSpec] = []
    allowed_source_prefixes: list[Prefix] = []
    host_ports: list[HostPortSpec] = []
    policy: PolicyAssignmentSpec = PolicyAssignmentSpec()


class PodSpec(Spec):
    namespace: Namespace = "default"
    name: Name
    container_id: Identifier | None = Field(None, alias="containerID")
    netns: NetnsPath
    interfaces: list[InterfaceSpec] = Field(min_length=1)
