"""Which network a CNI ADD attaches to, and whether it may.

Calico's CNI plug-in passes every string of its config's ``dataplane_options``
to the agent, so an ADD Multus makes for a NAD of vppnet carries that NAD's
``network_name``; without it the interface is on the default network (the
pod's ``eth0``, or a NAD of Calico's own). The network must be one the agent
knows, valid (:func:`plugins.networks.problems`: an invalid network programs
nothing, so its pods would get no interface), and not being deleted (a
terminating network is kept only for the pods already in it). A refusal names
the network and, when the pod's Multus annotation shows which attachment the
interface is for, the NAD, so the Event on the pod points at what to fix.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from agent.cni.errors import CniRequestError
from agent.cni.multus import MultusAnnotationError, attachment_for
from agent.model import DEFAULT_NETWORK, ClusterModel
from plugins.networks import problems

log = logging.getLogger(__name__)

NETWORK_OPTION = "network_name"  # dataplane_options key naming the Network (multinet)
FIELD = f"dataplane_options.{NETWORK_OPTION}"


def select_network(
    options: Mapping[str, str],
    annotations: Mapping[str, str],
    namespace: str,
    interface: str,
    model: ClusterModel,
) -> str:
    """The network of the interface; CniRequestError when it cannot be attached to."""
    network = options.get(NETWORK_OPTION, DEFAULT_NETWORK)
    if network == DEFAULT_NETWORK:
        return network
    where = _attachment(annotations, namespace, interface)
    known = model.networks.get(network)
    if known is None:
        raise CniRequestError(FIELD, f"{where}pod in an unknown network {network!r}")
    problem = problems(model).get(network)
    if problem is not None:
        raise CniRequestError(
            FIELD, f"{where}network {network!r} is invalid ({problem}); it programs nothing"
        )
    if known.terminating:
        raise CniRequestError(
            FIELD,
            f"{where}network {network!r} is being deleted: it takes no new pod interfaces",
        )
    return network


def _attachment(annotations: Mapping[str, str], namespace: str, interface: str) -> str:
    """``NAD ns/name (net1): `` for messages, or nothing when the pod does not say."""
    try:
        found = attachment_for(annotations, namespace, interface)
    except MultusAnnotationError as e:  # Multus parsed it; naming the NAD is a courtesy
        log.warning("CNI ADD %s/%s: %s", namespace, interface, e)
        return ""
    return f"NAD {found.nad} ({interface}): " if found is not None else ""
