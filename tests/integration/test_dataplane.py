"""The dataplane converges what changed in the model, retries failures, repairs drift."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import plugins
from agent.dataplane import Dataplane
from agent.model import ClusterModel, Node, PodBlock, PodInterface, PodInterfaceKey
from agent.reconcile import Reconciler
from agent.state import ClusterState
from agent.vpp import VppConnection, interfaces, ip
from agent.vppsim import Simulator

IF = ipaddress.ip_interface
NET = ipaddress.ip_network


def pod(name: str, address: str) -> PodInterface:
    return PodInterface(
        key=PodInterfaceKey("default", name, "eth0"),
        container_id=name,
        netns=f"/var/run/netns/{name}",
        host_interface_name=f"cali{name}",
        addresses=(IF(address),),
    )


def make(conn: VppConnection, tmp_path: Path) -> tuple[ClusterState, Dataplane]:
    node = Node("a", (IF("192.168.0.1/24"),), (PodBlock(NET("10.0.1.0/24")),))
    state = ClusterState(ClusterModel.build("a", nodes=[node]))
    dp = Dataplane(state, Reconciler(conn, tmp_path / "index.json"), plugins.render)
    return state, dp


def tags(conn: VppConnection) -> set[str]:
    return {i.tag for i in conn.dump(interfaces.dump()) if i.tag}


LOOP0 = "vppnet:loopback/vrf-0"  # lends its address to the pod interfaces (plugins.ipenable)


def test_only_what_changed_is_converged(
    sim: Simulator, conn: VppConnection, tmp_path: Path
) -> None:
    state, dp = make(conn, tmp_path)
    state.put_pod_interface(pod("p1", "10.0.1.1/32"))
    first = dp.converge()
    assert first.report.ok and tags(conn) == {"vppnet:pod/default/p1/eth0", LOOP0}
    state.put_pod_interface(pod("p2", "10.0.1.2/32"))
    second = dp.converge()
    assert second.keys == {
        "interface pod/default/p2/eth0",
        "route 0 10.0.1.2/32",
        "cnat-feature pod/default/p2/eth0",  # services and SNAT on every pod interface
        "cnat snat-if pod pod/default/p2/eth0",
        "npol-interface pod/default/p2/eth0",  # its policy binding, with anti-spoofing
        "npol-policy antispoof pod/default/p2/eth0",
        "npol-rule antispoof pod/default/p2/eth0 out 0",
    }
    assert tags(conn) == {"vppnet:pod/default/p1/eth0", "vppnet:pod/default/p2/eth0", LOOP0}
    assert dp.converge().keys == frozenset()  # nothing changed: no work at all
    state.remove_pod_interface(PodInterfaceKey("default", "p1", "eth0"))
    dp.converge()
    assert tags(conn) == {"vppnet:pod/default/p2/eth0", LOOP0}
    assert NET("10.0.1.1/32") not in {r.prefix for r in conn.dump(ip.dump_routes(0, False))}


def test_failures_are_reported_per_key_and_retried(
    sim: Simulator, conn: VppConnection, tmp_path: Path
) -> None:
    state, dp = make(conn, tmp_path)
    state.put_pod_interface(pod("p1", "10.0.1.1/32"))
    sim.inject_error("tap_create_v3", -11)
    result = dp.converge()
    keys = {"interface pod/default/p1/eth0", "route 0 10.0.1.1/32"}
    errors = result.errors_for(keys)
    assert len(errors) == 2 and "SYSCALL_ERROR_1" in errors[0]
    assert "skipped, needs interface pod/default/p1/eth0" in errors[1]
    retry = dp.converge()  # the model did not change, but the failed keys are retried
    nat = {"cnat-feature pod/default/p1/eth0", "cnat snat-if pod pod/default/p1/eth0"}
    bind = {"npol-interface pod/default/p1/eth0"}  # its policy binding needs the interface
    assert retry.keys == keys | nat | bind and retry.report.ok
    assert tags(conn) == {"vppnet:pod/default/p1/eth0", LOOP0}


def test_resync_repairs_what_was_changed_behind_our_back(
    sim: Simulator, conn: VppConnection, tmp_path: Path
) -> None:
    state, dp = make(conn, tmp_path)
    state.put_pod_interface(pod("p1", "10.0.1.1/32"))
    dp.converge()
    conn.call(ip.del_route(0, NET("10.0.1.1/32")))
    assert dp.converge().keys == frozenset()  # the model did not change
    repaired = dp.resync()
    assert [c.key for c in repaired.plan.changes] == ["route 0 10.0.1.1/32"]
    assert NET("10.0.1.1/32") in {r.prefix for r in conn.dump(ip.dump_routes(0, False))}
