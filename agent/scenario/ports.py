"""Ports, protocols and IP set members of the scenario format, in the notations of the
tools they come from: Calico (``8000:8080``), calico-vpp (``tcp:4444-20000``) and Felix
(``10.0.0.1,tcp:8080``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import PlainValidator

from agent.model import (
    PROTOCOL_NUMBERS,
    IpPortMember,
    IpProtocol,
    IpSetMember,
    IpSetType,
    L4Protocol,
    PortRange,
    SteeredPorts,
)
from agent.scenario.fields import DNS_LABEL, parse_address, parse_prefix, quoted, text_of


def parse_port_name(value: object) -> str:
    """A Service or endpoint port name (a DNS label), or empty for a lone unnamed port."""
    text = text_of(value, "a port name")
    if text and (len(text) > 63 or not DNS_LABEL.fullmatch(text)):
        raise ValueError(
            f"{quoted(text)} is not a valid port name: use lower-case letters, digits, '-'"
        )
    return text


def parse_port(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a port number, got {quoted(value)}")
    if not 1 <= value <= 65535:
        raise ValueError(f"port {value} is out of range 1..65535")
    return value


def parse_port_range(value: object) -> PortRange:
    """A port or range as Calico writes it: ``80``, ``"80"`` or ``"8000:8080"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return PortRange.single(parse_port(value))
    text = text_of(value, "a port or first:last range")
    first, colon, last = text.partition(":")
    if not (first.isdecimal() and (last.isdecimal() or not colon)):
        raise ValueError(f"{quoted(text)} is not a port or a first:last port range")
    ports = PortRange(parse_port(int(first)), parse_port(int(last)) if colon else int(first))
    if ports.first > ports.last:
        raise ValueError(f"port range {quoted(text)} ends before it starts")
    return ports


def parse_target_port(value: object) -> int | str:
    """A port number, or the name of a container port (an IANA service name)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return parse_port(value)
    text = text_of(value, "a port number or port name")
    if len(text) > 15 or not DNS_LABEL.fullmatch(text) or text.isdecimal():
        raise ValueError(f"{quoted(text)} is not a valid port name (at most 15 of a-z, 0-9, '-')")
    return text


def parse_protocol(value: object) -> IpProtocol:
    """An IP protocol number, or a name Calico knows (kept lower-case)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= 255:
            raise ValueError(f"protocol number {value} is out of range 1..255")
        return value
    text = text_of(value, "a protocol name or number")
    if text.lower() not in PROTOCOL_NUMBERS:
        known = ", ".join(PROTOCOL_NUMBERS)
        raise ValueError(f"unknown protocol {quoted(text)} (known: {known}, or a number)")
    return text.lower()


def parse_steered_ports(value: object) -> SteeredPorts:
    """calico-vpp's memif port syntax: ``tcp:4444-20000`` or ``udp:53``."""
    text = text_of(value, "protocol:port or protocol:first-last")
    protocol, colon, ports = text.partition(":")
    first, dash, last = ports.partition("-")
    if (
        not colon
        or protocol.upper() not in L4Protocol.__members__
        or not first.isdecimal()
        or (dash and not last.isdecimal())
    ):
        raise ValueError(f"{quoted(text)} must be tcp|udp|sctp:port or tcp|udp|sctp:first-last")
    port_range = PortRange(parse_port(int(first)), parse_port(int(last or first)))
    if port_range.first > port_range.last:
        raise ValueError(f"port range in {quoted(text)} ends before it starts")
    return SteeredPorts(L4Protocol(protocol.upper()), port_range)


def parse_ip_set_member(set_type: IpSetType, text: str) -> IpSetMember:
    """A member written as Felix writes it for a set of ``set_type``."""
    if set_type is IpSetType.IP:
        return parse_address(text)
    if set_type is IpSetType.NET:
        return parse_prefix(text)
    address, comma, port_spec = text.partition(",")
    protocol, colon, port = port_spec.partition(":")
    if not comma or not colon or protocol.upper() not in L4Protocol.__members__:
        raise ValueError(f"{quoted(text)} must be <address>,<tcp|udp|sctp>:<port>")
    if not port.isdecimal():
        raise ValueError(f"{quoted(text)} has no valid port number")
    return IpPortMember(parse_address(address), L4Protocol(protocol.upper()), parse_port(int(port)))


PortName = Annotated[str, PlainValidator(parse_port_name)]
Port = Annotated[int, PlainValidator(parse_port)]
PortRangeField = Annotated[PortRange, PlainValidator(parse_port_range)]
TargetPort = Annotated[int | str, PlainValidator(parse_target_port)]
ProtocolField = Annotated[IpProtocol, PlainValidator(parse_protocol)]
SteeredPortsField = Annotated[SteeredPorts, PlainValidator(parse_steered_ports)]
