"""The agent's configuration: one YAML file (the DaemonSet's ConfigMap), strictly validated.

Unknown keys are errors, not silently ignored settings: a typo in a
ConfigMap must not leave a node running with a default the operator
thought they had changed.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.bgp.config import BgpSettings
from agent.cni.config import CniSettings
from agent.control.config import ControlSettings
from agent.felix.config import FelixSettings
from agent.k8s.config import K8sSettings
from agent.telemetry.config import LoggingSettings, TelemetrySettings
from plugins.nat import NatSettings
from plugins.services import ServiceSettings

DEFAULT_CONFIG_PATH = "/etc/vppnet/config.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VppSettings(_Strict):
    socket: str = "/run/vpp/api.sock"
    api_dir: str | None = None  # None: the API definitions shipped with vppnet
    timeout: float = Field(default=5.0, gt=0, description="seconds to wait for any VPP reply")
    connect_wait: float = Field(default=30.0, ge=0, description="seconds to wait for VPP's socket")
    pipeline_window: int = Field(default=64, ge=1, le=4096)
    stats_socket: str | None = Field(
        default="/run/vpp/stats.sock",
        description="VPP's stats segment socket (interface counters for /metrics); "
        "null: no interface counters",
    )


class PodSettings(_Strict):
    gso: bool = True
    csum_offload: bool = True


class ServicesConfig(_Strict):
    node_port_addresses: list[str] = Field(
        default_factory=list,
        description="addresses that take NodePorts besides the Node object's own ones "
        "(e.g. the host tun's, when it differs)",
    )

    @field_validator("node_port_addresses")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return [str(ipaddress.ip_address(v)) for v in value]

    def settings(self) -> ServiceSettings:
        return ServiceSettings(tuple(ipaddress.ip_address(a) for a in self.node_port_addresses))


class NatConfig(_Strict):
    uplink_interface: str | None = Field(
        default=None, description="VPP name of the uplink (SNAT and NodePorts on it)"
    )
    host_interface: str | None = Field(
        default=None, description="VPP name of the host's tun/tap (services from the host)"
    )

    def settings(self) -> NatSettings:
        return NatSettings(self.uplink_interface, self.host_interface)


class AgentConfig(_Strict):
    node_name: str | None = None  # None: the NODENAME environment variable (the DaemonSet's)
    vpp: VppSettings = VppSettings()
    state_dir: str = "/var/lib/vppnet"
    pods: PodSettings = PodSettings()
    cni: CniSettings = CniSettings()
    felix: FelixSettings = FelixSettings()
    services: ServicesConfig = ServicesConfig()
    nat: NatConfig = NatConfig()
    kubernetes: K8sSettings | None = None  # None: no Kubernetes watches
    bgp: BgpSettings | None = None  # None: no BGP speaker (gobgpd not started)
    kubeconfig: str | None = None  # None: the in-cluster service account
    sync_timeout: float = Field(
        default=120.0, gt=0, description="seconds to wait for the sources' first full sync"
    )
    resync_interval: float = Field(
        default=300.0, gt=0, description="seconds between full reads of VPP (drift repair)"
    )
    liveness_interval: float = Field(
        default=2.0, gt=0, description="seconds between VPP liveness pings"
    )
    telemetry: TelemetrySettings = TelemetrySettings()  # /livez, /readyz, /metrics
    logging: LoggingSettings = LoggingSettings()  # text or JSON lines, level
    control: ControlSettings = ControlSettings()  # the read-only socket of vppnet show/plan

    @property
    def index_path(self) -> Path:
        return Path(self.state_dir) / "vpp-index.json"


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names file and field."""


def load_config(path: str | os.PathLike[str] | None = None) -> AgentConfig:
    """Read the config file; no file at the default path means all defaults."""
    if path is None:
        path = os.environ.get("VPPNET_CONFIG", DEFAULT_CONFIG_PATH)
        if not Path(path).exists():
            return AgentConfig()
    p = Path(path)
    try:
        data: Any = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise ConfigError(f"{p}: cannot read: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: invalid YAML: {e}") from e
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as e:
        problems = [
            f"{p}: {'.'.join(str(x) for x in err['loc']) or '(document)'}: {err['msg']}"
            for err in e.errors()
        ]
        raise ConfigError("\n".join(problems)) from None
