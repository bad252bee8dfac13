"""Settings of the Felix driver server (nested into the agent's config by the CLI).

The proxy inside calico-node reads its own settings from the environment
(``VPPNET_FELIX_SOCKET`` and friends, see docs/felix.md); ``socket`` here must
name the same path, which both containers see through a hostPath volume.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agent.felix.framing import DEFAULT_MAX_FRAME

DEFAULT_SOCKET = "/var/run/calico/vppnet-felix.sock"


class FelixSettings(BaseModel):
    """How the agent listens for Felix (through felix-proxy) and reports back to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    socket: str = Field(
        default=DEFAULT_SOCKET, min_length=1, description="agent-side unix socket (mode 0600)"
    )
    max_frame_bytes: int = Field(
        default=DEFAULT_MAX_FRAME,
        ge=1024,
        le=1 << 31,
        description="frames announcing more are skipped and reported, not buffered",
    )
    status_interval: float | None = Field(
        default=None,
        ge=0,
        description="seconds between process status reports to Felix; "
        "None follows Felix's ReportingIntervalSecs; 0 disables them",
    )
    endpoint_status: bool = Field(
        default=True, description="report each workload endpoint up/down/error to Felix"
    )
    batch_messages: int = Field(
        default=500,
        ge=1,
        description="after InSync, at most this many messages per model update",
    )
    converge_retry: float = Field(
        default=5.0, gt=0, description="seconds before retrying a converge that raised"
    )
