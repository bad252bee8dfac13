"""Scenario sections describing the cluster's shape: nodes, IP pools and networks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from agent.scenario.fields import (
    Cidr,
    IfName,
    NadRefField,
    Name,
    NetworkRef,
    NodeAddress,
    TableId,
    Vni,
)
from agent.scenario.schema.base import Spec

EncapModeName = Literal["Never", "Always", "CrossSubnet"]


class PodBlockSpec(Spec):
    cidr: Cidr
    network: NetworkRef = ""


class NodeSpec(Spec):
    name: Name
    addresses: list[NodeAddress] = Field(min_length=1, max_length=2)
    pod_blocks: list[PodBlockSpec] = []
    asn: int | None = Field(None, ge=1, le=2**32 - 1)
    uplink_interface: IfName | None = None


class PoolSpec(Spec):
    name: Name
    cidr: Cidr
    block_size: int | None = Field(None, ge=0, le=128)
    ipip_mode: EncapModeName = "Never"
    vxlan_mode: EncapModeName = "Never"
    nat_outgoing: bool = False
    disabled: bool = False
    network: NetworkRef = ""


class NetworkSpec(Spec):
    name: Name
    vni: Vni
    ranges: list[Cidr] = Field(min_length=1, max_length=2)
    vrf_table_id: TableId | None = None
    attachments: list[NadRefField] = []
    physical_network: str = ""
