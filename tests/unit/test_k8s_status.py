"""Network status, finalizer and node prefix announcements, computed purely."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime
from typing import Any

from agent.k8s import announce, status
from agent.k8s.catalog import NetworkCatalog, NetworkEntry, Origin
from agent.model import ClusterModel, Network, PodInterface, PodInterfaceKey
from plugins.networks import NetworkProblem
from tests.k8sfake import objects as o

NET = ipaddress.ip_network
IF = ipaddress.ip_interface
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
NODES = {"a", "b", "c"}


def entry(obj: dict[str, Any] | None = None, **meta: Any) -> NetworkEntry:
    obj = obj or o.network("blue", 56, "172.19.0.0/16")
    obj["metadata"].update({"uid": "u", "resourceVersion": "7", "generation": 2, **meta})
    catalog = NetworkCatalog()
    return catalog.put_network(Origin.VPPNET, obj)


def kinds(conditions: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in conditions}


def test_a_valid_network_is_ready_and_not_invalid() -> None:
    e = entry()
    v = status.verdict(e, None, NODES, "a", 0)
    got = status.conditions(e, v)
    assert kinds(got) == {"Ready": ("True", "Accepted"), "Invalid": ("False", "Valid")}
    assert got[0]["message"] == "VNI 56, VRF table 56" and got[0]["observedGeneration"] == 2


def test_problems_and_conversion_errors_make_it_invalid_with_the_reason() -> None:
    e = entry()
    v = status.verdict(e, NetworkProblem("DuplicateVNI", "vni 56 is used"), NODES, "a", 0)
    assert kinds(status.conditions(e, v)) == {
        "Ready": ("False", "Invalid"),
        "Invalid": ("True", "DuplicateVNI"),
    }
    bad = entry(o.network("blue", 56, "172.19.0.1/16"))
    v = status.verdict(bad, None, NODES, "a", 0)
    assert v.problem is not None and v.problem.reason == "BadCIDR"
    assert kinds(status.conditions(bad, v))["Invalid"] == ("True", "BadCIDR")


def test_usage_counts_this_node_and_the_others_that_still_exist() -> None:
    obj = o.network("blue", 56, "172.19.0.0/16")
    obj["status"] = {status.USAGE_FIELD: {"a": 9, "b": 2, "gone": 4, "c": 0}}
    e = entry(obj)
    assert status.usage(e, NODES, "a", 1) == {"a": 1, "b": 2}
    assert status.usage(e, NODES, "a", 0) == {"b": 2}


def test_deletion_is_blocked_while_pods_use_the_network() -> None:
    obj = o.network("blue", 56, "172.19.0.0/16")
    obj["status"] = {status.USAGE_FIELD: {"b": 2}}
    e = entry(obj, deletionTimestamp="2026-05-01T00:00:00Z", finalizers=[status.FINALIZER])
    v = status.verdict(e, None, NODES, "a", 1)
    ready = status.conditions(e, v)[0]
    assert (ready["status"], ready["reason"]) == ("True", "DeletionBlocked")
    assert "3 pod interface(s) still attached: a (1), b (2)" in ready["message"]
    assert status.finalizer_patch(e, v) is None  # held
    free = entry(o.network("blue", 56, "172.19.0.0/16"), deletionTimestamp="x",
                 finalizers=["other", status.FINALIZER])  # fmt: skip
    v = status.verdict(free, None, NODES, "a", 0)
    assert kinds(status.conditions(free, v))["Ready"] == ("False", "Deleting")
    assert status.finalizer_patch(free, v, "8") == {
        "metadata": {"finalizers": ["other"], "resourceVersion": "8"}
    }


def test_the_finalizer_is_added_to_live_networks_once() -> None:
    e = entry(finalizers=["other"])
    v = status.verdict(e, None, NODES, "a", 0)
    assert status.finalizer_patch(e, v) == {
        "metadata": {"finalizers": ["other", status.FINALIZER], "resourceVersion": "7"}
    }
    done = entry(finalizers=[status.FINALIZER])
    assert status.finalizer_patch(done, status.verdict(done, None, NODES, "a", 0)) is None


def test_the_status_is_patched_only_where_it_is_wrong() -> None:
    e = entry()
    v = status.verdict(e, None, NODES, "a", 2)
    patch = status.status_patch(e, v, "a", NOW)
    assert patch is not None
    body = patch["status"]
    assert body[status.USAGE_FIELD] == {"a": 2} and body["observedGeneration"] == 2
    assert {c["lastTransitionTime"] for c in body["conditions"]} == {"2026-05-01T12:00:00Z"}
    written = o.network("blue", 56, "172.19.0.0/16")
    written["status"] = {**body, status.USAGE_FIELD: {"a": 2, "b": 1}}
    again = entry(written)
    assert status.status_patch(again, status.verdict(again, None, NODES, "a", 2), "a", NOW) is None
    # this node's pods are gone: only its own key is removed, the rest is untouched
    gone = status.status_patch(again, status.verdict(again, None, NODES, "a", 0), "a", NOW)
    assert gone == {"status": {status.USAGE_FIELD: {"a": None}}}


def test_transition_times_change_only_with_the_status() -> None:
    old = [{"type": "Ready", "status": "True", "lastTransitionTime": "T0"},
           {"type": "Invalid", "status": "False", "lastTransitionTime": "T0"}]  # fmt: skip
    desired = [{"type": "Ready", "status": "False"}, {"type": "Invalid", "status": "False"}]
    stamped = status.with_times(desired, old, NOW)
    assert [c["lastTransitionTime"] for c in stamped] == ["2026-05-01T12:00:00Z", "T0"]
    assert status.with_times(desired, "garbage", NOW)[1]["lastTransitionTime"].startswith("2026")


def _pod(name: str, address: str, network: str) -> PodInterface:
    return PodInterface(
        PodInterfaceKey("default", name, "net1"), "c", "/ns", name, (IF(address),), network
    )


def test_announced_prefixes_are_the_exact_cover_of_local_pods_in_range() -> None:
    blue = Network("blue", 56, (NET("172.19.0.0/16"), NET("fd19::/64")))
    bad = Network("bad", 0, (NET("172.30.0.0/16"),))
    pods = [
        _pod("p1", "172.19.1.4/32", "blue"),
        _pod("p2", "172.19.1.5/32", "blue"),
        _pod("p3", "172.19.1.6/32", "blue"),
        _pod("p4", "fd19::1/128", "blue"),
        _pod("p5", "10.9.9.9/32", "blue"),  # outside blue's range: not announced
        _pod("p6", "172.30.0.1/32", "bad"),  # invalid network: not announced
        _pod("p7", "10.244.1.1/32", ""),  # default network: Felix's business
    ]
    model = ClusterModel.build("a", networks=[blue, bad], pod_interfaces=pods)
    assert announce.local_prefixes(model) == {
        "blue": ["172.19.1.4/31", "172.19.1.6/32", "fd19::1/128"]
    }
    value = announce.annotation_value(model)
    assert value is not None and json.loads(value) == announce.local_prefixes(model)
    assert announce.annotation_patch(model, {"vppnet.io/network-prefixes": value}) is None
    assert announce.annotation_patch(
        ClusterModel.build("a"), {"vppnet.io/network-prefixes": value}
    ) == {"metadata": {"annotations": {"vppnet.io/network-prefixes": None}}}
    assert announce.annotation_patch(ClusterModel.build("a"), {}) is None
