"""Pure translators from the cluster model to desired VPP objects (no I/O, no VPP).

:func:`render` runs every plugin and merges their objects by key. Two
plugins may want the same object (every pod of a network wants its VRF);
they must then want exactly the same thing, otherwise the model is
inconsistent and :class:`RenderError` names both versions.
"""

from __future__ import annotations

from collections.abc import Iterable

from agent.model import ClusterModel
from agent.vppobjects import VppObject
from plugins import connectivity, ipenable, nat, networks, pods, policy, service_table
from plugins.services import ServiceSettings


class RenderError(ValueError):
    """Two plugins want different objects under the same key."""


def merge(objects: Iterable[VppObject]) -> dict[str, VppObject]:
    desired: dict[str, VppObject] = {}
    for obj in objects:
        previous = desired.setdefault(obj.key, obj)
        if previous != obj:
            raise RenderError(f"conflicting desired objects for {obj.key}: {previous} vs {obj}")
    return desired


def core(
    model: ClusterModel,
    pod_defaults: pods.PodDefaults | None = None,
    nat_settings: nat.NatSettings | None = None,
    *,
    with_policy: bool = True,
) -> dict[str, VppObject]:
    """Everything but the services, from a model :func:`networks.usable` has checked;
    IP enabled on every interface by :func:`ipenable.apply`. ``with_policy=False``
    leaves out the npol objects (no interfaces among them, keys of their own), for a
    caller that takes them from :func:`policy.rendered` keyed already."""
    merged = merge(
        [
            *pods.render(model, pod_defaults or pods.PodDefaults()),
            *connectivity.render(model),
            *networks.render(model),
            *nat.render(model, nat_settings),
            *(policy.render(model) if with_policy else ()),
        ]
    )
    return merge(ipenable.apply(merged.values()))


def render(
    model: ClusterModel,
    pod_defaults: pods.PodDefaults | None = None,
    service_settings: ServiceSettings | None = None,
    nat_settings: nat.NatSettings | None = None,
) -> dict[str, VppObject]:
    """The whole desired VPP state of the local node.

    Services come last and never displace another plugin's object (a service's
    external IP equal to a pod's address, say): :func:`service_table.overlay`.
    """
    model = networks.usable(model)  # an invalid network programs nothing, pods included
    desired = core(model, pod_defaults, nat_settings)
    service_table.overlay(desired, service_table.render(model, service_settings))
    return desired
