"""VPP's API return codes (``src/vnet/error.h``) and the exception handlers raise.

Handlers validate first and raise ``ApiError`` before touching state, so a
failed request leaves the simulator exactly as it was, as in VPP.
"""

from __future__ import annotations

UNSPECIFIED = -1
INVALID_SW_IF_INDEX = -2
NO_SUCH_FIB = -3
NO_SUCH_ENTRY = -6
INVALID_VALUE = -7
INVALID_VALUE_2 = -8
UNIMPLEMENTED = -9
INVALID_SW_IF_INDEX_2 = -10
SYSCALL_ERROR_1 = -11
SYSCALL_ERROR_2 = -12
SYSCALL_ERROR_3 = -13
FEATURE_DISABLED = -30
INVALID_REGISTRATION = -31
NO_PATHS_IN_ROUTE = -52
NO_MATCHING_INTERFACE = -54
ADDRESS_LENGTH_MISMATCH = -59
ADDRESS_NOT_FOUND_FOR_INTERFACE = -60
NO_SUCH_TABLE = -65
INVALID_INTERFACE = -71
INVALID_ARGUMENT = -73
TUNNEL_EXIST = -75
IF_ALREADY_EXISTS = -79
VALUE_EXIST = -81
INVALID_ADDRESS_FAMILY = -97
ADDRESS_IN_USE = -105
ADDRESS_FOUND_FOR_INTERFACE = -114
ENTRY_ALREADY_EXISTS = -116
INVALID_QUEUE = -125
UNSUPPORTED = -126
DUPLICATE_IF_ADDRESS = -127
NETLINK_ERROR = -145
INSTANCE_IN_USE = -147
EAGAIN = -165
FEATURE_ALREADY_DISABLED = -169
FEATURE_ALREADY_ENABLED = -170


class ApiError(Exception):
    """A request VPP would refuse; ``retval`` goes into the reply."""

    def __init__(self, retval: int, reason: str = "") -> None:
        super().__init__(f"retval {retval}: {reason}" if reason else f"retval {retval}")
        self.retval = retval
        self.reason = reason
