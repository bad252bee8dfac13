"""BGP through a real gobgpd: the speaker, its settings and its errors.

:class:`BgpSpeaker` runs and supervises gobgpd (over its gRPC API), peers as
Calico's BGP configuration says, announces what :mod:`plugins.routing`
renders and writes what it learns into the cluster model. See docs/bgp.md.
"""

from agent.bgp.config import BgpSettings, GracefulRestartSettings, StaticPeer
from agent.bgp.errors import BgpApiError, BgpConfigError, BgpError, GobgpdMissingError
from agent.bgp.speaker import BgpSpeaker, BgpStatus

__all__ = [
    "BgpApiError",
    "BgpConfigError",
    "BgpError",
    "BgpSettings",
    "BgpSpeaker",
    "BgpStatus",
    "GobgpdMissingError",
    "GracefulRestartSettings",
    "StaticPeer",
]
