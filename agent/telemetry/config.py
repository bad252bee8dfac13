"""Settings of the health/metrics endpoint (``telemetry``) and of logging (``logging``).

Both sections of the agent's config; unknown keys are errors, as everywhere.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_ADDRESS = "0.0.0.0:9191"
"""The agent runs with hostNetwork, so its port is the node's: 9191 is clear of
kubelet (10250), Felix (9091, 9099), Typha (9093) and node-exporter (9100)."""


def split_address(value: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` -> (host, port); ValueError naming what is wrong."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{value!r} is not host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    ipaddress.ip_address(host)  # ValueError for a name: the agent binds addresses only
    number = int(port)
    if not 0 <= number <= 65535:
        raise ValueError(f"port {number} is out of range")
    return host, number


class TelemetrySettings(BaseModel):
    """The HTTP endpoint serving /livez, /readyz and /metrics."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="serve /livez, /readyz and /metrics")
    address: str = Field(
        default=DEFAULT_ADDRESS,
        description="host:port to listen on ([::]:port for IPv6; port 0 picks a free one)",
    )
    liveness_timeout: float = Field(
        default=60.0,
        gt=0,
        description="seconds without a tick of the agent's main loop (or of its event "
        "loop) after which /livez fails and the kubelet restarts the agent",
    )
    counters_cache: float = Field(
        default=5.0,
        ge=0,
        description="seconds a read of VPP's interface counters is reused by scrapes, so "
        "that several scrapers do not each walk VPP",
    )

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        split_address(value)
        return value


class LoggingSettings(BaseModel):
    """How the agent logs: human text, or one JSON object per line for a log pipeline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["text", "json"] = Field(default="text", description="text or json lines")
    level: Literal["debug", "info", "warning", "error"] = Field(
        default="info",
        description="the agent's log level; debug adds one line per VPP object programmed "
        "(the command line's -v forces debug)",
    )
