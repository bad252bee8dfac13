"""gobgpd's global settings (``StartBgp``) for the local node.

The AS number follows Calico (see :mod:`agent.bgp.peers`), the router id is
the node's IPv4 address (BGP identifiers are IPv4-shaped; an IPv6-only node
needs ``bgp.router_id``), and gobgpd listens on the node's addresses only,
on the BGPConfiguration's ``listenPort`` (179 by default). Graceful restart
is announced so that peers keep our routes while gobgpd restarts.
"""

from __future__ import annotations

from agent.bgp.config import BgpSettings
from agent.bgp.errors import BgpConfigError
from agent.bgp.peers import listen_port, local_asn
from agent.model import ClusterModel
from agent.proto_gen import gobgp_pb2 as pb


def global_config(model: ClusterModel, settings: BgpSettings) -> pb.Global:
    """The Global message for StartBgp; BgpConfigError while the node is not fully known."""
    local = model.nodes.get(model.local_node_name)
    what = f"node {model.local_node_name}"
    if local is None:
        raise BgpConfigError(what, "(node)", "not in the cluster model yet")
    router_id = settings.router_id
    if router_id is None:
        v4 = local.ipv4_address
        if v4 is None:
            raise BgpConfigError(
                what, "addresses", "no IPv4 address for the BGP router id; set bgp.router_id"
            )
        router_id = str(v4.ip)
    listen = settings.listen_addresses
    if listen is None:
        listen = [str(a.ip) for a in local.addresses]
    gr = settings.graceful_restart
    return pb.Global(
        asn=local_asn(model, settings, local),
        router_id=router_id,
        listen_port=listen_port(model, settings),
        listen_addresses=listen,
        graceful_restart=pb.GracefulRestart(
            enabled=gr.enabled, restart_time=gr.restart_time, deferral_time=gr.deferral_time
        ),
    )
