"""Settings of the BGP speaker (``BgpSettings``), validated by pydantic.

Most of BGP's configuration comes from Calico (BGPConfiguration, BGPPeer,
the node's address and AS number); these settings say how to run gobgpd on
this node and override the few things an operator may want to pin locally.
Unknown keys are refused, so a typo in the ConfigMap fails start-up instead
of leaving a node with a default the operator thought they had changed.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GracefulRestartSettings(_Strict):
    """RFC 4724 graceful restart, both as restarting speaker and as helper of our peers."""

    enabled: bool = True
    restart_time: int = Field(
        default=120,
        ge=1,
        le=4095,
        description="seconds our peers keep our routes while gobgpd restarts; also how long "
        "we keep routes learned before a gobgpd restart until the peers have sent theirs again",
    )
    deferral_time: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="seconds a restarted gobgpd waits for its peers' End-of-RIB before "
        "choosing best paths anyway",
    )


class StaticPeer(_Strict):
    """A peer from this file rather than from a Calico BGPPeer (e.g. a top-of-rack router)."""

    name: str = Field(min_length=1)
    address: str
    asn: int = Field(ge=1, le=4_294_967_295)
    port: int | None = Field(default=None, ge=1, le=65535)
    password_file: str | None = Field(
        default=None, description="file holding the TCP MD5 password (a mounted Secret)"
    )

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return str(ipaddress.ip_address(value))


class BgpSettings(_Strict):
    """How this node's gobgpd runs and peers."""

    gobgpd_path: str = Field(
        default="gobgpd", description="the gobgpd binary: a path, or a name looked up in PATH"
    )
    api_socket: str = Field(
        default="/run/vppnet/gobgpd.sock",
        description="unix socket of gobgpd's gRPC API (never a TCP port: nothing else on the "
        "node may drive the speaker)",
    )
    netns: str | None = Field(
        default=None,
        description="network namespace (name under /var/run/netns, or a path) to run gobgpd "
        "in; None: the agent's own",
    )
    log_level: Literal["debug", "info", "warn", "error"] = "info"
    asn: int | None = Field(
        default=None,
        ge=1,
        le=4_294_967_295,
        description="local AS number; None: the node's (projectcalico.org/ASNumber), else the "
        "default BGPConfiguration's, else Calico's 64512",
    )
    router_id: str | None = Field(
        default=None, description="BGP identifier; None: the node's IPv4 address"
    )
    listen_port: int | None = Field(
        default=None,
        ge=-1,
        le=65535,
        description="BGP port; None: the BGPConfiguration's listenPort, else 179; -1: do not "
        "listen (outgoing sessions only)",
    )
    listen_addresses: list[str] | None = Field(
        default=None, description="addresses gobgpd listens on; None: the node's addresses"
    )
    graceful_restart: GracefulRestartSettings = GracefulRestartSettings()
    peers: list[StaticPeer] = Field(default_factory=list)
    password_secret_namespace: str = Field(
        default="calico-system",
        min_length=1,
        description="where BGPPeer and nodeMeshPassword secretKeyRefs are read: calico-node's "
        "namespace (calico-system with the Tigera operator, kube-system with manifests)",
    )
    restart_backoff_initial: float = Field(
        default=0.5, gt=0, description="seconds before restarting a crashed gobgpd"
    )
    restart_backoff_max: float = Field(
        default=30.0, gt=0, description="ceiling of the doubling restart delay"
    )
    stable_after: float = Field(
        default=60.0,
        gt=0,
        description="seconds a gobgpd must have run for its next crash to restart at once again",
    )
    start_timeout: float = Field(
        default=10.0, gt=0, description="seconds to wait for gobgpd's API after starting it"
    )
    request_timeout: float = Field(default=10.0, gt=0, description="seconds per gRPC call")
    debounce_seconds: float = Field(
        default=0.05,
        ge=0,
        description="quiet time before applying a burst of model or RIB changes",
    )
    max_delay_seconds: float = Field(
        default=0.5, gt=0, description="apply a burst at the latest this long after it began"
    )

    @field_validator("router_id")
    @classmethod
    def _router_id(cls, value: str | None) -> str | None:
        if value is not None and not isinstance(ipaddress.ip_address(value), ipaddress.IPv4Address):
            raise ValueError("a BGP router id is an IPv4 address")
        return value

    @field_validator("listen_addresses")
    @classmethod
    def _listen(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [str(ipaddress.ip_address(v)) for v in value]

    @model_validator(mode="after")
    def _bounds(self) -> BgpSettings:
        if self.restart_backoff_max < self.restart_backoff_initial:
            raise ValueError("restart_backoff_max must be >= restart_backoff_initial")
        if self.max_delay_seconds < self.debounce_seconds:
            raise ValueError("max_delay_seconds must be >= debounce_seconds")
        names = [p.name for p in self.peers]
        if len(names) != len(set(names)):
            raise ValueError("peers: names must be unique")
        return self
