"""Conversions between papi's decoded values and the plain types the agent uses.

papi decodes addresses to ``ipaddress`` objects, MACs to its own
``MACAddress`` and enums to IntFlag subclasses; the rest of the agent only
sees ``ipaddress`` types, lower-case colon MAC strings and ints, so nothing
outside agent/vpp depends on papi's types.
"""

from __future__ import annotations

import ipaddress
from typing import Any

IPv4Address = ipaddress.IPv4Address
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface

ZERO_MAC = "00:00:00:00:00:00"
AF_IP4 = 0
AF_IP6 = 1


def mac_text(value: Any) -> str:
    """A MAC in ``aa:bb:cc:dd:ee:ff`` form from papi's MACAddress, bytes or str."""
    if isinstance(value, bytes | bytearray):
        return ":".join(f"{b:02x}" for b in value)
    packed = getattr(value, "packed", None)
    if isinstance(packed, bytes | bytearray):
        return ":".join(f"{b:02x}" for b in packed)
    return str(value).lower()


def address(value: Any) -> IPAddress:
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    return ipaddress.ip_address(value)


def network(value: Any) -> IPNetwork:
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return value
    return ipaddress.ip_network(str(value), strict=False)


def interface(value: Any) -> IPInterface:
    if isinstance(value, ipaddress.IPv4Interface | ipaddress.IPv6Interface):
        return value
    return ipaddress.ip_interface(str(value))


def af_of(value: IPAddress | IPNetwork | IPInterface) -> int:
    return AF_IP6 if value.version == 6 else AF_IP4


def union_address(value: IPAddress) -> dict[str, IPAddress]:
    """An ``address_union`` argument: the family comes from elsewhere (a proto field)."""
    return {"ip6": value} if value.version == 6 else {"ip4": value}


def from_union(union: Any, ip6: bool) -> IPAddress:
    return address(union.ip6 if ip6 else union.ip4)
