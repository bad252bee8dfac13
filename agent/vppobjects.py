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
from typing import Final, Literal

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


@dataclass(frozen=True, slots=True)
class Ipip(_OwnedInterface):
    """An IP-in-IP tunnel to another node (Calico's IPIP mode); outer packets in ``encap_vrf``."""

    name: str
    src: IPAddress
    dst: IPAddress
    encap_vrf: int = 0
    settings: InterfaceSettings = field(default_factory=InterfaceSettings)

    def needs(self) -> tuple[str, ...]:
        needs = _OwnedInterface.needs(self)
        if self.encap_vrf:
            needs += (table_key(self.encap_vrf, self.src.version == 6),)
        return needs


@dataclass(frozen=True, slots=True)
class Loopback(_OwnedInterface):
    """A loopback bound to a VRF: the interface whose addresses that VRF's pod interfaces
    and tunnels borrow (unnumbered), which is what enables IP on them in VPP."""

    name: str
    settings: InterfaceSettings = field(default_factory=InterfaceSettings)


Interface = TunTap | AfPacket | Memif | Vxlan | Ipip | Loopback


@dataclass(frozen=True, slots=True)
class InterfaceAddress:
    interface: IfRef
    prefix: IPInterface

    @property
    def key(self) -> str:
        return f"address {self.interface} {self.prefix}"

    def needs(self) -> tuple[str, ...]:
        return (interface_key(self.interface),) if isinstance(self.interface, str) else ()


@dataclass(frozen=True, slots=True)
class Neighbor:
    """A static neighbour (ARP/ND entry): VPP sends to ``ip`` on ``interface`` with ``mac``
    as destination without resolving it (an L2 pod interface's own address, say)."""

    interface: IfRef
    ip: IPAddress
    mac: str

    @property
    def key(self) -> str:
        return f"neighbor {self.interface} {self.ip}"

    def needs(self) -> tuple[str, ...]:
        return (interface_key(self.interface),) if isinstance(self.interface, str) else ()


PathKind = Literal["normal", "drop", "local", "unreach"]  # unreach: answer ICMP unreachable


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
    """A service backend; ``src`` source-NATs traffic sent on this path to that address
    (a NodePort to another node's backend), ``no_nat`` forwards it untranslated (DSR)."""

    addr: IPAddress
    port: int
    src: IPAddress | None = None
    no_nat: bool = False

    def __str__(self) -> str:
        text = (
            f"[{self.addr}]:{self.port}" if self.addr.version == 6 else f"{self.addr}:{self.port}"
        )
        if self.src is not None:
            text += f" from {self.src}"
        return text + (" no-nat" if self.no_nat else "")


FlowField = Literal["src", "dst", "sport", "dport", "proto", "reverse", "symmetric"]
FIVE_TUPLE: tuple[FlowField, ...] = ("src", "dst", "sport", "dport", "proto")


@dataclass(frozen=True, slots=True)
class CnatTranslation:
    """Load-balance (vip, port, proto) over ``backends`` (a Service port)."""

    vip: IPAddress
    port: int
    proto: Protocol
    backends: tuple[Backend, ...]
    maglev: bool = True
    # Below: what VPP does not show in its dumps; kept in the ownership index.
    flow_hash: tuple[FlowField, ...] = FIVE_TUPLE  # the fields that pick a backend
    is_real_ip: bool = False  # the VIP is a real (node) address: keep its own forwarding
    no_client: bool = False  # no FIB entry: translated only on cnat-feature interfaces

    def __post_init__(self) -> None:
        object.__setattr__(self, "backends", tuple(sorted(set(self.backends), key=str)))

    @property
    def key(self) -> str:
        return cnat_key(self.vip, self.port, self.proto)

    def needs(self) -> tuple[str, ...]:
        return ()


def cnat_key(vip: IPAddress, port: int, proto: str) -> str:
    return f"cnat {proto} {vip} {port}"


@dataclass(frozen=True, slots=True)
class CnatFeature:
    """VPP's cnat feature nodes (input DNAT, output SNAT) enabled on an interface."""

    interface: IfRef

    @property
    def key(self) -> str:
        return f"cnat-feature {self.interface}"

    def needs(self) -> tuple[str, ...]:
        return (interface_key(self.interface),) if isinstance(self.interface, str) else ()


SNAT_ADDRESSES_KEY = "cnat snat-addresses"

SnatTable = Literal["include-v4", "include-v6", "pod", "host"]
SnatPolicyName = Literal["none", "if-pfx", "k8s"]


@dataclass(frozen=True, slots=True)
class SnatAddresses:
    """The node-wide addresses cnat source-NATs to (one default entry in VPP)."""

    ip4: ipaddress.IPv4Address | None
    ip6: ipaddress.IPv6Address | None

    @property
    def key(self) -> str:
        return SNAT_ADDRESSES_KEY

    def needs(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class SnatPolicy:
    """Which traffic cnat source-NATs; set on the default entry, so it needs the addresses."""

    policy: SnatPolicyName = "k8s"

    @property
    def key(self) -> str:
        return "cnat snat-policy"

    def needs(self) -> tuple[str, ...]:
        return (SNAT_ADDRESSES_KEY,)


@dataclass(frozen=True, slots=True)
class SnatInterface:
    """An interface in one of the SNAT policy's interface tables."""

    interface: IfRef
    table: SnatTable

    @property
    def key(self) -> str:
        return f"cnat snat-if {self.table} {self.interface}"

    def needs(self) -> tuple[str, ...]:
        own = (interface_key(self.interface),) if isinstance(self.interface, str) else ()
        return (SNAT_ADDRESSES_KEY, *own)


@dataclass(frozen=True, slots=True)
class SnatExclude:
    """A destination prefix cnat never source-NATs to (the cluster's own addresses)."""

    prefix: IPNetwork

    @property
    def key(self) -> str:
        return f"cnat snat-exclude {self.prefix}"

    def needs(self) -> tuple[str, ...]:
        return (SNAT_ADDRESSES_KEY,)


# -- npol: network policy (see docs/policy.md) ----------------------------------------------

NpolSetKind = Literal["ip", "net", "ip-and-port"]
IpPort = tuple[IPAddress, int, int]  # address, IP protocol number, port
NpolMember = IPAddress | IPNetwork | IpPort
NpolAction = Literal["allow", "deny", "pass"]  # pass: on to the interface's profiles
NpolDefault = Literal["allow", "deny", "pass"]


class NpolMembers(frozenset[NpolMember]):
    """IP set members; printed as a count, since sets hold thousands."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} members>"

    __str__ = __repr__


NO_MEMBERS: Final = NpolMembers()


@dataclass(frozen=True, slots=True)
class NpolIpset:
    """An npol IP set: addresses (``ip``), prefixes (``net``) or (address, proto, port)."""

    name: str
    kind: NpolSetKind
    members: NpolMembers = NO_MEMBERS
    key: str = field(init=False, repr=False, compare=False)  # kept: there are thousands

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", npol_ipset_key(self.name))

    def needs(self) -> tuple[str, ...]:
        return ()


def npol_ipset_key(name: str) -> str:
    return f"npol-ipset {name}"


@dataclass(frozen=True, slots=True)
class NpolFilter:
    """A protocol, ICMP type or ICMP code that must (``match``) or must not equal ``value``."""

    kind: Literal["proto", "icmp-type", "icmp-code"]
    value: int
    match: bool = True


@dataclass(frozen=True, slots=True)
class NpolEntry:
    """One npol rule entry: a CIDR, a port range or an IP set, on source or destination.

    Entries of one category (say positive source CIDRs) are OR-ed; categories are
    AND-ed; port ranges and ``port-ipset`` entries of one side form one category.
    """

    kind: Literal["cidr", "ports", "ipset", "port-ipset"]
    src: bool
    negated: bool = False
    cidr: IPNetwork | None = None
    ports: tuple[int, int] | None = None
    ipset: str | None = None  # an NpolIpset name


@dataclass(frozen=True, slots=True)
class NpolRule:
    name: str
    action: NpolAction
    filters: tuple[NpolFilter, ...] = ()
    entries: tuple[NpolEntry, ...] = ()
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", npol_rule_key(self.name))

    def needs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(npol_ipset_key(e.ipset) for e in self.entries if e.ipset))


def npol_rule_key(name: str) -> str:
    return f"npol-rule {name}"


@dataclass(frozen=True, slots=True)
class NpolPolicy:
    """Rules in order; ``inbound`` ones judge traffic to the pod, ``outbound`` from it."""

    name: str
    inbound: tuple[str, ...] = ()  # NpolRule names
    outbound: tuple[str, ...] = ()
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", npol_policy_key(self.name))

    def needs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(npol_rule_key(r) for r in (*self.inbound, *self.outbound)))


def npol_policy_key(name: str) -> str:
    return f"npol-policy {name}"


@dataclass(frozen=True, slots=True)
class NpolInterface:
    """The policies of one interface, by direction as seen from the pod, then its profiles."""

    interface: IfRef
    inbound: tuple[str, ...] = ()  # NpolPolicy names, in evaluation order
    outbound: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    inbound_default: NpolDefault = "pass"
    outbound_default: NpolDefault = "pass"
    profile_default: NpolDefault = "deny"

    @property
    def key(self) -> str:
        return f"npol-interface {self.interface}"

    def needs(self) -> tuple[str, ...]:
        """Only its interface: with a policy missing, it still binds, denying everything."""
        return (interface_key(self.interface),) if isinstance(self.interface, str) else ()


NPOL_TYPES = (NpolIpset, NpolRule, NpolPolicy, NpolInterface)


VppObject = (
    VrfTable
    | TunTap
    | AfPacket
    | MemifSocket
    | Memif
    | Vxlan
    | Ipip
    | Loopback
    | InterfaceAddress
    | Neighbor
    | Route
    | (CnatTranslation)
    | CnatFeature
    | SnatAddresses
    | SnatPolicy
    | SnatInterface
    | SnatExclude
    | NpolIpset
    | NpolRule
    | NpolPolicy
    | NpolInterface
)

INTERFACE_TYPES = (TunTap, AfPacket, Memif, Vxlan, Ipip, Loopback)

# Creation order: a kind only needs kinds of a lower rank. Deletes run in reverse.
RANK: dict[type, int] = {
    VrfTable: 0,
    MemifSocket: 0,
    TunTap: 1,
    AfPacket: 1,
    Vxlan: 1,
    Ipip: 1,
    Memif: 1,
    Loopback: 1,
    InterfaceAddress: 2,
    Neighbor: 2,
    Route: 3,
    CnatTranslation: 4,
    CnatFeature: 4,
    SnatAddresses: 4,
    SnatPolicy: 5,
    SnatInterface: 5,
    SnatExclude: 5,
    NpolIpset: 0,
    NpolRule: 1,
    NpolPolicy: 2,
    NpolInterface: 3,
}


def rank(obj: VppObject) -> int:
    return RANK[type(obj)]
