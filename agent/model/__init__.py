"""The typed cluster model every plugin reads.

Pure data: frozen dataclasses and ``ipaddress`` types, no I/O and no validation
library. It is filled by the CNI server, the Felix driver and the Kubernetes watchers
(and by scenario files), each of which validates its own input before building it.
"""

from agent.model.base import (
    DEFAULT_NETWORK,
    DEFAULT_VRF_TABLE_ID,
    IPAddress,
    IPInterface,
    IPNetwork,
    L4Protocol,
    PortRange,
    host_prefix,
    prefix_contains,
    prefixes_overlap,
)
from agent.model.cluster import ClusterModel
from agent.model.endpoints import K8S_ORCHESTRATOR, FloatingIp, HostEndpoint, WorkloadEndpoint
from agent.model.ipsets import IpPortMember, IpSet, IpSetMember, IpSetType
from agent.model.networks import NadRef, Network
from agent.model.nodes import Node, PodBlock
from agent.model.podmeta import PodMeta, PodRef
from agent.model.pods import (
    ExtraMemif,
    HostPort,
    InterfaceType,
    MemifMode,
    MemifRole,
    PodInterface,
    PodInterfaceKey,
    PolicyAssignment,
    RxMode,
    SteeredPorts,
    TierAssignment,
)
from agent.model.policy import (
    ICMP_PROTOCOLS,
    PORT_PROTOCOLS,
    PROTOCOL_NUMBERS,
    IcmpMatch,
    IpProtocol,
    IpVersion,
    Policy,
    PolicyId,
    Profile,
    Rule,
    RuleAction,
    protocol_number,
)
from agent.model.pools import EncapMode, IpPool
from agent.model.routes import CalicoRoute, PoolEncap, RouteType, VxlanTunnelEndpoint
from agent.model.services import (
    DEFAULT_SESSION_AFFINITY_TIMEOUT,
    EndpointPort,
    LbType,
    Service,
    ServiceEndpoint,
    ServiceKey,
    ServicePort,
    ServiceType,
    SessionAffinity,
    TrafficPolicy,
)

__all__ = [
    "DEFAULT_NETWORK",
    "DEFAULT_SESSION_AFFINITY_TIMEOUT",
    "DEFAULT_VRF_TABLE_ID",
    "ICMP_PROTOCOLS",
    "K8S_ORCHESTRATOR",
    "PORT_PROTOCOLS",
    "PROTOCOL_NUMBERS",
    "CalicoRoute",
    "ClusterModel",
    "EncapMode",
    "EndpointPort",
    "ExtraMemif",
    "FloatingIp",
    "HostEndpoint",
    "HostPort",
    "IPAddress",
    "IPInterface",
    "IPNetwork",
    "IcmpMatch",
    "InterfaceType",
    "IpPool",
    "IpPortMember",
    "IpProtocol",
    "IpSet",
    "IpSetMember",
    "IpSetType",
    "IpVersion",
    "L4Protocol",
    "LbType",
    "MemifMode",
    "MemifRole",
    "NadRef",
    "Network",
    "Node",
    "PodBlock",
    "PodInterface",
    "PodInterfaceKey",
    "PodMeta",
    "PodRef",
    "Policy",
    "PolicyAssignment",
    "PolicyId",
    "PoolEncap",
    "PortRange",
    "Profile",
    "RouteType",
    "Rule",
    "RuleAction",
    "RxMode",
    "Service",
    "ServiceEndpoint",
    "ServiceKey",
    "ServicePort",
    "ServiceType",
    "SessionAffinity",
    "SteeredPorts",
    "TierAssignment",
    "TrafficPolicy",
    "VxlanTunnelEndpoint",
    "WorkloadEndpoint",
    "host_prefix",
    "prefix_contains",
    "prefixes_overlap",
    "protocol_number",
]
