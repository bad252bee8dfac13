"""A VPP binary-API codec driven by vppapigen's ``*.api.json`` files.

Written for the simulator so that it needs nothing from vpp_papi: the client
side of the wire is papi, the server side is this, and a property test keeps
the two byte-identical.
"""

from agent.vppsim.codec.addresses import IPAddress, IPInterface, IPNetwork, mac_bytes, union_address
from agent.vppsim.codec.nodes import CodecError, CodecValueError, Msg
from agent.vppsim.codec.schema import ApiSchema, MessageDef, ModuleDef, ServiceDef
from agent.vppsim.codec.structs import UnionValue

__all__ = [
    "ApiSchema",
    "CodecError",
    "CodecValueError",
    "IPAddress",
    "IPInterface",
    "IPNetwork",
    "MessageDef",
    "ModuleDef",
    "Msg",
    "ServiceDef",
    "UnionValue",
    "mac_bytes",
    "union_address",
]
