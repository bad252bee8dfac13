"""Settings of the agent's control socket (``control``): where ``vppnet show`` asks.

A section of the agent's config; unknown keys are errors, as everywhere.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_SOCKET = "/run/vppnet/control.sock"


class ControlSettings(BaseModel):
    """The read-only unix socket the ``vppnet`` command reads the agent's views from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        default=True, description="serve the control socket (vppnet show pods, plan --live)"
    )
    socket: str = Field(
        default=DEFAULT_SOCKET,
        min_length=1,
        description="path of the unix socket; created mode 0600 (root only)",
    )
