"""cnat objects VPP hardly shows: restarts without churn, VPP restarts, a lost index."""

from __future__ import annotations

import ipaddress
import shutil
from dataclasses import replace
from pathlib import Path

import plugins
from agent.model import (
    ClusterModel,
    EndpointPort,
    HostPort,
    IpPool,
    L4Protocol,
    Node,
    PodInterface,
    PodInterfaceKey,
    Service,
    ServiceEndpoint,
    ServicePort,
    SessionAffinity,
)
from agent.reconcile import REQUIRED_MESSAGES, Op, Reconciler
from agent.vpp import VppConnection, cnat
from agent.vppsim import Simulator

IP = ipaddress.ip_address
IF = ipaddress.ip_interface
NET = ipaddress.ip_network


def cluster() -> ClusterModel:
    web = PodInterface(
        PodInterfaceKey("default", "web", "eth0"),
        "c",
        "/var/run/netns/web",
        "caliweb",
        (IF("10.0.0.5/32"),),
        host_ports=(HostPort(L4Protocol.TCP, 80, 8080),),
    )
    sticky = Service(
        "default",
        "sticky",
        cluster_ips=(IP("10.96.0.10"),),
        ports=(ServicePort(80, 8080, node_port=30080),),
        session_affinity=SessionAffinity.CLIENT_IP,
        endpoints=(ServiceEndpoint((IP("10.0.0.5"),), (EndpointPort(8080),), "a"),),
    )
    empty = Service(
        "default", "empty", cluster_ips=(IP("10.96.0.11"),), ports=(ServicePort(80, 80),)
    )
    return ClusterModel.build(
        "a",
        nodes=[Node("a", (IF("192.168.0.1/24"),))],
        pools=[IpPool("default", NET("10.0.0.0/16"), 26, nat_outgoing=True)],
        pod_interfaces=[web],
        services=[sticky, empty],
    )


def test_a_restarted_agent_changes_nothing(
    sim: Simulator, conn: VppConnection, tmp_path: Path
) -> None:
    desired = plugins.render(cluster())
    plan, report = Reconciler(conn, tmp_path / "index.json").converge(desired)
    assert report.ok and plan.changes
    before = sim.mutations
    again = Reconciler(conn, tmp_path / "index.json")
    plan = again.plan(desired, refresh=True)
    assert plan.changes == [] and plan.conflicts == [], plan.render()
    assert sim.mutations == before


def test_a_restarted_vpp_gets_everything_again(tmp_path: Path) -> None:
    desired = plugins.render(cluster())
    with Simulator(tmp_path / "one.sock", devices="record") as first:
        c1 = VppConnection(tmp_path / "one.sock", timeout=3.0)
        c1.connect(check=REQUIRED_MESSAGES)
        assert Reconciler(c1, tmp_path / "index.json").converge(desired)[1].ok
        c1.close()
        assert first.state.cnat.snat_entry
    # a fresh VPP (everything forgotten), the same index
    with Simulator(tmp_path / "two.sock", devices="record") as second:
        c2 = VppConnection(tmp_path / "two.sock", timeout=3.0)
        c2.connect(check=REQUIRED_MESSAGES)
        plan, report = Reconciler(c2, tmp_path / "index.json").converge(desired)
        assert report.ok
        assert {c.key for c in plan.changes if c.op is Op.CREATE} == set(desired)
        state = second.state.cnat
        assert state.snat_entry and state.snat_policy == cnat.SnatPolicy.K8S
        assert NET("10.0.0.0/16") in state.exclude_prefixes and state.enabled_interfaces
        c2.close()


def test_a_lost_index_takes_over_what_vpp_shows_and_applies_what_it_does_not(
    sim: Simulator, conn: VppConnection, tmp_path: Path
) -> None:
    desired = plugins.render(cluster())
    assert Reconciler(conn, tmp_path / "index.json").converge(desired)[1].ok
    sticky = next(
        t
        for t in sim.state.cnat.translations.values()
        if t.vip["port"] == 80 and str(t.vip["addr"]) == "10.96.0.10"
    )
    sticky.flow_hash_config = int(cnat.FIVE_TUPLE)  # as if someone changed what VPP cannot show
    shutil.copy(tmp_path / "index.json", tmp_path / "old.json")
    (tmp_path / "index.json").unlink()
    fresh = Reconciler(conn, tmp_path / "index.json")
    plan = fresh.plan(desired, refresh=True)
    assert plan.conflicts == [], plan.render()
    ops = {c.key: (c.op, c.reason) for c in plan.changes}
    assert ops["cnat TCP 10.96.0.10 80"] == (Op.UPDATE, "taken over: fields VPP does not show")
    assert ops["cnat snat-addresses"][0] is Op.ADOPT  # exactly as desired, and VPP shows it
    assert ops["cnat snat-policy"][0] is Op.CREATE  # nothing shows it: applied again
    assert fresh.apply(plan).ok
    assert sim.state.cnat.translations[sticky.id].flow_hash_config == cnat.FlowHash.SRC_IP
    assert fresh.plan(desired, refresh=True).changes == []


def test_snat_rules_wait_for_the_snat_entry(
    sim: Simulator, conn: VppConnection, tmp_path: Path
) -> None:
    desired = plugins.render(cluster())
    sim.inject_error("cnat_set_snat_addresses", -1)
    _, report = Reconciler(conn, tmp_path / "index.json").converge(desired)
    skipped = {c.key for c, _ in report.skipped}
    assert {"cnat snat-policy", "cnat snat-exclude 10.0.0.0/16"} <= skipped
    assert "cnat snat-if pod pod/default/web/eth0" in skipped
    assert not sim.state.cnat.snat_entry and sim.state.cnat.snat_policy == 0


def test_removing_the_node_address_removes_snat(
    sim: Simulator, conn: VppConnection, tmp_path: Path
) -> None:
    model = cluster()
    reconciler = Reconciler(conn, tmp_path / "index.json")
    assert reconciler.converge(plugins.render(model))[1].ok
    gone = replace(model, nodes={})
    plan, report = reconciler.converge(plugins.render(gone))
    assert report.ok
    assert {c.key for c in plan.changes if c.op is Op.DELETE} >= {
        "cnat snat-addresses",
        "cnat snat-policy",
        "cnat snat-exclude 10.0.0.0/16",
    }
    state = sim.state.cnat
    assert not state.snat_entry and not state.exclude_prefixes and state.snat_policy == 0
    assert reconciler.plan(plugins.render(gone), refresh=True).changes == []


def test_a_remade_pod_interface_gets_its_cnat_feature_again(
    sim: Simulator, conn: VppConnection, tmp_path: Path
) -> None:
    model = cluster()
    reconciler = Reconciler(conn, tmp_path / "index.json")
    assert reconciler.converge(plugins.render(model))[1].ok
    key = PodInterfaceKey("default", "web", "eth0")
    remade = replace(model.pod_interfaces[key], rx_queues=2)  # a creation parameter: remade
    model = replace(model, pod_interfaces={key: remade})
    plan, report = reconciler.converge(plugins.render(model))
    assert report.ok
    ops = {(c.op, c.key) for c in plan.changes}
    assert (Op.CREATE, "cnat-feature pod/default/web/eth0") in ops
    assert (Op.CREATE, "cnat snat-if pod pod/default/web/eth0") in ops
    new = next(i for i in sim.state.interfaces if i.tag == "vppnet:pod/default/web/eth0")
    assert new.sw_if_index in sim.state.cnat.enabled_interfaces
    assert new.sw_if_index in sim.state.cnat.policy_interfaces[cnat.SnatTable.POD]
    assert reconciler.plan(plugins.render(model), refresh=True).changes == []
