"""Felix's endpoints: what Calico's policy engine says about each local interface.

A workload endpoint is Felix's view of a pod interface: its policy assignment
(tiers in order, then profiles), addresses and floating IPs. It is kept apart
from :class:`~agent.model.pods.PodInterface`, which is the CNI's view (how to
build the interface), because the two arrive from different sources in either
order (Felix may know an endpoint before the CNI ADD returns, and the CNI may
create an interface before Felix has computed its policy). Both are keyed by
the same :class:`~agent.model.pods.PodInterfaceKey`, so the join is a lookup:
see :meth:`ClusterModel.policy_for <agent.model.cluster.ClusterModel.policy_for>`.

Host endpoints (Calico HostEndpoint resources on this node) carry the extra
tier lists that only host interfaces have.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from agent.model.base import IPAddress, IPInterface, IPNetwork
from agent.model.pods import PodInterfaceKey, PolicyAssignment

K8S_ORCHESTRATOR: Final = "k8s"
"""Felix's orchestrator id for Kubernetes pods, whose workload id is ``<namespace>/<pod>``."""

_NO_POLICY: Final = PolicyAssignment()


@dataclass(frozen=True, slots=True)
class FloatingIp:
    """A 1:1 NAT of an external address to one of the endpoint's own (Calico ``ipNATs``)."""

    external: IPAddress
    internal: IPAddress


@dataclass(frozen=True, slots=True)
class WorkloadEndpoint:
    """A local pod interface as Felix describes it.

    ``host_interface_name`` is what the CNI answered as the host-side name and
    Felix echoes back; ``policy`` is authoritative for the interface's policy
    whenever the endpoint exists.
    """

    key: PodInterfaceKey
    policy: PolicyAssignment = _NO_POLICY
    host_interface_name: str = ""
    addresses: tuple[IPInterface, ...] = ()
    mac: str = ""
    floating_ips: tuple[FloatingIp, ...] = ()
    allowed_source_prefixes: tuple[IPNetwork, ...] = ()
    orchestrator: str = K8S_ORCHESTRATOR

    @property
    def ip_addresses(self) -> tuple[IPAddress, ...]:
        return tuple(address.ip for address in self.addresses)


@dataclass(frozen=True, slots=True)
class HostEndpoint:
    """A Calico host endpoint of this node.

    ``interface_name`` is the Linux interface it protects; empty means "all of
    the host's interfaces" (Calico's ``interfaceName: "*"``), in which case the
    endpoint is identified by ``expected_addresses``. Pre-DNAT, untracked and
    forward policies have their own tier lists; their profiles are always empty.
    """

    id: str
    interface_name: str = ""
    expected_addresses: tuple[IPAddress, ...] = ()
    policy: PolicyAssignment = _NO_POLICY
    untracked_policy: PolicyAssignment = _NO_POLICY
    pre_dnat_policy: PolicyAssignment = _NO_POLICY
    forward_policy: PolicyAssignment = _NO_POLICY
