"""Our peers in gobgpd: add the desired sessions, delete the others, replace changed ones.

gobgpd is the source of truth for which peers exist (``ListPeer``); what we
configured for each is remembered from the last AddPeer, since gobgpd does
not show everything back (a password, for one). A peer whose settings change
is deleted and added again: UpdatePeer cannot change every field, and a
configuration change is rare enough for one session reset to be the honest
price. After a gobgpd restart every peer is added with the graceful-restart
*restarting* flag, so peers keep our routes until we sent our End-of-RIB.
"""

from __future__ import annotations

import logging

from agent.bgp.client import GobgpClient
from agent.bgp.config import GracefulRestartSettings
from agent.bgp.errors import BgpApiError
from agent.bgp.peers import PeerSpec
from agent.model import IPAddress
from agent.proto_gen import gobgp_pb2 as pb

log = logging.getLogger(__name__)

ESTABLISHED = pb.PeerState.ESTABLISHED


class PeerManager:
    def __init__(self) -> None:
        self._applied: dict[str, PeerSpec] = {}

    def reset(self) -> None:
        """gobgpd was (re)started: it has no peers."""
        self._applied = {}

    def sync(
        self,
        client: GobgpClient,
        desired: dict[IPAddress, PeerSpec],
        gr: GracefulRestartSettings,
        restarting: bool,
    ) -> list[str]:
        """Make gobgpd's peers ``desired``; the problems met (the rest went on)."""
        wanted = {str(address): spec for address, spec in desired.items()}
        present = {p.conf.neighbor_address for p in client.peers()}
        problems: list[str] = []
        for address in sorted(present - wanted.keys()):
            try:
                client.delete_peer(address)
            except BgpApiError as e:
                problems.append(str(e))
                continue
            self._applied.pop(address, None)
            log.info("BGP: removed peer %s", address)
        for address, spec in sorted(wanted.items()):
            if address in present and self._applied.get(address) == spec:
                continue
            try:
                if address in present:
                    client.delete_peer(address)
                client.add_peer(spec.to_pb(gr, restarting))
            except BgpApiError as e:
                problems.append(f"{spec.source}: {e}")
                self._applied.pop(address, None)
                continue
            self._applied[address] = spec
            log.info("BGP: peer %s AS %d (%s)", address, spec.asn, spec.source)
        return problems


def session_states(peers: list[pb.Peer]) -> dict[str, str]:
    """Peer address -> session state name (ESTABLISHED, ACTIVE...)."""
    return {
        p.conf.neighbor_address: pb.PeerState.SessionState.Name(p.state.session_state)
        for p in peers
    }


def restart_complete(peers: list[pb.Peer]) -> bool:
    """Every peer is established and sent its End-of-RIB for each family where graceful
    restart was negotiated: what it knows has arrived again."""
    for peer in peers:
        if peer.state.session_state != ESTABLISHED:
            return False
        for afi_safi in peer.afi_safis:
            state = afi_safi.mp_graceful_restart.state
            if state.enabled and not state.end_of_rib_received:
                return False
    return True
