"""The agent's control socket: read-only views of a running agent for the ``vppnet`` command.

The runtime constructs one :class:`ControlServer` over its state, dataplane and
status, starts it after telemetry and stops it at shutdown. The command line
uses :mod:`agent.control.client` and renders with :mod:`agent.control.output`.
This package sits beside telemetry in the import layers: it reads the layers
below it and nothing below imports it.
"""

from __future__ import annotations

from agent.control.config import DEFAULT_SOCKET, ControlSettings
from agent.control.protocol import MAX_REQUEST, REQUESTS, AgentUnavailableError, ControlError
from agent.control.server import ControlServer
from agent.control.views import Views

__all__ = [
    "DEFAULT_SOCKET",
    "MAX_REQUEST",
    "REQUESTS",
    "AgentUnavailableError",
    "ControlError",
    "ControlServer",
    "ControlSettings",
    "Views",
]
