"""Routes to the other nodes' pod blocks, so local pods reach remote ones.

This is Calico's direct mode: each remote node's pod blocks of the default
network are routed via that node's address, which VPP resolves through the
uplink's connected route (the nodes share a subnet or the fabric routes
between them). Encapsulated modes (VXLAN, IPIP) and per-network tunnels
build on the same per-node rendering.
"""

from __future__ import annotations

from collections.abc import Iterator

from agent.model import DEFAULT_NETWORK, DEFAULT_VRF_TABLE_ID, ClusterModel, Node
from agent.vppobjects import Route, RoutePath, VppObject


def render(model: ClusterModel) -> Iterator[VppObject]:
    for node in model.remote_nodes:
        yield from render_node(node)


def render_node(node: Node) -> Iterator[VppObject]:
    for block in node.blocks(DEFAULT_NETWORK):
        gateway = node.address_for(block.version)
        if gateway is None:
            continue  # no node address of that family: the block is unreachable from here
        yield Route(DEFAULT_VRF_TABLE_ID, block, (RoutePath(nh=gateway.ip),))
