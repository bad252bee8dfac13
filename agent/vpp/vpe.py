"""VPP's own process: who is answering on the API socket.

npol objects cannot be dumped, so a restarted VPP (which forgot them) is told
apart from the one vppnet programmed by its process id, among other signs
(see :mod:`agent.reconcile.npol`).
"""

from __future__ import annotations

from agent.vpp.request import Request

MESSAGES = ("control_ping",)


def vpe_pid() -> Request[int]:
    """The process id of the VPP that answers (``control_ping_reply.vpe_pid``)."""
    return Request("control_ping", {}, lambda r: int(r.vpe_pid), "VPP process id")
