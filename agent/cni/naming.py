"""Names a pod interface is known by outside the pod.

The host interface name is what the CNI reply gives Calico: it becomes the
workload endpoint's ``interfaceName`` and comes back from Felix as the
endpoint name, so it must be unique on the node and stable across ADDs. For
``eth0`` it is Calico's own name (``cali`` + 11 hex digits of SHA-1 of
``<namespace>.<pod>``, which the plugin sends as
``desired_host_interface_name``); Calico hashes only the pod, so additional
interfaces hash the interface name in as well. The same rule builds scenario
pods (agent.scenario.defaults), so a pod has one name whichever way it came.
For a veth pod it is also the real name of the pair's host end.
"""

from __future__ import annotations

import hashlib
import re

from agent.cni.errors import CniRequestError
from agent.cni.validate import check_ifname

PRIMARY = "eth0"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def host_interface_name(
    namespace: str, pod: str, interface: str, desired: str = "", prefix: str = "cali"
) -> str:
    if interface == PRIMARY and desired:
        return check_ifname("desired_host_interface_name", desired)
    seed = f"{namespace}.{pod}" if interface == PRIMARY else f"{namespace}.{pod}.{interface}"
    return prefix + hashlib.sha1(seed.encode()).hexdigest()[:11]


def check_namespace(field: str, value: str) -> str:
    """A Kubernetes namespace: a DNS-1123 label."""
    if not value:
        raise CniRequestError(field, "is empty")
    if len(value) > 63 or not _DNS_LABEL.fullmatch(value):
        raise CniRequestError(field, f"{value!r} is not a valid Kubernetes namespace name")
    return value


def check_pod_name(field: str, value: str) -> str:
    """A Kubernetes pod name: a DNS-1123 subdomain."""
    if not value:
        raise CniRequestError(field, "is empty")
    if len(value) > 253 or not _DNS_SUBDOMAIN.fullmatch(value):
        raise CniRequestError(field, f"{value!r} is not a valid Kubernetes pod name")
    return value
