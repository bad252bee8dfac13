"""The control socket's views before VPP was ever read: the model is shown, what VPP
holds is "not known" rather than guessed, and drift is refused with a reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

import plugins
from agent.control.protocol import BadRequestError
from agent.control.views import Views
from agent.dataplane import Dataplane
from agent.reconcile import Reconciler
from agent.scenario import load_scenario
from agent.state import ClusterState
from agent.vpp import VppConnection

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cluster.yaml"


@dataclass
class Status:
    ready: bool = False
    vpp_connected: bool = False
    vpp_reconnects: int = 0
    resyncs: int = 0
    repaired: int = 0
    last_error: str = "VPP API socket does not exist"
    started: float = field(default=0.0)


@pytest.fixture
def views(tmp_path: Path) -> tuple[Views, Status]:
    state = ClusterState(load_scenario(EXAMPLE))
    conn = VppConnection(tmp_path / "no-vpp.sock")  # never connected: nothing may read VPP
    dataplane = Dataplane(state, Reconciler(conn, tmp_path / "index.json"), plugins.render)
    status = Status()
    return Views(state, dataplane, status), status


def test_views_show_the_model_and_do_not_guess_vpp(views: tuple[Views, Status]) -> None:
    v, _ = views
    pods = {p["name"]: p for p in v.pods()}
    assert pods["demo/router-1/net1"]["network"] == "blue"
    assert pods["demo/router-1/net1"]["table"] == 4001
    assert pods["demo/web-1/eth0"]["network"] == "default"
    assert all(p["in_vpp"] is None and p["sw_if_index"] is None for p in pods.values())
    nets = {n["name"]: n for n in v.networks()}
    assert nets["red"]["table"] == 1002 and nets["red"]["vni"] == 4002
    assert nets["red"]["attachments"] == ["demo/red-net"] and nets["red"]["pods"] == 2
    policies = {(p["kind"], p["name"]): p for p in v.policies()}
    assert policies["policy", "default/demo/allow-web"]["pods"] == ["demo/web-1/eth0"]
    status = v.status_view()
    assert status["ready"] is False and status["owned_objects"] is None
    assert status["last_error"] == "VPP API socket does not exist"
    assert status["model"]["pod_interfaces"] == 8


def test_drift_is_refused_until_vpp_is_connected_and_the_agent_ready(
    views: tuple[Views, Status],
) -> None:
    v, status = views
    with pytest.raises(BadRequestError, match="VPP is not connected"):
        v.drift()
    status.vpp_connected = True
    with pytest.raises(BadRequestError, match="not finished its first reconcile"):
        v.drift()
