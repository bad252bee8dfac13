"""VPP's API socket transport: 16-byte header frames over a unix stream socket."""

from agent.vppsim.transport.connection import MAX_FRAME, Connection
from agent.vppsim.transport.server import ApiServer

__all__ = ["MAX_FRAME", "ApiServer", "Connection"]
