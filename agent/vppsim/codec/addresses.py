"""Address, prefix and MAC types, decoded into ``ipaddress`` objects.

Handlers compare and store addresses; doing that on ``IPv4Network`` objects
rather than on ``{"af":..., "un":...}`` dicts keeps them short and correct.
The accepted inputs mirror papi's (objects, strings, raw dicts) so a handler
can reply with whatever it stored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from agent.vppsim.codec.nodes import CodecError, CodecValueError, Node
from agent.vppsim.codec.structs import UnionNode, UnionValue

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface

AF_IP4 = 0
AF_IP6 = 1


def _ip(value: Any) -> IPAddress:
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    try:
        return ipaddress.ip_address(value)
    except ValueError as e:
        raise CodecError(f"not an IP address: {value!r}") from e


class Ip4AddressNode(Node):
    fmt = "4s"
    nvals = 1
    size = 4

    def build(self, vals: Sequence[Any], i: int) -> tuple[Any, int]:
        return ipaddress.IPv4Address(vals[i]), i + 1

    def flatten(self, value: Any, out: list[Any]) -> None:
        if not value:
            out.append(b"")
        elif isinstance(value, bytes | bytearray):
            out.append(bytes(value))
        else:
            out.append(ipaddress.IPv4Address(value).packed)


class Ip6AddressNode(Node):
    fmt = "16s"
    nvals = 1
    size = 16

    def build(self, vals: Sequence[Any], i: int) -> tuple[Any, int]:
        return ipaddress.IPv6Address(vals[i]), i + 1

    def flatten(self, value: Any, out: list[Any]) -> None:
        if not value:
            out.append(b"")
        elif isinstance(value, bytes | bytearray):
            out.append(bytes(value))
        else:
            out.append(ipaddress.IPv6Address(value).packed)


class AddressNode(Node):
    """``address`` = {af u8, un address_union(16)} <-> IPv4Address/IPv6Address."""

    fmt = "B16s"
    nvals = 2
    size = 17

    def __init__(self, union: UnionNode) -> None:
        self.union = union

    def build(self, vals: Sequence[Any], i: int) -> tuple[Any, int]:
        af, raw = vals[i], vals[i + 1]
        if af == AF_IP4:
            return ipaddress.IPv4Address(raw[:4]), i + 2
        if af == AF_IP6:
            return ipaddress.IPv6Address(raw), i + 2
        raise CodecValueError(f"address family {af} is neither IPv4 (0) nor IPv6 (1)")

    def flatten(self, value: Any, out: list[Any]) -> None:
        if not value:
            out += (AF_IP4, b"")
            return
        if isinstance(value, Mapping):
            out.append(value.get("af") or AF_IP4)
            out.append(self.union.to_bytes(value.get("un")))
            return
        addr = _ip(value)
        out += (AF_IP4 if addr.version == 4 else AF_IP6, addr.packed)


class PrefixNode(Node):
    """``prefix`` / ``address_with_prefix``: {address, u8 len}.

    ``keep_host`` distinguishes the two: a route prefix decodes to a network
    (host bits cleared, as VPP's FIB keys it), an interface address to an
    ``IPv4Interface`` that keeps them.
    """

    fmt = "B16sB"
    nvals = 3
    size = 18

    def __init__(self, address: AddressNode, keep_host: bool) -> None:
        self.address = address
        self.keep_host = keep_host

    def build(self, vals: Sequence[Any], i: int) -> tuple[Any, int]:
        af, raw, plen = vals[i], vals[i + 1], vals[i + 2]
        if af == AF_IP4:
            packed: bytes = raw[:4]
            net: type[IPNetwork] = ipaddress.IPv4Network
            iface: type[IPInterface] = ipaddress.IPv4Interface
        elif af == AF_IP6:
            packed, net, iface = raw, ipaddress.IPv6Network, ipaddress.IPv6Interface
        else:
            raise CodecValueError(f"address family {af} is neither IPv4 (0) nor IPv6 (1)")
        try:
            # from bytes: several times faster than from an address object
            if self.keep_host:
                return iface((packed, plen)), i + 3
            return net((packed, plen), strict=False), i + 3
        except ValueError as e:
            raise CodecValueError(f"bad prefix length {plen}") from e

    def flatten(self, value: Any, out: list[Any]) -> None:
        if not value:
            out += (AF_IP4, b"", 0)
            return
        if isinstance(value, Mapping):
            self.address.flatten(value.get("address"), out)
            out.append(value.get("len") or 0)
            return
        addr, plen = _split_prefix(value)
        self.address.flatten(addr, out)
        out.append(plen)


class FamilyPrefixNode(Node):
    """``ip4_prefix``/``ip6_prefix`` and their ``*_address_with_prefix`` aliases."""

    nvals = 2

    def __init__(self, version: int, keep_host: bool) -> None:
        self.version = version
        self.keep_host = keep_host
        alen = 4 if version == 4 else 16
        self.fmt = f"{alen}sB"
        self.size = alen + 1

    def build(self, vals: Sequence[Any], i: int) -> tuple[Any, int]:
        raw, plen = vals[i], vals[i + 1]
        v4 = self.version == 4
        try:
            if self.keep_host:
                cls: type[Any] = ipaddress.IPv4Interface if v4 else ipaddress.IPv6Interface
                return cls((raw, plen)), i + 2
            cls = ipaddress.IPv4Network if v4 else ipaddress.IPv6Network
            return cls((raw, plen), strict=False), i + 2
        except ValueError as e:
            raise CodecValueError(f"bad prefix length {plen}") from e

    def flatten(self, value: Any, out: list[Any]) -> None:
        if not value:
            out += (b"", 0)
            return
        if isinstance(value, Mapping):
            raw = value.get("address") or b""
            if not isinstance(raw, bytes | bytearray):
                raw = _ip(raw).packed
            out += (bytes(raw), value.get("len") or 0)
            return
        addr, plen = _split_prefix(value)
        if addr.version != self.version:
            raise CodecError(f"{value} is not an IPv{self.version} prefix")
        out += (addr.packed, plen)


def _split_prefix(value: Any) -> tuple[IPAddress, int]:
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return value.network_address, value.prefixlen
    if isinstance(value, ipaddress.IPv4Interface | ipaddress.IPv6Interface):
        return value.ip, value.network.prefixlen
    try:
        iface = ipaddress.ip_interface(value)
    except ValueError as e:
        raise CodecError(f"not a prefix: {value!r}") from e
    return iface.ip, iface.network.prefixlen


class MacNode(Node):
    """``mac_address`` (u8[6]) as 6 raw bytes; text and objects with ``.packed`` accepted."""

    fmt = "6s"
    nvals = 1
    size = 6

    def build(self, vals: Sequence[Any], i: int) -> tuple[Any, int]:
        return vals[i], i + 1

    def flatten(self, value: Any, out: list[Any]) -> None:
        out.append(mac_bytes(value))


def mac_bytes(value: Any) -> bytes:
    if not value:
        return b""
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
    elif isinstance(value, str):
        try:
            raw = bytes.fromhex(value.replace(":", "").replace("-", ""))
        except ValueError as e:
            raise CodecError(f"not a MAC address: {value!r}") from e
    elif hasattr(value, "packed"):
        raw = bytes(value.packed)
    else:
        raise CodecError(f"not a MAC address: {value!r}")
    if len(raw) > 6:
        raise CodecError(f"MAC address longer than 6 bytes: {value!r}")
    return raw


def union_address(value: UnionValue, is_ip6: bool) -> IPAddress:
    """The address held in an ``address_union`` whose family is known elsewhere."""
    raw = value.raw
    if is_ip6:
        return ipaddress.IPv6Address(raw[:16].ljust(16, b"\0"))
    return ipaddress.IPv4Address(raw[:4].ljust(4, b"\0"))
