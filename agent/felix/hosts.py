"""Host metadata: Felix's view of each node, from whichever messages this Felix sends.

Felix master sends one HostMetadataUpdate (payload 14) per node with both
addresses (``host-ip/prefix``), AS number and labels. Felix v3.32 sends three
families per node: 14 with a bare IPv4 address only, 35 with a bare IPv6
address, and 37 with everything. Each family is kept in its own slot and the
most complete one wins, so both versions give the same node.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv4Interface, IPv6Interface
from typing import Any

from agent.felix import convert
from agent.model import IPInterface, IPNetwork


@dataclass(frozen=True, slots=True)
class HostRecord:
    """One host-metadata message's content (one of several per host on Felix v3.32)."""

    ipv4: IPv4Interface | None = None
    ipv6: IPv6Interface | None = None
    asn: int | None = None
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class HostView:
    """The merged Felix view of a node: what :mod:`agent.felix.projection` turns into a Node."""

    addresses: tuple[IPInterface, ...]
    asn: int | None
    blocks: tuple[IPNetwork, ...]


@dataclass
class HostSlots:
    """Host metadata by message family: master sends ``main`` only (payload 14 with
    everything); v3.32 sends ``main`` (14, bare IPv4), ``v6`` (35) and ``v4v6`` (37)."""

    main: HostRecord | None = None
    v6: HostRecord | None = None
    v4v6: HostRecord | None = None

    def merged(self) -> HostRecord | None:
        if self.v4v6 is not None:
            return self.v4v6
        if self.main is None and self.v6 is None:
            return None
        main = self.main or HostRecord()
        return replace(main, ipv6=main.ipv6 or (self.v6.ipv6 if self.v6 else None))


def host_record(message: Any) -> HostRecord:
    """The record of any host-metadata update (fields a family lacks read as empty)."""
    where = f"host {message.hostname}"
    ipv4 = convert.host_address(getattr(message, "ipv4_addr", ""), 4, f"{where} ipv4_addr")
    ipv6 = convert.host_address(getattr(message, "ipv6_addr", ""), 6, f"{where} ipv6_addr")
    return HostRecord(
        ipv4=ipv4 if isinstance(ipv4, IPv4Interface) else None,
        ipv6=ipv6 if isinstance(ipv6, IPv6Interface) else None,
        asn=convert.asn(getattr(message, "asnumber", ""), f"{where} asnumber"),
        labels=tuple(sorted(getattr(message, "labels", {}).items())),
    )
