"""The desired VPP objects plugins produce and the reconciler programs.

Plugins never call VPP: they translate the cluster model into these plain,
immutable values. Each value has a stable ``key`` (what it is, independent
of VPP's handles such as sw_if_index) and the keys of the objects it needs,
so the reconciler can diff desired against observed state and order its
calls (tables before interfaces, interfaces before addresses and routes;
deletes in reverse). Interfaces refer to each other by key; an interface
vppnet does not own (the uplink made by the manager, say) is referred to by
its VPP name through :class:`VppName`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface

RxMode = Literal["polling", "interrupt", "adaptive", "default"]
Protocol = Literal["TCP", "UDP", "SCTP"]


@dataclass(frozen=True, slots=True, order=True)
class VppName:
    """An interface vppnet does not own, by its VPP name (e.g. ``host-eth0``)."""

    name: str

    def __str__(self) -> str:
        return f"vpp:{self.name}"


IfRef = str | VppName  # an owned interface's name, or a foreign one's VPP name


@dataclass(frozen=True, slots=True)
class InterfaceSettings:
    """What can change on a live interface without recreating it."""

    admin_up: bool = True
    mtu: int | None = None  # L3 MTU; None leaves VPP's value
    vrf4: int = 0
    vrf6: int = 0
    rx_mode: RxMode | None = None
    unnumbered_from: IfRef | None = None


@dataclass(frozen=True, slots=True)
class VrfTable:
    table_id: int
    ip6: bool

    @property
    def key(self) -> str:
        return f"table {'ip6' if self.ip6 else 'ip4'} {self.table_id}"

    def needs(self) -> tuple[str, ...]:
        return ()


def table_key(table_id: int, ip6: bool) -> str:
    return VrfTable(table_id, ip6).key


def interface_key(name: IfRef) -> str:
    return f"interface {name}"


def _settings_needs(settings: InterfaceSettings) -> tuple[str, ...]:
    needs = []
    if settings.vrf4:
        needs.append(table_key(settings.vrf4, False))
    if settings.vrf6:
        needs.append(table_key(settings.vrf6, True))
    if isinstance(settings.unnumbered_from, str):
        needs.append(interface_key(settings.unnumbered_from))
    return tuple(needs)


class _OwnedInterface:
    """Key and dependencies shared by every interface kind vppnet creates."""

    __slots__ = ()
    name: str
    settings: InterfaceSettings

    @property
    def key(self) -> str:
        return interface_key(self.name)

    def needs(self) -> tuple[str, ...]:
        return _settings_needs(self.settings)


@dataclass(frozen=True, slots=True)
class TunTap(_OwnedInterface):
    """A VPP tun (L3) or tap (L2) interface whose host side lives in ``host_netns``."""

    name: str
    host_if_name: str
    host_netns: str
    tun: bool = True
    host_mtu: int | None = None
    host_mac: str | None = None
    host_ip4: ipaddress.IPv4Interface | None = None
    host_ip6: ipaddress.IPv6Interface | None = None
    rx_queues: int = 1
    tx_queues: int = 1
    rx_ring_size: int = 256
    tx_ring_size: int = 256
    gso: bool = False
    csum_offload: bool = False
    settings: InterfaceSettings = field(default_factory=InterfaceSettings)


@dataclass(frozen=True, slots=True)
class AfPacket(_OwnedInterface):
    """VPP attached to an existing Linux interface (a veth end or a NIC)."""

    name: str
    host_if_name: str
    ip_mode: bool = False
    mac: str | None = None
    rx_queues: int = 1
    tx_queues: int = 1
    settings: InterfaceSettings = field(default_factory=InterfaceSettings)


@dataclass(frozen=True, slots=True)
class MemifSocket:
    """A memif socket file registered with VPP."""

    name: str
    path: str

    @property
    def key(self) -> str:
        return f"memif-socket {self.name}"

    def needs(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Memif(_OwnedInterface):
    """A memif interface, VPP as master, on the socket named ``socket``."""

    name: str
    socket: str
    memif_id: int = 0
    ip_mode: bool = True
    rx_queues: int = 1
    tx_queues: int = 1
    ring_size: int = 1024
    buffer_size: int = 2048
    settings: InterfaceSettings = field(default_factory=InterfaceSettings)

    def needs(self) -> tuple[str, ...]:
        return (MemifSocket(self.socket, "").key, *_OwnedInterface.needs(self))


@dataclass(frozen=True, slots=True)
class Vxlan(_OwnedInterface):
    """A VXLAN tunnel to another node; its VNI selects the network."""

    name: str
    src: IPAddress
    dst: IPAddress
    vni: int
    encap_vrf: int = 0
    is_l3: bool = True
    settings: InterfaceSettings = field(default_factory=InterfaceSettings)

    def needs(self) -> tuple[str, ...]:
        needs = _OwnedInterface.needs(self)
        if self.encap_vrf:
            needs += (table_key(self.encap_vrf, self.src.version == 6),)
        return needs


Interface = TunTap | AfPacket | Memif | Vxlan


@dataclass(frozen=True, slots=True)
class InterfaceAddress:
    interface: IfRef
    prefix: IPInterface

    @property
    def key(self) -> str:
        return f"address {self.interface} {self.prefix}"

    def needs(self) -> tuple[str, ...]:
        return (interface_key(self.interface),) if isinstance(self.interface, str) else ()


PathKind = Literal["normal", "drop", "local"]


@dataclass(frozen=True, slots=True)
class RoutePath:
    """Through an interface and/or a next hop; or, with ``lookup_table``, a lookup there."""

    nh: IPAddress | None = None
    interface: IfRef | None = None
    lookup_table: int | None = None
    weight: int = 1
    preference: int = 0
    kind: PathKind = "normal"

    def __str__(self) -> str:
        if self.kind != "normal":
            return self.kind
        parts = []
        if self.nh is not None:
            parts.append(f"via {self.nh}")
        if self.interface is not None:
            parts.append(f"dev {self.interface}")
        if self.lookup_table is not None:
            parts.append(f"lookup table {self.lookup_table}")
        if self.weight != 1:
            parts.append(f"weight {self.weight}")
        if self.preference:
            parts.append(f"preference {self.preference}")
        return " ".join(parts) or "unresolved"


@dataclass(frozen=True, slots=True)
class Route:
    """A route in ``table_id``; paths kept in canonical order so equal routes compare equal."""

    table_id: int
    prefix: IPNetwork
    paths: tuple[RoutePath, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", tuple(sorted(self.paths, key=str)))

    @property
    def key(self) -> str:
        return route_key(self.table_id, self.prefix)

    def needs(self) -> tuple[str, ...]:
        needs = []
        if self.table_id:
            needs.append(table_key(self.table_id, self.prefix.version == 6))
        for p in self.paths:
            if isinstance(p.interface, str):
                needs.append(interface_key(p.interface))
            if p.lookup_table:
                needs.append(table_key(p.lookup_table, self.prefix.version == 6))
        return tuple(dict.fromkeys(needs))


def route_key(table_id: int, prefix: IPNetwork) -> str:
    return f"route {table_id} {prefix}"


@dataclass(frozen=True, slots=True)
class Backend:
    addr: IPAddress
    port: int

    def __str__(self) -> str:
        return (
            f"[{self.addr}]:{self.port}" if self.addr.version == 6 else f"{self.addr}:{self.port}"
        )


@dataclass(frozen=True, slots=True)
class CnatTranslation:
    """Load-balance (vip, port, proto) over ``backends`` (a Service port)."""

    vip: IPAddress
    port: int
    proto: Protocol
    backends: tuple[Backend, ...]
    maglev: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "backends", tuple(sorted(set(self.backends), key=str)))

    @property
    def key(self) -> str:
        return cnat_key(self.vip, self.port, self.proto)

    def needs(self) -> tuple[str, ...]:
        return ()


def cnat_key(vip: IPAddress, port: int, proto: str) -> str:
    return f"cnat {proto} {vip} {port}"


VppObject = (
    VrfTable
    | TunTap
    | AfPacket
    | MemifSocket
    | Memif
    | Vxlan
    | InterfaceAddress
    | Route
    | (CnatTranslation)
)

INTERFACE_TYPES = (TunTap, AfPacket, Memif, Vxlan)

# Creation order: a kind only needs kinds of a lower rank. Deletes run in reverse.
RANK: dict[type, int] = {
    VrfTable: 0,
    MemifSocket: 0,
    TunTap: 1,
    AfPacket: 1,
    Vxlan: 1,
    Memif: 1,
    InterfaceAddress: 2,
    Route: 3,
    CnatTranslation: 4,
}


def rank(obj: VppObject) -> int:
    return RANK[type(obj)]
