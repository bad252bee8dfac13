"""Typed errors of the VPP layer.

papi never raises on a negative retval (it hands back the reply); every
wrapper here turns one into a :class:`VppApiError` that carries the message
name, the retval and VPP's own error name, so an operator reading a log line
or a plan report knows exactly which call failed and why.
"""

from __future__ import annotations

# VNET_API_ERROR_* values from VPP's src/vnet/error.h that the agent can meet.
_ERROR_NAMES: dict[int, str] = {
    -1: "UNSPECIFIED",
    -2: "INVALID_SW_IF_INDEX",
    -3: "NO_SUCH_FIB",
    -4: "NO_SUCH_INNER_FIB",
    -5: "NO_SUCH_LABEL",
    -6: "NO_SUCH_ENTRY",
    -7: "INVALID_VALUE",
    -8: "INVALID_VALUE_2",
    -9: "UNIMPLEMENTED",
    -10: "INVALID_SW_IF_INDEX_2",
    -11: "SYSCALL_ERROR_1",
    -12: "SYSCALL_ERROR_2",
    -13: "SYSCALL_ERROR_3",
    -30: "FEATURE_DISABLED",
    -60: "ADDRESS_NOT_FOUND_FOR_INTERFACE",
    -65: "NO_SUCH_TABLE",
    -71: "INVALID_INTERFACE",
    -73: "INVALID_ARGUMENT",
    -75: "TUNNEL_EXIST",
    -79: "IF_ALREADY_EXISTS",
    -81: "VALUE_EXIST",
    -105: "ADDRESS_IN_USE",
    -114: "ADDRESS_FOUND_FOR_INTERFACE",
    -116: "ENTRY_ALREADY_EXISTS",
    -126: "UNSUPPORTED",
    -127: "DUPLICATE_IF_ADDRESS",
    -147: "INSTANCE_IN_USE",
    -165: "EAGAIN",
    -169: "FEATURE_ALREADY_DISABLED",
    -170: "FEATURE_ALREADY_ENABLED",
}


def error_name(retval: int) -> str:
    """VPP's name for a retval (``VNET_API_ERROR_`` prefix dropped)."""
    return _ERROR_NAMES.get(retval, f"ERROR_{retval}")


class VppError(Exception):
    """Base of every error raised by the VPP layer."""


class VppApiError(VppError):
    """VPP answered a request with a negative retval."""

    def __init__(self, message: str, retval: int, detail: str = "") -> None:
        self.message = message
        self.retval = retval
        self.error_name = error_name(retval)
        self.detail = detail
        text = f"{message} failed: retval {retval} ({self.error_name})"
        super().__init__(f"{text}: {detail}" if detail else text)


class VppRequestError(VppError):
    """A request that could not be sent: unknown to this VPP or not encodable."""


class VppConnectionError(VppError):
    """The API socket is unreachable, closed, or stopped answering."""


class VppApiMismatchError(VppError):
    """The connected VPP lacks messages (or has other CRCs) the agent needs.

    Raised at start-up so the agent never reconciles with a partial API.
    """

    def __init__(self, version: str, problems: list[str]) -> None:
        self.version = version
        self.problems = problems
        lines = "\n  ".join(problems)
        super().__init__(
            f"VPP {version or '(unknown version)'} does not offer {len(problems)} "
            f"message(s) vppnet needs (built for VPP v26.06):\n  {lines}"
        )
