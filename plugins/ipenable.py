"""IP on every interface vppnet makes: one loopback per VRF, the rest unnumbered to it.

VPP drops IPv4 (IPv6) packets received on an interface where that family is
not enabled, and it enables a family only when the interface gets an address
of it or is made unnumbered to another interface. vppnet's pod interfaces
(tun, tap, memif, af_packet) and its tunnels (the networks' VXLAN, the
default network's VXLAN and IPIP) have no address of their own, so, as
calico-vpp does, each VRF in use gets a loopback bound to it, and every such
interface in that VRF borrows the loopback's address (unnumbered), which
turns on both families at once.

This is a pass over the merged desired state rather than a rule in each
plugin, so that no interface kind or plugin can forget it: an owned
interface is left alone only when it has an address of its own in the
desired state, is already unnumbered to something, or is bound to different
tables per family (vppnet never does that; one loopback could not serve it).

The loopbacks carry :data:`LOOPBACK_ADDRESS`, Calico's pod gateway
``169.254.1.1/32``, in every VRF (VPP checks address overlaps per table):

* ICMP errors VPP generates towards a pod (TTL exceeded, unreachable,
  fragmentation needed) take their source from the interface the packet
  came in on; for an unnumbered interface that is the loopback's address.
* Should VPP ever have to resolve a pod address itself (an address without a
  static neighbour), its ARP request comes from the pods' own gateway,
  on-link for every Calico pod, so the pod answers; VPP also answers a pod's
  ARP for its gateway.
* It is not a node address, so it clashes with nothing in the default table
  (the uplink holds the node's addresses there).

No IPv6 address is given: enabling IPv6 gives each interface its own
link-local address, which is all ND needs, and pods route through
``fe80::ecee:eeff:feee:eeee`` with a static neighbour the CNI writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from ipaddress import IPv4Interface
from typing import Final

from agent.vppobjects import (
    INTERFACE_TYPES,
    InterfaceAddress,
    InterfaceSettings,
    Loopback,
    VppObject,
)

LOOPBACK_ADDRESS: Final = IPv4Interface("169.254.1.1/32")


def loopback_name(table: int) -> str:
    """The owned name (and tag) of the loopback of VRF ``table``."""
    return f"loopback/vrf-{table}"


def vrf_loopback(table: int) -> tuple[Loopback, InterfaceAddress]:
    """The loopback of VRF ``table`` (both families bound to it) and its address."""
    loop = Loopback(
        loopback_name(table),
        settings=InterfaceSettings(admin_up=True, vrf4=table, vrf6=table),
    )
    return loop, InterfaceAddress(loop.name, LOOPBACK_ADDRESS)


def apply(objects: Iterable[VppObject]) -> Iterator[VppObject]:
    """``objects`` with every owned interface that needs it unnumbered to its VRF's
    loopback, followed by the loopbacks (and their addresses) of those VRFs."""
    items = list(objects)
    addressed = {o.interface for o in items if isinstance(o, InterfaceAddress)}
    tables: set[int] = set()
    for obj in items:
        if isinstance(obj, INTERFACE_TYPES) and not isinstance(obj, Loopback):
            s = obj.settings
            if s.unnumbered_from is None and obj.name not in addressed and s.vrf4 == s.vrf6:
                tables.add(s.vrf4)
                yield replace(obj, settings=replace(s, unnumbered_from=loopback_name(s.vrf4)))
                continue
        yield obj
    for table in sorted(tables):
        yield from vrf_loopback(table)
