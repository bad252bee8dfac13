"""Settings of the Kubernetes sources (``K8sSettings``), validated by pydantic.

The lead's agent configuration embeds them; unknown keys are refused so that a
typo in a ConfigMap is an error at start-up, not a silently ignored option.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class K8sSettings(BaseModel):
    """How vppnet watches the Kubernetes API and writes back to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    node_name: str | None = Field(
        default=None,
        min_length=1,
        description="this node's Kubernetes name; None: the agent's own (node_name, NODENAME)",
    )
    watch_timeout_seconds: int = Field(
        default=300,
        ge=10,
        description="server-side timeout of one watch request; each watch asks for a random "
        "duration between this and twice this, so agents do not re-watch in lockstep",
    )
    request_timeout_seconds: float = Field(default=30.0, gt=0, description="for lists and writes")
    page_size: int = Field(default=500, ge=1, description="objects per list page (limit/continue)")
    backoff_initial_seconds: float = Field(default=0.5, gt=0, description="first retry delay")
    backoff_max_seconds: float = Field(default=30.0, gt=0, description="retry delay ceiling")
    missing_resource_retry_seconds: float = Field(
        default=60.0,
        gt=0,
        description="how often to look again for a resource the API server does not serve "
        "(a CRD that is not installed yet, such as calico-vpp's Network)",
    )
    debounce_seconds: float = Field(
        default=0.1, ge=0, description="quiet time before converging after a burst of events"
    )
    max_delay_seconds: float = Field(
        default=1.0,
        gt=0,
        description="converge at the latest this long after the first event of a burst",
    )
    calico_vpp_networks: bool = Field(
        default=True,
        description="also read calico-vpp's Network objects (projectcalico.org/v3 networks); "
        "a vppnet.io Network of the same name takes precedence",
    )
    node_pod_cidrs: bool = Field(
        default=False,
        description="route each node's spec.podCIDRs as its default-network pod blocks; only "
        "for Calico with host-local IPAM (usePodCidr), where pods take addresses from "
        "them; with Calico IPAM the blocks come from Felix",
    )
    write_status: bool = Field(
        default=True,
        description="write Network status conditions and usage, the Network finalizer, "
        "and Events (needs RBAC: networks/status patch, networks patch, events create)",
    )
    calico_bgp: bool = Field(
        default=False,
        description="read Calico's BGPConfiguration and BGPPeer objects (crd.projectcalico.org) "
        "for the BGP speaker (needs RBAC: list/watch on both)",
    )
    publish_pod_prefixes: bool = Field(
        default=True,
        description="announce this node's secondary-network pod prefixes on its Node "
        "(annotation vppnet.io/network-prefixes), which the other nodes route to it",
    )

    @model_validator(mode="after")
    def _backoff_bounds(self) -> K8sSettings:
        if self.backoff_max_seconds < self.backoff_initial_seconds:
            raise ValueError("backoff_max_seconds must be >= backoff_initial_seconds")
        if self.max_delay_seconds < self.debounce_seconds:
            raise ValueError("max_delay_seconds must be >= debounce_seconds")
        return self
