"""Scenario sections describing Calico policies, profiles and IP sets, Felix-style."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from agent.scenario.fields import Identifier, Name, NetworkRef, OptionalNamespace, Prefix
from agent.scenario.ports import PortRangeField, ProtocolField
from agent.scenario.schema.base import Spec


class IcmpSpec(Spec):
    icmp_type: int = Field(alias="type", ge=0, le=255)
    code: int | None = Field(None, ge=0, le=255)


class RuleSpec(Spec):
    action: Literal["allow", "deny", "pass", "log"]
    ip_version: Literal[4, 6] | None = None
    protocol: ProtocolField | None = None
    not_protocol: ProtocolField | None = None
    src_nets: list[Prefix] = []
    not_src_nets: list[Prefix] = []
    dst_nets: list[Prefix] = []
    not_dst_nets: list[Prefix] = []
    src_ports: list[PortRangeField] = []
    not_src_ports: list[PortRangeField] = []
    dst_ports: list[PortRangeField] = []
    not_dst_ports: list[PortRangeField] = []
    src_named_port_ip_set_ids: list[Identifier] = []
    not_src_named_port_ip_set_ids: list[Identifier] = []
    dst_named_port_ip_set_ids: list[Identifier] = []
    not_dst_named_port_ip_set_ids: list[Identifier] = []
    src_ip_set_ids: list[Identifier] = []
    not_src_ip_set_ids: list[Identifier] = []
    dst_ip_set_ids: list[Identifier] = []
    not_dst_ip_set_ids: list[Identifier] = []
    dst_ip_port_set_ids: list[Identifier] = []
    icmp: IcmpSpec | None = None
    not_icmp: IcmpSpec | None = None
    network: NetworkRef = ""


class PolicySpec(Spec):
    tier: Name = "default"
    name: Name
    namespace: OptionalNamespace = ""
    kind: str = ""
    order: float | None = Field(None, allow_inf_nan=False)
    ingress: list[RuleSpec] = []
    egress: list[RuleSpec] = []
    pre_dnat: bool = Field(False, alias="preDNAT")
    untracked: bool = False


class ProfileSpec(Spec):
    id: Name
    ingress: list[RuleSpec] = []
    egress: list[RuleSpec] = []


class IpSetSpec(Spec):
    id: Identifier
    set_type: Literal["ip", "net", "ip-and-port"] = Field(alias="type")
    members: list[str] = []
