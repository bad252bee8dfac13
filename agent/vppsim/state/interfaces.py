"""Software interfaces: the objects every other feature hangs off."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from agent.vppsim.codec import IPInterface

IF_ADMIN_UP = 1
IF_LINK_UP = 2
NO_INDEX = 0xFFFFFFFF
DEFAULT_MTU = 9000

RX_MODE_POLLING = 1
RX_MODE_INTERRUPT = 2
RX_MODE_ADAPTIVE = 3
RX_MODE_DEFAULT = 4


@dataclass
class Interface:
    """What ``sw_interface_details`` reports, plus the IP configuration.

    ``link_follows_admin``: tap, tun, af_packet and vxlan drivers raise the
    carrier when the interface is set admin up and drop it when set down
    (VPP's admin_up_down callbacks); a memif only gets link when a peer
    connects, which never happens in the simulator, and local0 never has link.
    """

    sw_if_index: int
    name: str
    dev_type: str
    kind: str
    mac: bytes = bytes(6)
    admin_up: bool = False
    link_up: bool = False
    link_follows_admin: bool = True
    link_mtu: int = DEFAULT_MTU
    mtu: list[int] = field(default_factory=lambda: [DEFAULT_MTU, 0, 0, 0])
    tag: str = ""
    table4: int = 0
    table6: int = 0
    addresses: list[IPInterface] = field(default_factory=list)
    rx_modes: list[int] = field(default_factory=list)
    unnumbered_from: int | None = None

    @property
    def flags(self) -> int:
        return (IF_ADMIN_UP if self.admin_up else 0) | (IF_LINK_UP if self.link_up else 0)

    def table(self, is_ip6: bool) -> int:
        return self.table6 if is_ip6 else self.table4

    def addresses_of(self, is_ip6: bool) -> list[IPInterface]:
        version = 6 if is_ip6 else 4
        return [a for a in self.addresses if a.version == version]

    def ip_enabled(self, is_ip6: bool) -> bool:
        """Whether VPP's ip4-input (ip6-input) accepts packets received here.

        VPP enables a family on an interface when it gets an address of that
        family, and both families when it is made unnumbered to another one
        (``vnet_sw_interface_update_unnumbered``); otherwise IP packets arriving
        on it are dropped. The simulator forwards nothing, so reachability
        tests ask this instead.
        """
        return bool(self.addresses_of(is_ip6)) or self.unnumbered_from is not None


@dataclass(frozen=True)
class InterfaceEvent:
    """One ``sw_interface_event`` to publish to the subscribers."""

    sw_if_index: int
    flags: int
    deleted: bool = False


class Interfaces:
    """The sw_if_index space; records events for every flag change."""

    def __init__(self) -> None:
        self.by_index: dict[int, Interface] = {}
        self.events: list[InterfaceEvent] = []
        self._next = 0
        self.add("local0", "local", "local", link_follows_admin=False, link_mtu=0, mtu=[0] * 4)

    def __contains__(self, sw_if_index: int) -> bool:
        return sw_if_index in self.by_index

    def __iter__(self) -> Iterator[Interface]:
        return iter(self.by_index.values())

    def get(self, sw_if_index: int) -> Interface | None:
        return self.by_index.get(sw_if_index)

    def by_name(self, name: str) -> Interface | None:
        return next((i for i in self.by_index.values() if i.name == name), None)

    def add(
        self,
        name: str,
        dev_type: str,
        kind: str,
        *,
        mac: bytes = bytes(6),
        link_up: bool = False,
        link_follows_admin: bool = True,
        link_mtu: int = DEFAULT_MTU,
        mtu: list[int] | None = None,
        rx_queues: int = 0,
    ) -> Interface:
        """Allocate the next sw_if_index; indexes are never reused, which VPP allows."""
        iface = Interface(
            self._next,
            name,
            dev_type,
            kind,
            mac=mac,
            link_up=link_up,
            link_follows_admin=link_follows_admin,
            link_mtu=link_mtu,
            mtu=list(mtu) if mtu is not None else [link_mtu, 0, 0, 0],
            rx_modes=[RX_MODE_DEFAULT] * rx_queues,
        )
        self._next += 1
        self.by_index[iface.sw_if_index] = iface
        if iface.flags:
            self.events.append(InterfaceEvent(iface.sw_if_index, iface.flags))
        return iface

    def set_admin(self, iface: Interface, up: bool) -> None:
        before = iface.flags
        iface.admin_up = up
        if iface.link_follows_admin:
            iface.link_up = up
        if iface.flags != before:
            self.events.append(InterfaceEvent(iface.sw_if_index, iface.flags))

    def remove(self, iface: Interface) -> None:
        """Bring it down (as the drivers do before deleting), then delete it."""
        self.set_admin(iface, False)
        if iface.link_up:
            iface.link_up = False
            self.events.append(InterfaceEvent(iface.sw_if_index, iface.flags))
        del self.by_index[iface.sw_if_index]
        for other in self.by_index.values():
            if other.unnumbered_from == iface.sw_if_index:
                other.unnumbered_from = None
        self.events.append(InterfaceEvent(iface.sw_if_index, 0, deleted=True))

    def take_events(self) -> list[InterfaceEvent]:
        events, self.events = self.events, []
        return events
