"""Calico CNI gRPC dataplane: pod interfaces (tun, tap, memif, veth) added and deleted
on Calico's request, tuned by calico-vpp's pod annotations, persisted across restarts.

Wiring (the agent): ``restored = load_persisted(state, settings)``, then
``dataplane.resync()``, then ``server = CniServer(state, dataplane, settings,
store=restored.store)`` and ``await server.start()``; ``await server.stop()``
on shutdown. See docs/cni-flow.md.
"""

from agent.cni.backend import CniBackend
from agent.cni.background import ServerThread
from agent.cni.client import AsyncCniClient, CniClient, add_pods, add_request, request_for
from agent.cni.config import CniSettings
from agent.cni.errors import CniRequestError
from agent.cni.node import vhost_net_available
from agent.cni.restore import Restored, load_persisted
from agent.cni.server import CniServer
from agent.cni.store import CniStore, PodRecord

__all__ = [
    "AsyncCniClient",
    "CniBackend",
    "CniClient",
    "CniRequestError",
    "CniServer",
    "CniSettings",
    "CniStore",
    "PodRecord",
    "Restored",
    "ServerThread",
    "add_pods",
    "add_request",
    "load_persisted",
    "request_for",
    "vhost_net_available",
]
