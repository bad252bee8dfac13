"""Endpoint status: up when programmed, error with the reason, down without an interface."""

from __future__ import annotations

from ipaddress import ip_interface

import plugins
from agent.dataplane import ConvergeResult
from agent.felix.status import EndpointStatusTracker, StatusChange, endpoint_keys
from agent.model import ClusterModel, PodInterface, PodInterfaceKey, WorkloadEndpoint
from agent.reconcile import ApplyReport, Change, Op, Plan

KEY = PodInterfaceKey("ns", "web", "eth0")
OTHER = PodInterfaceKey("ns", "db", "eth0")


def interface(key: PodInterfaceKey, address: str) -> PodInterface:
    return PodInterface(key, "c", "/var/run/netns/x", "vpp-tun-1", (ip_interface(address),))


def model(
    *interfaces: PodInterface, endpoints: tuple[PodInterfaceKey, ...] = (KEY,)
) -> ClusterModel:
    return ClusterModel.build(
        "a",
        pod_interfaces=interfaces,
        workload_endpoints=[WorkloadEndpoint(k) for k in endpoints],
    )


def converged(m: ClusterModel, failed: dict[str, str] | None = None) -> ConvergeResult:
    desired = plugins.render(m)
    report = ApplyReport()
    report.failed.extend((Change(Op.CREATE, desired[k]), why) for k, why in (failed or {}).items())
    return ConvergeResult(Plan(), report, frozenset(desired))


def test_status_follows_the_interface_and_its_vpp_objects() -> None:
    tracker = EndpointStatusTracker()
    without = model()
    tracker.mark([KEY])
    assert tracker.evaluate(without, {}, converged(without)) == [
        StatusChange(KEY, "k8s", "down", "no interface from the CNI yet")
    ]
    with_interface = model(interface(KEY, "10.0.0.1/32"))
    keys = endpoint_keys(with_interface, KEY)
    assert keys == {
        "interface pod/ns/web/eth0",
        "route 0 10.0.0.1/32",
        "npol-interface pod/ns/web/eth0",  # its policy binding
    }
    tracker.mark([KEY])
    failed = converged(with_interface, {"interface pod/ns/web/eth0": "no vhost-net"})
    desired = plugins.render(with_interface)
    (change,) = tracker.evaluate(with_interface, desired, failed)
    assert change.status == "error" and "no vhost-net" in change.reason
    # Errors are re-evaluated after every converge, marked or not.
    (change,) = tracker.evaluate(with_interface, desired, converged(with_interface))
    assert change.status == "up" and tracker.reasons[KEY] == "programmed"


def test_only_changes_are_reported() -> None:
    tracker = EndpointStatusTracker()
    m = model(interface(KEY, "10.0.0.1/32"))
    desired = plugins.render(m)
    tracker.mark([KEY])
    assert len(tracker.evaluate(m, desired, converged(m))) == 1
    tracker.mark([KEY])
    assert tracker.evaluate(m, desired, converged(m)) == []


def test_not_yet_rendered_objects_mean_down() -> None:
    tracker = EndpointStatusTracker()
    m = model(interface(KEY, "10.0.0.1/32"))
    tracker.mark([KEY])
    empty = ConvergeResult(Plan(), ApplyReport(), frozenset())
    (change,) = tracker.evaluate(m, {}, empty)
    assert change.status == "down" and change.reason.startswith("not programmed yet")


def test_a_removed_endpoint_gets_a_remove_once() -> None:
    tracker = EndpointStatusTracker()
    m = model(interface(KEY, "10.0.0.1/32"))
    tracker.mark([KEY])
    tracker.evaluate(m, plugins.render(m), converged(m))
    gone = model(interface(KEY, "10.0.0.1/32"), endpoints=())
    tracker.mark([KEY, OTHER])
    assert tracker.evaluate(gone, {}, converged(gone)) == [
        StatusChange(KEY, "k8s", None, "removed")
    ]
    tracker.mark([KEY])
    assert tracker.evaluate(gone, {}, converged(gone)) == []


def test_reset_forgets_what_an_earlier_felix_was_told() -> None:
    tracker = EndpointStatusTracker()
    m = model(interface(KEY, "10.0.0.1/32"))
    tracker.mark([KEY])
    tracker.evaluate(m, plugins.render(m), converged(m))
    tracker.reset()
    assert tracker.reported == {} and not tracker.pending
