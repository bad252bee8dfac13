"""Settings of the CNI server (nested by the agent config under ``cni``).

Every limit an annotation is checked against lives here, so an operator can
loosen or tighten per-pod tuning cluster-wide without a new build; unknown
keys are errors, like everywhere in the agent's config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_SOCKET = "/var/run/calico/cni-server.sock"
"""Where Calico's CNI config (``dataplane_options.socket``) points, as with calico-vpp."""

VXLAN_IPV4_OVERHEAD = 50
"""Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14): Calico's VXLAN figure."""


class CniSettings(BaseModel):
    """How pod interfaces are made when the CNI asks for one.

    ``network_mtu`` is used when the CNI config's ``mtu`` is 0 ("let the
    dataplane pick"); the pod MTU is that value (or the configured one) minus
    ``encap_overhead``, the bytes the encapsulation between nodes adds. Set
    ``encap_overhead`` to 0 when the CNI config already carries the pod MTU.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    socket: str = DEFAULT_SOCKET
    socket_mode: int = Field(default=0o600, ge=0, le=0o777, description="unix socket file mode")
    state_file: str = "/var/lib/vppnet/cni-state.json"
    default_interface_type: Literal["tun", "tap", "veth"] = "tun"
    network_mtu: int = Field(default=1500, ge=1280, le=9216)
    encap_overhead: int = Field(default=VXLAN_IPV4_OVERHEAD, ge=0, le=200)
    host_interface_prefix: str = Field(default="cali", min_length=1, max_length=4)
    default_rx_queues: int = Field(default=1, ge=1, le=64)
    default_queue_size: int = Field(default=1024, ge=64, le=32768)
    max_queues: int = Field(default=10, ge=1, le=64, description="per direction, per interface")
    max_queue_size: int = Field(default=4096, ge=64, le=32768)
    memif_enabled: bool = True
    vhost_net_path: str = Field(
        default="/dev/vhost-net",
        description="where this container sees the host's vhost-net device; without it "
        "tun and tap pod interfaces fall back to veth pairs",
    )

    @field_validator("socket", "state_file", "vhost_net_path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not Path(value).is_absolute():
            raise ValueError(f"must be an absolute path, got {value!r}")
        return value

    @field_validator("host_interface_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value.isalnum() or not value.isascii():
            raise ValueError(f"must be letters and digits, got {value!r}")
        return value

    @field_validator("default_queue_size", "max_queue_size")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value & (value - 1):
            raise ValueError(f"must be a power of 2 (VPP's ring sizes are), got {value}")
        return value
