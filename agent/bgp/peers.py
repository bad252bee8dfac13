"""Who this node peers with, from Calico's BGP configuration (and the speaker's settings).

Calico's rules, as calico-node's BIRD templates apply them:

* the local AS number is the node's (``projectcalico.org/ASNumber``), else the
  default BGPConfiguration's ``asNumber``, else 64512; another node's likewise;
* with the node-to-node mesh on (the default), every other node is a peer,
  once per IP family both nodes have an address of, on the BGPConfiguration's
  ``listenPort``, with ``nodeMeshPassword`` and ``nodeMeshMaxRestartTime``;
* a BGPPeer applies to the node it names, to the nodes its ``nodeSelector``
  selects, or (neither set) to every node. It peers with ``peerIP``
  (``ip`` or ``ip:port``, with ``asNumber``), or with every node its
  ``peerSelector`` selects (their own AS numbers and addresses);
* a node with a ``routeReflectorClusterID`` treats every peer that is not a
  route reflector of the same cluster as its route-reflector client;
* ``sourceAddress: UseNodeIP`` (the default) sources the session from the
  node's address; ``password.secretKeyRef`` is read from a Secret.

Sessions between cluster nodes also carry the L3VPN families (secondary
networks' routes); sessions with routers outside carry unicast only. A peer
whose configuration cannot be used is left out and reported as a
:class:`BgpConfigError` naming the BGPPeer and the field; the others stand.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from agent.bgp import paths, selector
from agent.bgp.config import BgpSettings, GracefulRestartSettings, StaticPeer
from agent.bgp.errors import BgpConfigError
from agent.model import (
    DEFAULT_ASN,
    DEFAULT_BGP_CONFIGURATION,
    BgpConfiguration,
    BgpPeer,
    ClusterModel,
    IPAddress,
    Node,
    SecretKeyRef,
)
from agent.proto_gen import gobgp_pb2 as pb

SecretReader = Callable[[SecretKeyRef], str | None]
DEFAULT_PORT = 179


@dataclass(frozen=True, slots=True)
class PeerSpec:
    """One BGP session as gobgpd is told it. ``source`` says where it comes from."""

    address: IPAddress
    asn: int
    port: int | None = None
    local_address: IPAddress | None = None
    password: str = field(default="", repr=False)
    rr_client: bool = False
    cluster_id: str = ""
    vpn: bool = False
    restart_time: int | None = None
    ttl_min: int | None = None
    source: str = field(default="", compare=False)

    def families(self) -> tuple[pb.Family, ...]:
        version = self.address.version
        if self.vpn:
            return (paths.family_of(version, False), paths.family_of(version, True))
        return (paths.family_of(version, False),)

    def to_pb(self, gr: GracefulRestartSettings, restarting: bool) -> pb.Peer:
        mp_gr = pb.MpGracefulRestart(config=pb.MpGracefulRestartConfig(enabled=gr.enabled))
        peer = pb.Peer(
            conf=pb.PeerConf(
                neighbor_address=str(self.address),
                peer_asn=self.asn,
                auth_password=self.password,
                description=self.source,
            ),
            transport=pb.Transport(
                local_address=str(self.local_address) if self.local_address else "",
                remote_port=self.port or 0,
            ),
            afi_safis=[
                pb.AfiSafi(
                    config=pb.AfiSafiConfig(family=f, enabled=True), mp_graceful_restart=mp_gr
                )
                for f in self.families()
            ],
        )
        if gr.enabled:
            peer.graceful_restart.CopyFrom(
                pb.GracefulRestart(
                    enabled=True,
                    restart_time=self.restart_time or gr.restart_time,
                    deferral_time=gr.deferral_time,
                    local_restarting=restarting,
                )
            )
        if self.rr_client:
            peer.route_reflector.CopyFrom(
                pb.RouteReflector(
                    route_reflector_client=True, route_reflector_cluster_id=self.cluster_id
                )
            )
        if self.ttl_min is not None:
            peer.ttl_security.CopyFrom(pb.TtlSecurity(enabled=True, ttl_min=self.ttl_min))
        return peer


@dataclass
class PeerPlan:
    peers: dict[IPAddress, PeerSpec] = field(default_factory=dict)
    problems: list[BgpConfigError] = field(default_factory=list)


def default_configuration(model: ClusterModel) -> BgpConfiguration:
    return model.bgp_configurations.get(
        DEFAULT_BGP_CONFIGURATION, BgpConfiguration(DEFAULT_BGP_CONFIGURATION)
    )


def node_asn(model: ClusterModel, node: Node) -> int:
    return node.asn or default_configuration(model).as_number or DEFAULT_ASN


def local_asn(model: ClusterModel, settings: BgpSettings, local: Node) -> int:
    return settings.asn or node_asn(model, local)


def listen_port(model: ClusterModel, settings: BgpSettings) -> int:
    if settings.listen_port is not None:
        return settings.listen_port
    return default_configuration(model).listen_port or DEFAULT_PORT


def desired_peers(
    model: ClusterModel, settings: BgpSettings, secrets: SecretReader | None = None
) -> PeerPlan:
    """Every session the local node should have, by peer address, and what was refused."""
    plan = PeerPlan()
    local = model.nodes.get(model.local_node_name)
    if local is None:
        return plan
    own = {a.ip for a in local.addresses}
    found: list[PeerSpec] = list(_mesh(model, settings, local, secrets, plan))
    for name in sorted(model.bgp_peers):
        try:
            found.extend(_bgp_peer(model, settings, local, model.bgp_peers[name], secrets))
        except BgpConfigError as e:
            plan.problems.append(e)
    for static in settings.peers:
        try:
            found.append(_static(local, static))
        except BgpConfigError as e:
            plan.problems.append(e)
    for spec in found:  # later sources win: BGPPeers over the mesh, the settings over both
        if spec.address not in own:
            plan.peers[spec.address] = spec
    return plan


def _mesh(
    model: ClusterModel,
    settings: BgpSettings,
    local: Node,
    secrets: SecretReader | None,
    plan: PeerPlan,
) -> Iterator[PeerSpec]:
    config = default_configuration(model)
    if config.node_to_node_mesh is False:
        return
    password = ""
    if config.node_mesh_password is not None:
        try:
            password = _secret(
                secrets,
                config.node_mesh_password,
                "BGPConfiguration default",
                "spec.nodeMeshPassword.secretKeyRef",
            )
        except BgpConfigError as e:
            plan.problems.append(e)
            return  # a mesh without its password would never come up: report, do not try
    port = listen_port(model, settings)
    for node in model.remote_nodes:
        yield from _node_sessions(
            model,
            local,
            node,
            f"node-to-node mesh with {node.name}",
            port=None if port in (DEFAULT_PORT, -1) else port,
            password=password,
            restart_time=config.node_mesh_max_restart_time,
        )


def _node_sessions(
    model: ClusterModel,
    local: Node,
    node: Node,
    source: str,
    *,
    port: int | None,
    password: str,
    restart_time: int | None,
    use_node_ip: bool = True,
    ttl_min: int | None = None,
) -> Iterator[PeerSpec]:
    """One session per IP family both nodes have an address of."""
    for version in (4, 6):
        mine, theirs = local.address_for(version), node.address_for(version)
        if mine is None or theirs is None:
            continue
        rr_client, cluster_id = _reflection(local, node)
        yield PeerSpec(
            address=theirs.ip,
            asn=node_asn(model, node),
            port=port,
            local_address=mine.ip if use_node_ip else None,
            password=password,
            vpn=True,
            restart_time=restart_time,
            ttl_min=ttl_min,
            source=source,
            rr_client=rr_client,
            cluster_id=cluster_id,
        )


def _reflection(local: Node, peer: Node | None) -> tuple[bool, str]:
    """(route-reflector client, cluster id): we reflect for every peer outside our cluster."""
    mine = local.route_reflector_cluster_id
    theirs = peer.route_reflector_cluster_id if peer is not None else None
    if mine and theirs != mine:
        return True, mine
    return False, ""


def _applies(peer: BgpPeer, local: Node) -> bool:
    what = f"BGPPeer {peer.name}"
    if peer.node:
        return peer.node == local.name
    if peer.node_selector:
        return _matches(peer.node_selector, local, what, "spec.nodeSelector")
    return True


def _matches(text: str, node: Node, what: str, where: str) -> bool:
    try:
        return selector.parse(text)(dict(node.labels))
    except selector.SelectorError as e:
        raise BgpConfigError(what, where, f"{text!r}: {e}") from None


def _bgp_peer(
    model: ClusterModel,
    settings: BgpSettings,
    local: Node,
    peer: BgpPeer,
    secrets: SecretReader | None,
) -> list[PeerSpec]:
    what = f"BGPPeer {peer.name}"
    if not _applies(peer, local):
        return []
    password = (
        _secret(secrets, peer.password, what, "spec.password.secretKeyRef")
        if peer.password is not None
        else ""
    )
    ttl_min = 255 - peer.ttl_security if peer.ttl_security else None
    if peer.peer_ip is not None:
        if peer.as_number is None:
            raise BgpConfigError(what, "spec.asNumber", "required with spec.peerIP")
        mine = local.address_for(peer.peer_ip.version)
        if mine is None:
            raise BgpConfigError(
                what,
                "spec.peerIP",
                f"{peer.peer_ip}: node {local.name} has no IPv{peer.peer_ip.version} address "
                "to peer from",
            )
        node = next(
            (n for n in model.nodes.values() if any(a.ip == peer.peer_ip for a in n.addresses)),
            None,
        )
        rr_client, cluster_id = _reflection(local, node)
        return [
            PeerSpec(
                address=peer.peer_ip,
                asn=peer.as_number,
                port=peer.peer_port,
                local_address=mine.ip if peer.source_address_node_ip else None,
                password=password,
                vpn=node is not None,
                restart_time=peer.max_restart_time,
                ttl_min=ttl_min,
                source=what,
                rr_client=rr_client,
                cluster_id=cluster_id,
            )
        ]
    if not peer.peer_selector:
        raise BgpConfigError(what, "spec", "set peerIP (with asNumber) or peerSelector")
    port = listen_port(model, settings)
    out: list[PeerSpec] = []
    for node in model.remote_nodes:
        if _matches(peer.peer_selector, node, what, "spec.peerSelector"):
            out += _node_sessions(
                model,
                local,
                node,
                f"{what} with node {node.name}",
                port=None if port in (DEFAULT_PORT, -1) else port,
                password=password,
                restart_time=peer.max_restart_time,
                use_node_ip=peer.source_address_node_ip,
                ttl_min=ttl_min,
            )
    return out


def _static(local: Node, static: StaticPeer) -> PeerSpec:
    what = f"bgp.peers {static.name}"
    address = ipaddress.ip_address(static.address)
    mine = local.address_for(address.version)
    if mine is None:
        raise BgpConfigError(
            what, "address", f"node {local.name} has no IPv{address.version} address"
        )
    password = ""
    if static.password_file is not None:
        try:
            password = Path(static.password_file).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise BgpConfigError(what, "password_file", f"cannot read: {e.strerror}") from None
    return PeerSpec(
        address=address,
        asn=static.asn,
        port=static.port,
        local_address=mine.ip,
        password=password,
        source=what,
    )


def _secret(secrets: SecretReader | None, ref: SecretKeyRef, what: str, where: str) -> str:
    if secrets is None:
        raise BgpConfigError(what, where, f"{ref}: no Secret reader is configured")
    value = secrets(ref)
    if value is None:
        raise BgpConfigError(what, where, f"{ref} does not exist or has no such key")
    return value
