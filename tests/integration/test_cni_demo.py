"""The demo's path: the example cluster's pods added through the real CNI protocol end
up in the model exactly as the scenario describes them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import plugins
from agent.cni import CniServer, CniSettings, ServerThread, add_pods
from agent.dataplane import Dataplane
from agent.model import PolicyAssignment
from agent.reconcile import REQUIRED_MESSAGES, Reconciler
from agent.scenario import load_scenario
from agent.state import ClusterState
from agent.vpp import VppConnection
from agent.vppsim import Simulator
from tests.integration.cni_fixtures import NetnsFactory, pod_netns

__all__ = ["pod_netns"]

pytestmark = pytest.mark.root
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cluster.yaml"


def test_the_example_pods_go_through_the_cni(tmp_path: Path, pod_netns: NetnsFactory) -> None:
    scenario = load_scenario(EXAMPLE)
    sandboxes: dict[str, str] = {}  # the example's netns paths -> fresh ones for this test
    pods = []
    for pod in scenario.pod_interfaces.values():
        netns = sandboxes.setdefault(pod.netns, pod_netns())
        # calico-vpp's annotations cannot name the extra memif: the CNI names it after
        # the interface it sits beside.
        extras = tuple(replace(m, name=f"extra-{pod.key.interface}") for m in pod.extra_memifs)
        pods.append(
            replace(
                pod,
                netns=netns,
                container_id=netns,
                policy=PolicyAssignment(),
                extra_memifs=extras,
            )
        )
    settings = CniSettings(socket=str(tmp_path / "cni.sock"), state_file=str(tmp_path / "s.json"))
    with (
        Simulator(tmp_path / "api.sock", devices="real") as sim,
        VppConnection(tmp_path / "api.sock") as conn,
    ):
        conn.connect(check=REQUIRED_MESSAGES)
        state = ClusterState(replace(scenario, pod_interfaces={}))
        dataplane = Dataplane(state, Reconciler(conn, tmp_path / "index.json"), plugins.render)
        server = CniServer(state, dataplane, settings, vhost_net=True)
        with ServerThread(server):
            replies = add_pods(settings.socket, pods, encap_overhead=settings.encap_overhead)
        assert [(p.key, r.error_message) for p, r in replies if not r.successful] == []
        got = {
            k: replace(p, policy=PolicyAssignment()) for k, p in state.model.pod_interfaces.items()
        }
        assert got == {p.key: p for p in pods}
        assert sim.state.memifs  # the nf-1 memif and pktgen-1's extra memif
