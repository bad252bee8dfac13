"""IP sets: the address groups Felix resolves selectors, named ports and services into."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from agent.model.base import IPAddress, IPNetwork, L4Protocol


class IpSetType(StrEnum):
    """What the members of a set are; this decides the VPP set type the plugin creates."""

    IP = "ip"
    NET = "net"
    IP_AND_PORT = "ip-and-port"


@dataclass(frozen=True, slots=True)
class IpPortMember:
    """A member of an ``ip-and-port`` set (Felix writes ``10.0.0.1,tcp:8080``)."""

    address: IPAddress
    protocol: L4Protocol
    port: int

    def __str__(self) -> str:
        return f"{self.address},{self.protocol.lower()}:{self.port}"


IpSetMember = IPAddress | IPNetwork | IpPortMember
"""A set member; which alternative is fixed by the set's :class:`IpSetType`."""


@dataclass(frozen=True, slots=True)
class IpSet:
    """An IP set with its full membership.

    Members form a frozenset because Felix's delta updates are set operations and
    member order carries no meaning.
    """

    id: str
    type: IpSetType
    members: frozenset[IpSetMember] = frozenset()
