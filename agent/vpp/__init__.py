"""The typed VPP layer: the only package that talks to VPP (and imports vpp_papi).

One module per VPP feature builds typed requests and parses typed dumps;
:class:`VppConnection` executes them (one at a time or pipelined) and turns
negative retvals into :class:`VppApiError`.
"""

from __future__ import annotations

from types import ModuleType

from agent.vpp.connection import VppConnection, VppVersion
from agent.vpp.errors import (
    VppApiError,
    VppApiMismatchError,
    VppConnectionError,
    VppError,
    VppRequestError,
)

BASE_MESSAGES = ("show_version", "control_ping")


def messages_of(*modules: ModuleType) -> tuple[str, ...]:
    """Every request message the given feature modules may send (for the start-up check)."""
    names: list[str] = list(BASE_MESSAGES)
    for module in modules:
        names.extend(module.MESSAGES)
    return tuple(dict.fromkeys(names))


__all__ = [
    "VppApiError",
    "VppApiMismatchError",
    "VppConnection",
    "VppConnectionError",
    "VppError",
    "VppRequestError",
    "VppVersion",
    "messages_of",
]
