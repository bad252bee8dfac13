"""Vocabulary shared by every part of the cluster model.

The model speaks ``ipaddress`` types rather than strings so that a plugin can never
confuse an address with a prefix or compare ``10.0.0.1`` with ``10.0.0.01``; the
aliases below keep the unions readable in signatures.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Address,
    IPv6Interface,
    IPv6Network,
)
from typing import Final

IPAddress = IPv4Address | IPv6Address
IPInterface = IPv4Interface | IPv6Interface
IPNetwork = IPv4Network | IPv6Network

DEFAULT_NETWORK: Final = ""
"""Name of Calico's own pod network. Secondary networks come from the Network CRD and
always have a non-empty name, so the empty string cannot collide with one."""

DEFAULT_VRF_TABLE_ID: Final = 0
"""VPP's default FIB table, where the default network lives."""


class L4Protocol(StrEnum):
    """Transport protocols as Kubernetes spells them in Services, endpoints and host ports."""

    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"


@dataclass(frozen=True, slots=True, order=True)
class PortRange:
    """An inclusive port range; a single port has ``first == last`` (Felix's encoding)."""

    first: int
    last: int

    @classmethod
    def single(cls, port: int) -> PortRange:
        return cls(port, port)

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.first <= port <= self.last

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}:{self.last}"


def host_prefix(address: IPAddress) -> IPNetwork:
    """The /32 or /128 holding exactly ``address``: the prefix a pod's FIB entry uses."""
    if isinstance(address, IPv4Address):
        return IPv4Network((address, 32))
    return IPv6Network((address, 128))


def prefix_contains(outer: IPNetwork, inner: IPNetwork) -> bool:
    """Whether ``inner`` lies within ``outer``; prefixes of different families never do."""
    if isinstance(outer, IPv4Network) and isinstance(inner, IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(outer, IPv6Network) and isinstance(inner, IPv6Network):
        return inner.subnet_of(outer)
    return False


def prefixes_overlap(a: IPNetwork, b: IPNetwork) -> bool:
    """Whether two prefixes share any address; prefixes of different families never do."""
    return prefix_contains(a, b) or prefix_contains(b, a)
