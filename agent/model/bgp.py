"""BGP in the cluster model: Calico's BGP resources, and the routes the fabric taught us.

``BgpConfiguration`` and ``BgpPeer`` are Calico's ``BGPConfiguration`` and
``BGPPeer`` resources as the Kubernetes watches read them; the BGP speaker
turns them (with the nodes) into gobgpd's global settings and peers.
``LearnedRoute`` is a best path gobgpd learned from a peer: the speaker
writes them here so that the connectivity and networks plugins program them
like any other route (the plugins never talk to gobgpd).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from agent.model.base import DEFAULT_NETWORK, IPAddress, IPNetwork

DEFAULT_BGP_CONFIGURATION: Final = "default"
"""Calico's cluster-wide BGPConfiguration; ``node.<name>`` ones override it per node."""

DEFAULT_ASN: Final = 64512
"""Calico's AS number when neither the node nor the BGPConfiguration sets one."""


@dataclass(frozen=True, slots=True, order=True)
class SecretKeyRef:
    """A key of a Secret (in the namespace calico-node runs in), e.g. a BGP password."""

    name: str
    key: str

    def __str__(self) -> str:
        return f"secret {self.name}/{self.key}"


@dataclass(frozen=True, slots=True)
class BgpConfiguration:
    """A Calico BGPConfiguration. ``None`` fields are unset: the default one's value (or
    Calico's default) applies. Service CIDRs say which service addresses are advertised."""

    name: str
    as_number: int | None = None
    node_to_node_mesh: bool | None = None
    listen_port: int | None = None
    service_cluster_ips: tuple[IPNetwork, ...] = ()
    service_external_ips: tuple[IPNetwork, ...] = ()
    service_load_balancer_ips: tuple[IPNetwork, ...] = ()
    node_mesh_password: SecretKeyRef | None = None
    node_mesh_max_restart_time: int | None = None  # seconds


@dataclass(frozen=True, slots=True)
class BgpPeer:
    """A Calico BGPPeer: who peers (``node`` or ``node_selector``; neither: every node)
    with whom (``peer_ip`` with ``as_number``, or the nodes ``peer_selector`` selects).

    A node that is selected as a peer by a node with a ``route_reflector_cluster_id``
    is that route reflector's client.
    """

    name: str
    node: str = ""
    node_selector: str = ""
    peer_ip: IPAddress | None = None
    peer_port: int | None = None
    as_number: int | None = None
    peer_selector: str = ""
    password: SecretKeyRef | None = None
    keep_original_next_hop: bool = False
    max_restart_time: int | None = None  # seconds
    source_address_node_ip: bool = True  # sourceAddress: UseNodeIP (Calico's default)
    ttl_security: int | None = None


@dataclass(frozen=True, slots=True)
class LearnedRoute:
    """A best path learned from a BGP peer: ``prefix`` via ``next_hop`` in ``network``.

    Routes of the default network are plain unicast; those of a secondary
    network are VPN routes whose route distinguisher carries the network's VNI.
    ``peer`` is the neighbor it came from (for operators, not for forwarding).
    """

    prefix: IPNetwork
    next_hop: IPAddress
    network: str = DEFAULT_NETWORK
    peer: IPAddress | None = None

    @property
    def key(self) -> tuple[str, IPNetwork]:
        return (self.network, self.prefix)
