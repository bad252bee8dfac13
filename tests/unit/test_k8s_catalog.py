"""The network catalog: precedence between the two CRDs, NAD attachments, kept networks."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from agent.k8s.catalog import NetworkCatalog, Origin, with_networks
from agent.model import ClusterModel, NadRef, Network, PodInterface, PodInterfaceKey
from tests.k8sfake import objects as o

NET = ipaddress.ip_network
IF = ipaddress.ip_interface


def aged(obj: dict[str, object], second: int) -> dict[str, object]:
    obj["metadata"]["creationTimestamp"] = f"2026-01-01T00:00:{second:02d}Z"  # type: ignore[index]
    return obj


def test_vppnet_wins_then_the_oldest_calico_vpp_network() -> None:
    catalog = NetworkCatalog()
    catalog.replace_networks(
        Origin.CALICO_VPP,
        [
            aged(o.calico_vpp_network("blue", 2, "172.20.0.0/16", "late"), 9),
            aged(o.calico_vpp_network("blue", 1, "172.19.0.0/16", "early"), 1),
            o.calico_vpp_network("green", 3, "172.23.0.0/16"),
        ],
    )
    view = catalog.view()
    assert view.networks()["blue"].vni == 1
    assert [(e.meta.ref, w.meta.ref) for e, w in view.shadowed()] == [("late/blue", "early/blue")]
    catalog.put_network(Origin.VPPNET, o.network("blue", 56, "172.19.0.0/16"))
    view = catalog.view()
    assert view.networks()["blue"].vni == 56 and view.chosen()["blue"].origin is Origin.VPPNET
    assert len(view.shadowed()) == 2
    catalog.remove_network(Origin.VPPNET, o.network("blue", 56, "172.19.0.0/16"))
    assert catalog.view().networks()["blue"].vni == 1


def test_unconvertible_objects_are_kept_with_their_error_but_define_nothing() -> None:
    catalog = NetworkCatalog()
    catalog.put_network(Origin.VPPNET, o.network("bad", 5, "10.0.0.1/8"))
    view = catalog.view()
    assert view.networks() == {}
    (entry,) = view.network_entries
    assert entry.error is not None and entry.error.reason == "BadCIDR"
    # a broken vppnet object still shadows a calico-vpp one of its name: no silent fallback
    catalog.put_network(Origin.CALICO_VPP, o.calico_vpp_network("bad", 6, "10.0.0.0/8"))
    assert catalog.view().networks() == {}


def test_every_nad_selecting_a_network_is_attached() -> None:
    catalog = NetworkCatalog()
    catalog.put_network(Origin.VPPNET, o.network("blue", 56, "172.19.0.0/16"))
    catalog.replace_nads(
        [o.nad("b2", "blue", "team"), o.nad("b1", "blue"), o.nad("ghost", "nope"), o.nad("x", None)]
    )
    view = catalog.view()
    assert view.networks()["blue"].attachments == (
        NadRef("default", "b1"),
        NadRef("team", "b2"),
    )
    assert [n.ref for n in view.dangling_nads()] == [NadRef("default", "ghost")]
    catalog.remove_nad(o.nad("b1", "blue"))
    assert catalog.view().networks()["blue"].attachments == (NadRef("team", "b2"),)
    catalog.put_nad(
        {"metadata": {"name": "broken", "namespace": "default"}, "spec": {"config": "{"}}
    )
    assert [n.error is not None for n in catalog.view().nad_entries] == [True, False, False, False]


def test_replace_forgets_objects_of_that_origin_only() -> None:
    catalog = NetworkCatalog()
    catalog.put_network(Origin.VPPNET, o.network("blue", 56, "172.19.0.0/16"))
    catalog.put_network(Origin.CALICO_VPP, o.calico_vpp_network("red", 88, "172.21.0.0/16"))
    catalog.replace_networks(Origin.CALICO_VPP, [])
    assert set(catalog.view().networks()) == {"blue"}


def test_networks_gone_from_the_api_stay_while_local_pods_use_them() -> None:
    blue = Network("blue", 56, (NET("172.19.0.0/16"),))
    red = Network("red", 88, (NET("172.21.0.0/16"),))
    pod = PodInterface(
        PodInterfaceKey("default", "p", "net1"), "c", "/ns", "vpp1", (IF("172.19.0.5/32"),), "blue"
    )
    model = ClusterModel.build("a", networks=[blue, red], pod_interfaces=[pod])
    kept = with_networks(model, {})
    assert kept.networks == {"blue": replace(blue, terminating=True)}
    assert with_networks(kept, {}) is kept  # nothing more to do: same model
    back = with_networks(kept, {"blue": blue})
    assert back.networks == {"blue": blue}
    assert with_networks(replace(model, pod_interfaces={}), {}).networks == {}
