"""Per-feature objects: what each VPP plugin keeps besides the interface."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from agent.vppsim.codec import IPAddress, IPInterface, IPNetwork, Msg
from agent.vppsim.netdev import HostDevice


class IdPool:
    """VPP pool semantics: the smallest free index, freed indexes reused.

    O(log n) per operation, so 10,000 translations cost nothing.
    """

    def __init__(self, first: int = 0) -> None:
        self.used: set[int] = set()
        self._freed: list[int] = []
        self._next = first

    def alloc(self) -> int:
        while self._freed:
            i = heapq.heappop(self._freed)
            if i not in self.used:
                self.used.add(i)
                return i
        while self._next in self.used:
            self._next += 1
        self.used.add(self._next)
        return self._next

    def reserve(self, i: int) -> None:
        self.used.add(i)

    def free(self, i: int) -> None:
        if i in self.used:
            self.used.discard(i)
            heapq.heappush(self._freed, i)


@dataclass
class Tap:
    sw_if_index: int
    id: int
    tun: bool
    tap_flags: int
    tx_ring_sz: int
    rx_ring_sz: int
    num_rx_queues: int
    num_tx_queues: int
    host_if_name: str
    host_namespace: str
    host_bridge: str
    host_mtu_size: int
    host_mac: bytes
    host_ip4: IPInterface | None
    host_ip6: IPInterface | None
    host_ip4_gw: IPAddress | None
    host_ip6_gw: IPAddress | None
    device: HostDevice | None = None


@dataclass
class AfPacket:
    sw_if_index: int
    host_if_name: str
    mode: int
    flags: int
    num_rx_queues: int
    num_tx_queues: int


@dataclass
class NativeUplink:
    """An uplink created through a driver plugin's API (af_xdp, rdma, avf)."""

    sw_if_index: int
    driver: str
    host_if: str  # Linux interface name (af_xdp, rdma) or PCI address text (avf)
    rx_queues: int
    tx_queues: int
    rx_queue_size: int
    tx_queue_size: int
    mode: int


@dataclass
class Memif:
    sw_if_index: int
    socket_id: int
    id: int
    role: int
    mode: int
    rx_queues: int
    tx_queues: int
    ring_size: int
    buffer_size: int
    zero_copy: bool
    use_dma: bool
    secret: str


@dataclass
class VxlanTunnel:
    sw_if_index: int
    instance: int
    src: IPAddress
    dst: IPAddress
    src_port: int
    dst_port: int
    mcast_sw_if_index: int
    encap_vrf_id: int
    decap_next_index: int
    vni: int
    is_l3: bool

    @property
    def key(self) -> tuple[IPAddress, IPAddress, int, int, int, int]:
        """VPP's vxlan4/6 tunnel key: local, remote, ports, encap fib, vni."""
        return (self.src, self.dst, self.src_port, self.dst_port, self.encap_vrf_id, self.vni)


@dataclass
class Neighbor:
    sw_if_index: int
    ip: IPAddress
    mac: bytes
    flags: int
    stats_index: int
    updated: float


@dataclass
class PuntRedirect:
    rx_sw_if_index: int
    tx_sw_if_index: int
    nh: IPAddress


@dataclass
class CnatTranslation:
    id: int
    vip: Msg
    ip_proto: int
    is_real_ip: int
    flags: int
    lb_type: int
    flow_hash_config: int
    paths: list[Msg]


@dataclass
class Cnat:
    translations: dict[int, CnatTranslation] = field(default_factory=dict)
    by_key: dict[tuple[object, int, int], int] = field(default_factory=dict)
    ids: IdPool = field(default_factory=IdPool)
    snat_entry: bool = False  # VPP's default SNAT entry exists (cnat_set_snat_addresses)
    snat_policy: int = 0
    snat_ip4: IPAddress | None = None
    snat_ip6: IPAddress | None = None
    snat_sw_if_index: int = 0xFFFFFFFF
    exclude_prefixes: set[IPNetwork] = field(default_factory=set)
    policy_interfaces: dict[int, set[int]] = field(default_factory=dict)
    enabled_interfaces: set[int] = field(default_factory=set)
    session_purges: int = 0


@dataclass
class Nat44:
    enabled: bool = False
    inside_vrf: int = 0
    outside_vrf: int = 0
    sessions: int = 0
    session_memory: int = 0
    flags: int = 0
    interfaces: dict[int, int] = field(default_factory=dict)
    interface_addrs: dict[int, int] = field(default_factory=dict)
    addresses: dict[IPAddress, tuple[int, int]] = field(default_factory=dict)


@dataclass
class NpolIpset:
    """Members as Python values: an address, a network, or (address, l4 proto, port)."""

    type: int
    members: set[object] = field(default_factory=set)


@dataclass
class NpolInterfaceConfig:
    rx_policies: list[int]
    tx_policies: list[int]
    profiles: list[int]
    invert_rx_tx: bool
    policy_default_rx: int
    policy_default_tx: int
    profile_default_rx: int
    profile_default_tx: int


@dataclass
class Npol:
    ipsets: dict[int, NpolIpset] = field(default_factory=dict)
    rules: dict[int, Msg] = field(default_factory=dict)
    policies: dict[int, list[Msg]] = field(default_factory=dict)
    interfaces: dict[int, NpolInterfaceConfig] = field(default_factory=dict)
    ipset_ids: IdPool = field(default_factory=IdPool)
    rule_ids: IdPool = field(default_factory=IdPool)
    policy_ids: IdPool = field(default_factory=IdPool)


@dataclass
class LcpPair:
    phy_sw_if_index: int
    host_sw_if_index: int
    vif_index: int
    host_if_name: str
    host_if_type: int
    netns: str


@dataclass
class Lcp:
    pairs: dict[int, LcpPair] = field(default_factory=dict)
    default_ns: str = ""
