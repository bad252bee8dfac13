"""Per pod interface: anti-spoofing; per host endpoint: the report that it is not enforced."""

from __future__ import annotations

from ipaddress import IPv6Network

from agent.model import ClusterModel, PodInterface, WorkloadEndpoint, host_prefix
from agent.vppobjects import NpolEntry, NpolPolicy, NpolRule
from plugins.pods import interface_name
from plugins.policy_chain import PolicyProblem

LINK_LOCAL6 = IPv6Network("fe80::/10")


def antispoof_name(interface: str) -> str:
    return f"antispoof {interface}"


def antispoof(pod: PodInterface, endpoint: WorkloadEndpoint | None) -> tuple[NpolPolicy, NpolRule]:
    """A policy (and its one rule) denying what the pod sends from an address not its own.

    Allowed: the pod's addresses, the CNI's ``allowed_source_prefixes``, Felix's
    ``allow_spoofed_source_prefixes``, and IPv6 link-local addresses (neighbour
    discovery) for a pod with IPv6. One rule of negative source CIDRs: it matches
    (and denies) exactly a source that is in none of them.
    """
    allowed = {host_prefix(a.ip) for a in pod.addresses} | set(pod.allowed_source_prefixes)
    if endpoint is not None:
        allowed |= set(endpoint.allowed_source_prefixes)
    if any(a.version == 6 for a in pod.addresses):
        allowed.add(LINK_LOCAL6)
    name = antispoof_name(interface_name(pod))
    entries = tuple(NpolEntry("cidr", True, True, cidr=p) for p in sorted(allowed, key=str))
    rule = NpolRule(f"{name} out 0", "deny", (), entries)
    return NpolPolicy(name, outbound=(rule.name,)), rule


def host_endpoint_problems(model: ClusterModel) -> list[PolicyProblem]:
    """Host endpoints with policy: reported, since vppnet does not enforce them."""
    out = []
    for hep in model.host_endpoints.values():
        kinds = {
            "policy": hep.policy,
            "untracked policy": hep.untracked_policy,
            "pre-DNAT policy": hep.pre_dnat_policy,
            "forward policy": hep.forward_policy,
        }
        for what, assignment in kinds.items():
            if assignment.tiers or assignment.profile_ids:
                message = "host endpoint policy is not enforced by vppnet"
                out.append(PolicyProblem(f"host endpoint {hep.id}", what, message))
    return out
