"""Policies programmed into the simulator: equal to the index, deciding as Calico, incremental.

The simulator keeps npol's state readable; the agent knows it only from its
ownership index. After every converge the two must describe the same npol
state, and that state must give Calico's verdict (the oracle) for every packet.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.model import (
    ClusterModel,
    IpPortMember,
    IpSet,
    L4Protocol,
    PortRange,
    Rule,
    RuleAction,
)
from agent.reconcile import REQUIRED_MESSAGES
from agent.reconcile.npol_eval import NpolState, evaluate_pod
from agent.reconcile.plan import Op
from agent.vpp import VppConnection
from agent.vppsim import Simulator
from plugins import policy
from plugins.policy_oracle import Packet, evaluate
from tests.integration.policy_fixtures import Recording, index_state, make, names, sim_state, switch
from tests.policy_cases import (
    KEYS,
    Applied,
    Cluster,
    in_ns,
    k8s_policy,
    named_port_set,
    selector_set,
)
from tests.policygen import POD_KEYS, models, packets

IFACE = "pod/x/a/eth0"


def verdicts_agree(
    model: ClusterModel, state: NpolState, probes: list[tuple[Packet, bool]]
) -> list[str]:
    out = []
    for key in POD_KEYS:
        pod = model.pod_interfaces[key]
        iface = f"pod/{key}"
        for p, own_source in probes:
            own = next((a.ip for a in pod.addresses if a.version == p.src.version), None)
            if own is None:
                continue
            for ingress, q in (
                (True, dataclasses.replace(p, dst=own)),
                (False, dataclasses.replace(p, src=own) if own_source else p),
            ):
                want = evaluate(model, key, "ingress" if ingress else "egress", q)
                if evaluate_pod(state, iface, ingress, q).allowed != want.allowed:
                    out.append(f"{key} {'in' if ingress else 'out'} {q}: Calico says {want}")
    return out


@pytest.fixture
def program(tmp_path: Path) -> Iterator[tuple[Simulator, VppConnection]]:
    sock = tmp_path / "policy.sock"
    with Simulator(sock, devices="record") as sim:
        conn = VppConnection(sock, timeout=5.0)
        conn.connect(check=REQUIRED_MESSAGES)
        try:
            yield sim, conn
        finally:
            conn.close()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(models(), min_size=1, max_size=3),
    st.lists(st.tuples(packets(), st.booleans()), min_size=4, max_size=8),
)
def test_programmed_state_is_the_index_and_decides_as_calico(
    program: tuple[Simulator, VppConnection],
    tmp_path: Path,
    steps: list[ClusterModel],
    probes: list[tuple[Packet, bool]],
) -> None:
    """Models one after the other on one VPP: each converge lands exactly the new state."""
    sim, conn = program
    index = tmp_path / f"index-{len(sim.state.npol.rules)}-{id(steps)}.json"
    state, dp = make(conn, index, ClusterModel.build("node-a"))
    for model in steps:
        switch(state, model)
        result = dp.converge()
        assert result.report.ok, result.report.render()
        programmed_ = sim_state(sim, names(dp))
        assert programmed_ == index_state(dp.reconciler)
        if not [p for p in policy.problems(model) if p.severity == "error"]:  # fail-closed rules
            assert verdicts_agree(model, programmed_, probes) == []
    switch(state, ClusterModel.build("node-a"))
    assert dp.converge().report.ok
    npol = sim.state.npol
    assert (npol.ipsets, npol.rules, npol.policies, npol.interfaces) == ({}, {}, {}, {}), (
        "all cleaned up"
    )


def cluster(members: int = 3) -> Cluster:
    web = Rule(
        RuleAction.ALLOW, protocol="tcp", dst_ports=(PortRange(80, 80),), src_ip_set_ids=("s:ns-x",)
    )
    http = Rule(RuleAction.ALLOW, protocol="tcp", dst_named_port_ip_set_ids=("n:http",))
    return Cluster(
        [
            (
                "default",
                RuleAction.DENY,
                [Applied(k8s_policy("web", "x", ingress=[web, http]), ingress=in_ns("x"))],
            )
        ],
        [
            selector_set("s:ns-x", in_ns("x")),
            named_port_set("n:http", [(KEYS[i], 8080 + 1000 * (i // 2)) for i in range(members)]),
        ],
    )


def test_an_ip_set_member_change_is_one_delta_on_that_set(
    program: tuple[Simulator, VppConnection], tmp_path: Path
) -> None:
    sim, conn = program
    model = cluster().model()
    state, dp = make(conn, tmp_path / "index.json", model)
    assert dp.converge().report.ok
    before = sim.mutations
    ns_x = model.ip_sets["s:ns-x"]
    changed = dataclasses.replace(
        ns_x, members=(ns_x.members - {ip_network("10.1.0.1/32")}) | {ip_network("10.1.9.9/32")}
    )
    switch(state, dataclasses.replace(model, ip_sets={**model.ip_sets, "s:ns-x": changed}))
    result = dp.converge()
    assert [(c.op, c.key) for c in result.plan.changes] == [(Op.UPDATE, "npol-ipset net:s:ns-x")]
    assert sim.mutations - before == 2  # one delete, one add, on that set only
    assert sim_state(sim, names(dp)) == index_state(dp.reconciler)


def test_a_member_change_is_journaled_and_a_restart_adopts_it_without_a_call(
    program: tuple[Simulator, VppConnection], tmp_path: Path
) -> None:
    """The index is not rewritten for a member change: one line is appended to its
    journal, and an agent started afterwards reads both and changes nothing."""
    sim, conn = program
    model = cluster().model()
    path = tmp_path / "index.json"
    state, dp = make(conn, path, model)
    assert dp.converge().report.ok
    file_before = path.read_bytes()
    ns_x = model.ip_sets["s:ns-x"]
    grown = dataclasses.replace(ns_x, members=ns_x.members | {ip_network("10.1.9.9/32")})
    after = dataclasses.replace(model, ip_sets={**model.ip_sets, "s:ns-x": grown})
    switch(state, after)
    assert dp.converge().report.ok
    assert path.read_bytes() == file_before
    journal = path.with_name("index.json.journal")
    assert len(journal.read_bytes().splitlines()) == 1
    before = sim.mutations
    _state2, restarted = make(conn, path, after)
    result = restarted.resync()
    assert result.plan.empty and sim.mutations == before
    assert index_state(restarted.reconciler) == index_state(dp.reconciler)
    # a clean stop folds the journal in: the file alone is whole again
    restarted.reconciler.fold_journal()
    assert not journal.exists()
    assert json.loads(path.read_text())["npol"] == restarted.reconciler.index.npol


def test_ip_and_port_deletes_survive_vpps_member_comparison(
    program: tuple[Simulator, VppConnection], tmp_path: Path
) -> None:
    """VPP deletes more IP-and-port members than asked; vppnet adds back the others."""
    sim, conn = program
    model = cluster(members=3).model()
    state, dp = make(conn, tmp_path / "index.json", model)
    assert dp.converge().report.ok
    http = model.ip_sets["n:http"]
    kept = frozenset(
        m
        for m in http.members
        if isinstance(m, IpPortMember) and m.address != ip_address("10.1.0.2")
    )
    extra = IpPortMember(ip_address("10.1.0.1"), L4Protocol.TCP, 9090)
    switch(
        state,
        dataclasses.replace(
            model, ip_sets={**model.ip_sets, "n:http": IpSet("n:http", http.type, kept | {extra})}
        ),
    )
    assert dp.converge().report.ok
    (set_id,) = [i for i, s in sim.state.npol.ipsets.items() if s.type == 1]
    want = {(m.address, 6, m.port) for m in kept | {extra}}
    assert sim.state.npol.ipsets[set_id].members == want


def test_a_rule_change_updates_that_rule_only(
    program: tuple[Simulator, VppConnection], tmp_path: Path
) -> None:
    sim, conn = program
    model = cluster().model()
    state, dp = make(conn, tmp_path / "index.json", model)
    assert dp.converge().report.ok
    before = sim.mutations
    (pid,) = model.policies
    p = model.policies[pid]
    rule0 = dataclasses.replace(p.ingress_rules[0], dst_ports=(PortRange(443, 443),))
    changed = dataclasses.replace(p, ingress_rules=(rule0, *p.ingress_rules[1:]))
    switch(state, dataclasses.replace(model, policies={pid: changed}))
    result = dp.converge()
    assert [(c.op, c.key) for c in result.plan.changes] == [
        (Op.UPDATE, "npol-rule default/x/knp.default.web (KubernetesNetworkPolicy) in 0")
    ]
    assert sim.mutations - before == 1  # npol_rule_update


def test_a_new_pod_is_bound_to_its_policies_and_services_before_it_is_up(
    program: tuple[Simulator, VppConnection], tmp_path: Path
) -> None:
    _sim, conn = program
    model = cluster().model()
    recording = Recording(conn)
    _state, dp = make(conn, tmp_path / "index.json", model)
    assert dp.converge().report.ok
    sent = [r.msg for r in recording.sent]
    bind = next(i for i, r in enumerate(recording.sent) if r.msg == "npol_configure_policies")
    up = next(i for i, r in enumerate(recording.sent) if r.msg == "sw_interface_set_flags")
    created = [i for i, m in enumerate(sent) if m == "tap_create_v3"]
    assert max(created) < bind < up, "every pod made, then bound, then brought up"
    cnat = [i for i, m in enumerate(sent) if m == "feature_cnat_enable_disable"]
    assert cnat and max(created) < min(cnat) and max(cnat) < up, "services work from the start"
    assert sent.count("npol_configure_policies") == len(KEYS)
    rules = [i for i, m in enumerate(sent) if m == "npol_rule_create"]
    assert max(rules) < min(i for i, m in enumerate(sent) if m == "npol_policy_create")


def test_a_remade_interface_is_bound_again(
    program: tuple[Simulator, VppConnection], tmp_path: Path
) -> None:
    sim, conn = program
    model = cluster().model()
    state, dp = make(conn, tmp_path / "index.json", model)
    assert dp.converge().report.ok
    key = KEYS[0]
    pod = dataclasses.replace(model.pod_interfaces[key], rx_queues=2)  # a creation parameter
    switch(state, dataclasses.replace(model, pod_interfaces={**model.pod_interfaces, key: pod}))
    result = dp.converge()
    assert result.report.ok
    assert (Op.CREATE, f"npol-interface pod/{key}") in [(c.op, c.key) for c in result.plan.changes]
    assert (
        sim_state(sim, names(dp)).interfaces[f"pod/{key}"]
        == index_state(dp.reconciler).interfaces[f"pod/{key}"]
    )
    assert len(sim.state.npol.interfaces) == len(KEYS)


def test_an_agent_restart_makes_no_npol_call(
    program: tuple[Simulator, VppConnection], tmp_path: Path
) -> None:
    sim, conn = program
    model = cluster().model()
    _state, dp = make(conn, tmp_path / "index.json", model)
    assert dp.converge().report.ok
    before = sim.mutations
    _state2, dp2 = make(conn, tmp_path / "index.json", model)
    result = dp2.resync()
    assert result.plan.empty and sim.mutations == before


def test_a_vpp_restart_programs_every_npol_object_again(tmp_path: Path) -> None:
    model = cluster().model()
    with Simulator(tmp_path / "a.sock", devices="record") as first:
        conn = VppConnection(tmp_path / "a.sock", timeout=5.0)
        conn.connect(check=REQUIRED_MESSAGES)
        _s, dp = make(conn, tmp_path / "index.json", model)
        assert dp.converge().report.ok
        conn.close()
        rules = len(first.state.npol.rules)
    with Simulator(tmp_path / "b.sock", devices="record") as second:  # a VPP that knows nothing
        conn = VppConnection(tmp_path / "b.sock", timeout=5.0)
        conn.connect(check=REQUIRED_MESSAGES)
        _s, dp = make(conn, tmp_path / "index.json", model)
        result = dp.resync()
        assert result.report.ok
        assert len(second.state.npol.rules) == rules
        assert sim_state(second, names(dp)) == index_state(dp.reconciler)
        conn.close()


def test_a_new_vpp_process_is_noticed_even_if_its_sets_exist(
    program: tuple[Simulator, VppConnection], tmp_path: Path
) -> None:
    """Process ids change with a restart: records of another process are not trusted."""
    _sim, conn = program
    model = cluster().model()
    _state, dp = make(conn, tmp_path / "index.json", model)
    assert dp.converge().report.ok
    dp.reconciler.index.npol["vpe_pid"] = -1
    dp.reconciler.index.save()
    _state2, dp2 = make(conn, tmp_path / "index.json", model)
    plan = dp2.reconciler.plan(dp2.render(model), refresh=True)
    npol_creates = {c.key for c in plan.changes if c.key.startswith("npol") and c.op is Op.CREATE}
    assert npol_creates == {k for k in dp.desired if k.startswith("npol")}


def test_a_new_policy_adds_its_objects_and_rebinds_only_its_endpoints(
    program: tuple[Simulator, VppConnection], tmp_path: Path
) -> None:
    sim, conn = program
    before_cluster = cluster()
    state, dp = make(conn, tmp_path / "index.json", before_cluster.model())
    assert dp.converge().report.ok
    dns = Rule(RuleAction.ALLOW, protocol="udp", dst_ports=(PortRange(53, 53),))
    tiers = [
        *before_cluster.tiers[0][2],
        Applied(k8s_policy("dns", "y", ingress=[dns]), ingress=in_ns("y")),
    ]
    grown = Cluster([("default", RuleAction.DENY, tiers)], before_cluster.ip_sets).model()
    switch(state, grown)
    result = dp.converge()
    assert result.report.ok
    name = "default/y/knp.default.dns (KubernetesNetworkPolicy)"
    assert sorted((c.op.value, c.key) for c in result.plan.changes) == sorted(
        [
            ("create", f"npol-policy {name}"),
            ("create", f"npol-rule {name} in 0"),
            *[("update", f"npol-interface pod/y/{p}/eth0") for p in ("a", "b", "c")],
        ]
    )
    assert sim_state(sim, names(dp)) == index_state(dp.reconciler)


def test_an_interface_whose_policy_failed_denies_everything_until_it_lands(
    program: tuple[Simulator, VppConnection], tmp_path: Path
) -> None:
    sim, conn = program
    model = cluster().model()
    _state, dp = make(conn, tmp_path / "index.json", model)
    sim.inject_error("npol_policy_create", -1)  # the first policy VPP is asked for
    first = dp.converge()
    failed = {c.key for c, _why in first.report.failed}
    assert any(k.startswith("npol-policy") for k in failed)
    guarded = {k.removeprefix("npol-interface ") for k in failed if k.startswith("npol-interface")}
    assert guarded, "some interface used the policy that failed"
    by_name = {str(v): c for k, c in sim.state.npol.interfaces.items() for v in [names(dp)[k]]}
    for iface in guarded:  # bound to nothing, denying everything: never open
        c = by_name[iface]
        assert (c.rx_policies, c.tx_policies, c.profiles) == ([], [], [])
        assert (c.policy_default_rx, c.policy_default_tx, c.profile_default_rx) == (1, 1, 1)
    second = dp.converge()  # failed keys are retried
    assert second.report.ok
    assert sim_state(sim, names(dp)) == index_state(dp.reconciler)
