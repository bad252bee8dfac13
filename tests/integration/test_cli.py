"""The vppnet command against a simulator: plan, apply, show, demo, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import main
from agent.vppsim import Simulator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cluster.yaml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_apply_show_then_nothing_to_do(
    sim: Simulator, sim_socket: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = [
        "--scenario",
        str(EXAMPLE),
        "--socket",
        str(sim_socket),
        "--state-dir",
        str(tmp_path / "state"),
    ]
    code, out, _ = run(capsys, "plan", *common)
    assert code == 0 and "+ create interface pod/demo/web-1/eth0: tun" in out
    assert sim.mutations == 0  # plan changes nothing
    code, out, _ = run(capsys, "apply", *common)
    assert code == 0 and "applied 112 change(s)" in out
    code, out, _ = run(capsys, "plan", *common, "--json")
    assert code == 0 and json.loads(out)["counts"]["create"] == 0
    code, out, _ = run(capsys, "show", "routes", "--socket", str(sim_socket))
    assert "10.244.1.10/32" in out and "dev tun" in out
    code, out, _ = run(capsys, "show", "interfaces", "--socket", str(sim_socket), "--json")
    tags = {i["tag"] for i in json.loads(out)["interfaces"]}
    assert "vppnet:pod/demo/web-1/eth0" in tags


def test_bad_scenario_is_one_clear_error(
    sim: Simulator, sim_socket: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("vni: 4002", "vni: 4002\n    colour: red"))
    code, out, err = run(capsys, "plan", "--scenario", str(bad), "--socket", str(sim_socket))
    assert code == 2 and out == ""
    assert "bad.yaml: networks[1].colour: unknown field" in err
    assert sim.mutations == 0


def test_unreachable_vpp_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "show", "--socket", str(tmp_path / "none.sock"))
    assert code == 2
    assert "vppnet show: VPP API socket" in err and "does not exist" in err


def _demo() -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "agent.cli", "demo", "--scenario", str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def test_demo_runs_end_to_end() -> None:
    out = _demo().stdout
    # nodes and networks; services and SNAT
    assert "plan: 36 to create, 0 to update, 0 to delete" in out
    assert "CNI ADD of 8 pod interfaces over gRPC" in out
    assert out.count(": ok\n") == 8 and "FAILED" not in out
    assert "vppnet:pod/demo/router-1/net1" in out  # programmed through the CNI path
    assert "plan: VPP already matches the desired state; nothing to do" in out
    assert "VPP mutations on the second run: 0" in out
    # Felix's endpoints bind the policy; services and policy are explained from VPP
    assert "~ update npol on pod/demo/web-1/eth0: in ['default/demo/allow-web']" in out
    assert "outcome: backends: load-balanced over 2 backend(s)" in out
    [allowed, denied] = out.split("$ vppnet explain policy demo/web-1/eth0 ingress")[1:]
    assert "programmed verdict: ALLOW" in allowed and "; agrees" in allowed
    assert "programmed verdict: DENY: no policy decided (end of tier)" in denied
    assert "; agrees" in denied


@pytest.mark.root
def test_demo_creates_pod_devices_in_their_namespaces() -> None:
    out = _demo().stdout
    assert "demo-router-1: net1 mtu 1450" in out
    assert "172.19.1.11/32" in out


def test_explain_service_and_policy_on_an_applied_node(
    sim: Simulator, sim_socket: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = ["--state-dir", str(tmp_path / "state")]
    vpp = ["--socket", str(sim_socket)]
    code, _, _ = run(capsys, "apply", "--scenario", str(EXAMPLE), *vpp, *state)
    assert code == 0

    code, out, _ = run(capsys, "explain", "service", "10.96.0.10", "80", *vpp)
    assert code == 0 and "load-balanced over 2 backend(s)" in out
    assert "-> 10.244.1.10:8080  dev vppnet:pod/demo/web-1/eth0" in out
    code, out, _ = run(capsys, "explain", "service", "10.96.0.99", "80", *vpp)
    assert code == 0 and "not a service here" in out

    target = ["demo/web-1/eth0", "ingress"]
    code, out, _ = run(
        capsys, "explain", "policy", *target, "tcp 10.244.2.5:4000 10.244.1.10:8080", *state
    )
    assert code == 0 and "matched policy default/demo/allow-web, inbound rule 0" in out
    assert out.rstrip().endswith("programmed verdict: ALLOW")
    code, out, _ = run(
        capsys, "explain", "policy", *target, "udp 10.244.9.5:4000 10.244.1.10:53", *state
    )
    assert code == 0 and "programmed verdict: DENY" in out


def test_explain_bad_input_is_one_clear_error(
    sim: Simulator, sim_socket: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "explain", "service", "10.96.0.300", "80", "--socket", str(sim_socket)
    )
    assert code == 2 and out == "" and "10.96.0.300" in err
    code, out, err = run(
        capsys,
        "explain",
        "policy",
        "demo/nope/eth0",
        "ingress",
        "tcp 1.2.3.4 5.6.7.8:80",
        "--state-dir",
        str(tmp_path / "empty"),
    )
    assert code == 2 and out == "" and err.startswith("vppnet explain: ")
