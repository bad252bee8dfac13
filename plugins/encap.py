"""How packets for a remote pod prefix cross the fabric: directly, in VXLAN or in IPIP.

This is Calico's rule, per IP pool: ``vxlanMode``/``ipipMode`` ``Always``
encapsulates every packet to another node, ``CrossSubnet`` only when the
other node is not in the local node's subnet (its address is outside the
prefix of the local node address), ``Never`` does not. VXLAN wins when a pool
asks for both (Calico refuses that combination; a stale pool must not break
routing). IPIP carries IPv4 only, as in Calico. A prefix in no known pool is
routed directly, unless Felix said which kind of pool it lies in.

VXLAN uses Felix's ``VXLANVNI`` (Calico's 4096) on UDP port 4789. Tunnel
MTUs follow Felix's ``VXLANMTU``/``VXLANMTUV6``/``IpInIpMtu`` when set, else
a 1500-byte uplink MTU minus the encapsulation overhead, so that an
encapsulated full-size packet still fits the uplink.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from ipaddress import IPv4Interface, IPv6Interface
from typing import Final

from agent.model import EncapMode, IPAddress, IPInterface, IpPool, PoolEncap

DEFAULT_VNI: Final = 4096
VXLAN_PORT: Final = 4789
DEFAULT_UPLINK_MTU: Final = 1500

# Outer headers: IPv4 20 / IPv6 40, plus for VXLAN UDP 8 + VXLAN 8 + inner Ethernet 14.
OVERHEAD: Final[Mapping[tuple[str, int], int]] = {
    ("vxlan", 4): 50,
    ("vxlan", 6): 70,
    ("ipip", 4): 20,
}
_MTU_KEYS: Final[Mapping[tuple[str, int], str]] = {
    ("vxlan", 4): "VXLANMTU",
    ("vxlan", 6): "VXLANMTUV6",
    ("ipip", 4): "IpInIpMtu",
}


class Encap(StrEnum):
    DIRECT = "direct"
    VXLAN = "vxlan"
    IPIP = "ipip"


def same_subnet(local: IPInterface | None, remote: IPAddress) -> bool:
    """Whether ``remote`` lies in the subnet of the local node address (CrossSubnet's test)."""
    if local is None or local.version != remote.version:
        return False
    if isinstance(local, IPv4Interface | IPv6Interface) and local.network.prefixlen in (32, 128):
        return False  # a host prefix says nothing about the subnet: assume another one
    return remote in local.network


def _active(mode: EncapMode, same: bool) -> bool:
    return mode is EncapMode.ALWAYS or (mode is EncapMode.CROSS_SUBNET and not same)


def choose(
    version: int, pool: IpPool | None, same: bool, felix_pool: PoolEncap = PoolEncap.NONE
) -> Encap:
    """The encapsulation towards another node for a prefix of IP ``version``.

    ``pool`` is the prefix's IP pool if known; ``felix_pool`` is the pool type
    Felix reported with the route, used when the pool itself is unknown (it
    then encapsulates unless Felix said the nodes share a subnet).
    """
    if pool is not None:
        if _active(pool.vxlan_mode, same):
            return Encap.VXLAN
        if version == 4 and _active(pool.ipip_mode, same):
            return Encap.IPIP
        return Encap.DIRECT
    if felix_pool is PoolEncap.VXLAN and not same:
        return Encap.VXLAN
    if felix_pool is PoolEncap.IPIP and version == 4 and not same:
        return Encap.IPIP
    return Encap.DIRECT


def _config_int(config: Mapping[str, str], key: str) -> int | None:
    try:
        value = int(config.get(key, "").strip())
    except ValueError:
        return None
    return value if value > 0 else None


def vni(felix_config: Mapping[str, str]) -> int:
    """The default network's VXLAN VNI: Felix's ``VXLANVNI``, else Calico's 4096."""
    return _config_int(felix_config, "VXLANVNI") or DEFAULT_VNI


def tunnel_mtu(felix_config: Mapping[str, str], kind: Encap, version: int) -> int:
    """The L3 MTU of a tunnel of ``kind`` whose outer packets are of IP ``version``."""
    key = (kind.value, version)
    configured = _config_int(felix_config, _MTU_KEYS.get(key, ""))
    if configured is not None:
        return configured
    return DEFAULT_UPLINK_MTU - OVERHEAD.get(key, 0)
