"""``vppnet manager`` settings: one strict pydantic model, read from YAML.

Unknown keys are errors (extra=forbid): a typo in the uplink section must
stop the manager before it touches the node, with a message naming the key,
never leave it running with a default the operator thought they had changed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Driver = Literal["af_packet", "af_xdp", "dpdk", "rdma", "virtio", "avf", "vmxnet3"]
HostInterfaceType = Literal["tun", "tap", "veth"]

_IFNAME = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")
_PCI = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
SIM = "sim"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _ifname(value: str | None) -> str | None:
    if value is not None and (not _IFNAME.match(value) or value in (".", "..")):
        raise ValueError(f"{value!r} is not a Linux interface name (1-15 of A-Z a-z 0-9 _ . : @ -)")
    return value


def _power_of_two(value: int) -> int:
    if value & (value - 1):
        raise ValueError(f"{value} is not a power of two")
    return value


class AfPacketSettings(_Strict):
    """af_packet ring geometry; 0 leaves VPP's defaults (TPACKET_V3 blocks)."""

    rx_frame_size: int = Field(default=0, ge=0)
    tx_frame_size: int = Field(default=0, ge=0)
    rx_frames_per_block: int = Field(default=0, ge=0)
    tx_frames_per_block: int = Field(default=0, ge=0)
    qdisc_bypass: bool = True


class AfXdpSettings(_Strict):
    mode: Literal["auto", "copy", "zero-copy"] = "auto"
    program: str = ""  # an eBPF object; empty: VPP's built-in redirect-everything program


class RdmaSettings(_Strict):
    mode: Literal["auto", "ibv", "dv"] = "auto"


class UplinkSettings(_Strict):
    interface: str = Field(description="Linux name of the NIC VPP takes over")
    driver: Driver = "af_packet"
    rx_queues: int = Field(default=1, ge=1, le=256)
    tx_queues: int = Field(default=1, ge=1, le=256)
    rx_queue_size: int = Field(default=1024, ge=64, le=32768)
    tx_queue_size: int = Field(default=1024, ge=64, le=32768)
    mtu: int | None = Field(default=None, ge=1280, le=65535, description="None: keep the NIC's")
    pci_address: str | None = None  # None: the kernel's (for dpdk, virtio, vmxnet3, avf)
    kernel_driver: str | None = None  # PCI drivers: what to bind the device to (vfio-pci ...)
    af_packet: AfPacketSettings = AfPacketSettings()
    af_xdp: AfXdpSettings = AfXdpSettings()
    rdma: RdmaSettings = RdmaSettings()

    _name = field_validator("interface")(_ifname)

    @field_validator("rx_queue_size", "tx_queue_size")
    @classmethod
    def _sizes(cls, v: int) -> int:
        return _power_of_two(v)

    @field_validator("pci_address")
    @classmethod
    def _pci(cls, v: str | None) -> str | None:
        if v is not None and not _PCI.match(v):
            raise ValueError(f"{v!r} is not a PCI address like 0000:00:03.0 (lower-case hex)")
        return v


class HostInterfaceSettings(_Strict):
    """The interface that gives the host its connectivity back, through VPP."""

    type: HostInterfaceType = "tun"
    name: str | None = None  # None: the uplink's name when the kernel loses the NIC, else vpp0
    rx_queues: int = Field(default=1, ge=1, le=64)
    tx_queues: int = Field(default=1, ge=1, le=64)
    ring_size: int = Field(default=1024, ge=64, le=32768)

    _name = field_validator("name")(_ifname)

    @field_validator("ring_size")
    @classmethod
    def _ring(cls, v: int) -> int:
        return _power_of_two(v)


class VppSettings(_Strict):
    binary: str = Field(default="/usr/bin/vpp", description="the VPP executable, or 'sim'")
    socket: str = "/run/vpp/api.sock"
    cli_socket: str = "/run/vpp/cli.sock"
    stats_socket: str | None = Field(
        default="/run/vpp/stats.sock",
        description="VPP's stats segment socket (the agent's interface counters); null: none",
    )
    startup_conf: str = "/etc/vpp/startup.conf"
    start_timeout: float = Field(default=30.0, gt=0, description="seconds to wait for the socket")
    api_timeout: float = Field(default=5.0, gt=0)
    stop_timeout: float = Field(default=10.0, gt=0)
    restart: bool = False
    restart_backoff: float = Field(default=1.0, gt=0)
    restart_backoff_max: float = Field(default=60.0, gt=0)
    max_restarts: int | None = Field(default=None, ge=0)

    @property
    def simulated(self) -> bool:
        return self.binary == SIM


class CpuSettings(_Strict):
    main_core: int | None = Field(default=None, ge=0)
    workers: int = Field(default=0, ge=0, le=256)
    corelist_workers: str | None = None  # "2-5,8": pins workers; overrides ``workers``

    @field_validator("corelist_workers")
    @classmethod
    def _corelist(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"\d+(-\d+)?(,\d+(-\d+)?)*", v):
            raise ValueError(f"{v!r} is not a core list like 2-5,8")
        return v


class MemorySettings(_Strict):
    page_size: Literal["4k", "hugepage"] = "4k"
    main_heap_size: str = "1G"
    buffers_per_numa: int = Field(default=16384, ge=1024)
    buffer_data_size: int | None = Field(default=None, ge=512, le=65535)

    @field_validator("main_heap_size")
    @classmethod
    def _size(cls, v: str) -> str:
        if not re.fullmatch(r"\d+[KMG]?", v):
            raise ValueError(f"{v!r} is not a size like 512M or 1G")
        return v


class SystemPaths(_Strict):
    """Where the manager reads the host's state; a container may mount them elsewhere."""

    sysfs: str = "/sys"
    procfs: str = "/proc"
    run: str = "/run"
    vhost_net: str = "/dev/vhost-net"


class ManagerSettings(_Strict):
    uplink: UplinkSettings
    host_interface: HostInterfaceSettings = HostInterfaceSettings()
    vpp: VppSettings = VppSettings()
    cpu: CpuSettings = CpuSettings()
    memory: MemorySettings = MemorySettings()
    startup_extra: list[str] = Field(default_factory=list, description="appended to startup.conf")
    state_file: str = "/var/lib/vppnet/uplink-state.json"
    system: SystemPaths = SystemPaths()

    @model_validator(mode="after")
    def _host_name(self) -> ManagerSettings:
        if self.host_interface.name == self.uplink.interface and self.uplink.driver in (
            "af_packet",
            "af_xdp",
            "rdma",
        ):
            raise ValueError(
                f"host_interface.name: {self.uplink.interface} stays the uplink's Linux name with "
                f"the {self.uplink.driver} driver; pick another name"
            )
        return self


class ManagerConfigError(ValueError):
    """A settings file that cannot be used; the message names the file and the key."""


def parse_settings(data: Any, source: str = "settings") -> ManagerSettings:
    try:
        return ManagerSettings.model_validate(data)
    except ValidationError as e:
        problems = [
            f"{source}: {'.'.join(str(x) for x in err['loc']) or '(document)'}: {err['msg']}"
            for err in e.errors()
        ]
        raise ManagerConfigError("\n".join(problems)) from None


def load_settings(path: str | os.PathLike[str]) -> ManagerSettings:
    """Read a YAML settings file: the ``manager`` section of the ConfigMap, or its own file."""
    p = Path(path)
    try:
        data: Any = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise ManagerConfigError(f"{p}: cannot read: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise ManagerConfigError(f"{p}: invalid YAML: {e}") from e
    if isinstance(data, dict) and set(data) == {"manager"}:
        data = data["manager"]
    return parse_settings(data, str(p))
