"""Request handlers, one module per VPP feature; importing them fills ``REGISTRY``."""

from agent.vppsim.handlers import (  # noqa: F401  (imported for their registrations)
    af_packet,
    cnat,
    drivers,
    interfaces,
    ip,
    ip_neighbor,
    ipip,
    lcp,
    loopback,
    memclnt,
    memif,
    nat44,
    npol,
    tap,
    vxlan,
)
from agent.vppsim.handlers.base import (
    REGISTRY,
    Client,
    ClientRegistry,
    Ctx,
    EventHub,
    Handler,
    SimConfig,
)

__all__ = ["REGISTRY", "Client", "ClientRegistry", "Ctx", "EventHub", "Handler", "SimConfig"]
