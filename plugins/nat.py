"""Source NAT (Calico's natOutgoing, hairpin) and hostPorts, with VPP's cnat plugin.

Why cnat and not nat44-ed: the services are cnat translations already, and two NAT
engines on one interface would each keep sessions for packets the other rewrote;
nat44-ed is IPv4 only, while natOutgoing pools may be IPv6; and cnat's Kubernetes
SNAT policy (``CNAT_POLICY_K8S``) encodes the cases a node needs:

* a packet entering from an interface of the ``include-v4``/``include-v6`` table
  (pods of natOutgoing pools, per family) to a destination outside the excluded
  prefixes (every pool and every network range: the cluster itself) leaves with the
  node's address, like Felix's ``cali-nat-outgoing`` MASQUERADE;
* a packet whose source and destination are equal after DNAT (a pod reaching its
  own service: hairpin) is source-NATed, so the reply comes back through VPP;
* a packet that enters and leaves through interfaces that are not pods' (``pod``
  table) is source-NATed (outside -> NodePort -> another node), keeping the return
  path symmetric; nothing leaving towards the host (``host`` table) is.

Hence every local pod interface is in the ``pod`` table, and the cnat feature (DNAT on
input, SNAT on output) is enabled on it and on the uplink and host interfaces when
their VPP names are configured. The SNAT entry and policy exist whenever this node's
address is known (hairpin needs them even without natOutgoing pools).

hostPorts (``PodInterface.host_ports``, from the CNI's portmap capability) become cnat
translations from the node's addresses (or the requested ``hostIP``) to the pod:
real-IP translations, so the node's own traffic to other ports is untouched. Only
pods of the default network get them: node addresses are the default network's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from agent.model import DEFAULT_NETWORK, ClusterModel, IPAddress, Node, PodInterface
from agent.vppobjects import (
    Backend,
    CnatFeature,
    CnatTranslation,
    SnatAddresses,
    SnatExclude,
    SnatInterface,
    SnatPolicy,
    SnatTable,
    VppName,
    VppObject,
)
from plugins.pods import interface_name


@dataclass(frozen=True, slots=True)
class NatSettings:
    """The VPP names of this node's uplink and host interface (made by the manager)."""

    uplink_interface: str | None = None
    host_interface: str | None = None


def render(model: ClusterModel, settings: NatSettings | None = None) -> Iterator[VppObject]:
    settings = settings or NatSettings()
    node = model.nodes.get(model.local_node_name)
    pods = [model.pod_interfaces[k] for k in sorted(model.pod_interfaces)]
    for pod in pods:
        yield CnatFeature(interface_name(pod))
    for name in (settings.uplink_interface, settings.host_interface):
        if name:
            yield CnatFeature(VppName(name))
    yield from host_ports(pods, node)
    if node is None or not node.addresses:
        return
    v4 = node.ipv4_address.ip if node.ipv4_address is not None else None
    v6 = node.ipv6_address.ip if node.ipv6_address is not None else None
    yield SnatAddresses(v4, v6)
    yield SnatPolicy("k8s")
    cluster = {pool.cidr for pool in model.pools.values()}
    cluster.update(r for network in model.networks.values() for r in network.ranges)
    for prefix in sorted(cluster, key=lambda p: (p.version, p.network_address, p.prefixlen)):
        yield SnatExclude(prefix)
    families: tuple[tuple[int, IPAddress | None, SnatTable], ...] = (
        (4, v4, "include-v4"),
        (6, v6, "include-v6"),
    )
    for pod in pods:
        name = interface_name(pod)
        yield SnatInterface(name, "pod")
        for version, snat_address, table in families:
            if snat_address is not None and _nat_outgoing(model, pod, version):
                yield SnatInterface(name, table)
    if settings.host_interface:
        yield SnatInterface(VppName(settings.host_interface), "host")


def _nat_outgoing(model: ClusterModel, pod: PodInterface, version: int) -> bool:
    for address in pod.addresses_for(version):
        pool = model.pool_containing(address)
        if pool is not None and pool.nat_outgoing:
            return True
    return False


def host_ports(pods: list[PodInterface], node: Node | None) -> Iterator[CnatTranslation]:
    """One translation per hostPort and node address of the pod's family; the first pod
    (by key) to claim a (hostIP, port, protocol) keeps it."""
    addresses: tuple[IPAddress, ...] = tuple(a.ip for a in node.addresses) if node else ()
    taken: set[str] = set()
    for pod in pods:
        if pod.network != DEFAULT_NETWORK:
            continue
        for hp in pod.host_ports:
            wildcard = hp.host_ip is None or hp.host_ip.is_unspecified
            vips = addresses if wildcard or hp.host_ip is None else (hp.host_ip,)
            for vip in vips:
                backends = tuple(
                    Backend(a, hp.container_port)
                    for a in pod.ip_addresses
                    if a.version == vip.version
                )
                if not backends:
                    continue
                obj = CnatTranslation(
                    vip, hp.host_port, hp.protocol.value, backends, is_real_ip=True
                )
                if obj.key not in taken:
                    taken.add(obj.key)
                    yield obj
