"""The vppnet command against a LIVE agent: show, plan --live and explain over the control
socket of an AgentRuntime running on the simulator, and the socket's own safety.

The agent starts from the example cluster (pods, networks, services, a policy) as its
initial model, on a simulator that records tap devices (no root needed), in a thread of
its own; the command runs in-process through ``agent.cli.main``, as a user would type it.
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.cli import main
from agent.cni import CniSettings
from agent.config import AgentConfig, VppSettings
from agent.control import MAX_REQUEST, ControlSettings
from agent.control.client import exchange
from agent.felix.config import FelixSettings
from agent.runtime import AgentRuntime
from agent.scenario import load_scenario
from agent.telemetry import TelemetrySettings
from agent.vpp import VppConnection, cnat, interfaces
from agent.vppsim import Simulator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cluster.yaml"
WEB_VIP = "10.96.0.10"  # demo/web: TCP 80 to web-1 (local) and a pod on node-b


@dataclass
class LiveAgent:
    runtime: AgentRuntime
    control: Path
    api: Path
    sim: Simulator


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAgent]:
    tmp = tmp_path_factory.mktemp("live")
    api, control = tmp / "api.sock", tmp / "control.sock"
    cfg = AgentConfig(
        vpp=VppSettings(socket=str(api), timeout=3.0, connect_wait=5.0, stats_socket=None),
        state_dir=str(tmp / "state"),
        cni=CniSettings(socket=str(tmp / "cni.sock"), state_file=str(tmp / "cni.json")),
        felix=FelixSettings(enabled=False),
        telemetry=TelemetrySettings(enabled=False),
        control=ControlSettings(socket=str(control)),
        liveness_interval=0.2,
        resync_interval=3600,  # no repair behind the test's back
    )
    with Simulator(api, devices="record") as sim:
        runtime = AgentRuntime(cfg, "node-a", vhost_net=True, initial_model=load_scenario(EXAMPLE))
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()
        result: list[int | BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                result.append(loop.run_until_complete(runtime.run(stop)))
            except BaseException as e:  # reported by the fixture, not lost in the thread
                result.append(e)

        thread = threading.Thread(target=serve, name="live-agent", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not runtime.status.ready:
            assert not result, f"the agent stopped during start-up: {result}"
            assert time.monotonic() < deadline, "the agent did not become ready"
            time.sleep(0.05)
        try:
            yield LiveAgent(runtime, control, api, sim)
        finally:
            loop.call_soon_threadsafe(stop.set)
            thread.join(15)
            loop.close()
        assert result == [0]
        assert not control.exists()  # the agent removed its socket when it stopped


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def show(capsys: pytest.CaptureFixture[str], agent: LiveAgent, *argv: str) -> tuple[int, str]:
    code, out, err = run(capsys, "show", *argv, "--control", str(agent.control))
    assert err == ""
    return code, out


def test_show_status_from_the_running_agent(
    agent: LiveAgent, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = show(capsys, agent, "status")
    assert code == 0
    assert "node node-a: ready, VPP connected" in out
    assert "8 pod interfaces" in out and "2 networks" in out
    assert "\x1b[" not in out  # not a terminal: no colour
    code, out = show(capsys, agent, "status", "--json")
    status = json.loads(out)["status"]
    assert status["ready"] is True and status["vpp_connected"] is True
    assert status["desired_objects"] == len(agent.runtime.dataplane.desired) > 0
    assert status["owned_objects"] == status["desired_objects"]
    assert status["model"]["services"] == len(agent.runtime.state.model.services)


def test_show_pods_joins_the_model_with_vpp(
    agent: LiveAgent, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = show(capsys, agent, "pods")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "== pods =="
    assert lines[1].split()[:4] == ["POD", "INTERFACE", "NETWORK", "TABLE"]
    web = next(line for line in lines if line.startswith("demo/web-1/eth0 "))
    assert "10.244.1.10/32" in web and web.split()[-1] == "yes"
    net1 = next(line for line in lines if line.startswith("demo/router-1/net1 "))
    assert " blue " in net1 and " 4001 " in net1
    # columns are aligned: every row's second column starts where the header's does
    column = lines[1].index("NETWORK")
    assert all(line[column - 2 : column] == "  " for line in lines[2:])

    code, out = show(capsys, agent, "pods", "--json")
    pods = {p["name"]: p for p in json.loads(out)["pods"]}
    assert set(pods) == {str(k) for k in agent.runtime.state.model.pod_interfaces}
    web_json = pods["demo/web-1/eth0"]
    assert web_json["in_vpp"] is True and web_json["network"] == "default"
    assert web_json["table"] == 0 and web_json["type"] == "tun"
    with VppConnection(agent.api) as conn:
        conn.connect()
        tags = {i.tag: i.sw_if_index for i in conn.dump(interfaces.dump())}
    assert web_json["sw_if_index"] == tags["vppnet:pod/demo/web-1/eth0"]


def test_show_networks_services_policies(
    agent: LiveAgent, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = show(capsys, agent, "networks")
    assert code == 0
    blue = next(line for line in out.splitlines() if line.startswith("blue "))
    assert blue.split()[1:3] == ["4001", "4001"] and blue.split()[-1] == "yes"
    code, out = show(capsys, agent, "networks", "--json")
    nets = {n["name"]: n for n in json.loads(out)["networks"]}
    assert set(nets) == {"blue", "red"} and nets["red"]["in_vpp"] is True

    code, out = show(capsys, agent, "services")
    web = next(line for line in out.splitlines() if line.startswith("demo/web "))
    assert WEB_VIP in web and "80/TCP" in web and web.split()[-1] == "2/2"  # v4 and v6
    code, out = show(capsys, agent, "services", "--json")
    services = {s["name"]: s for s in json.loads(out)["services"]}
    assert services["demo/web"]["translations_in_vpp"] == services["demo/web"]["translations"]
    # a LoadBalancer: its cluster, load-balancer and external IP, and its NodePort on the
    # node's address, all four in VPP
    public = services["demo/web-public"]
    assert public["translations"] == public["translations_in_vpp"] == 4

    code, out = show(capsys, agent, "policies")
    policy = next(line for line in out.splitlines() if "default/demo/allow-web" in line)
    assert policy.startswith("policy ") and "demo/web-1/eth0" in policy
    code, out = show(capsys, agent, "policies", "--json")
    kinds = {(p["kind"], p["name"]) for p in json.loads(out)["policies"]}
    assert ("policy", "default/demo/allow-web") in kinds and ("profile", "kns.demo") in kinds


def test_vpp_sections_still_read_vpp(agent: LiveAgent, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "routes", "--socket", str(agent.api))
    assert code == 0 and "10.244.1.10/32" in out
    code, out, _ = run(capsys, "explain", "service", WEB_VIP, "80", "--socket", str(agent.api))
    assert code == 0 and "-> 10.244.1.10:8080" in out
    code, out, _ = run(
        capsys, "explain", "service", WEB_VIP, "80", "--socket", str(agent.api), "--json"
    )
    explained = json.loads(out)
    assert explained["outcome"] and explained["text"].startswith(f"packet to {WEB_VIP}:80")
    assert any(
        p["address"] == "10.244.1.10" and p["port"] == 8080 and p["reachable"]
        for p in explained["paths"]
    )
    vpp = ["--socket", str(agent.api)]
    code, out, _ = run(capsys, "explain", "route", "10.244.1.10", *vpp)
    assert code == 0
    assert out.startswith(
        "packet to 10.244.1.10 in table 0: forward: dev vppnet:pod/demo/web-1/eth0"
    )
    code, out, _ = run(capsys, "explain", "route", "172.19.2.9", "--table", "4001", *vpp, "--json")
    route = json.loads(out)
    assert route["result"] == "forward" and "vxlan/blue/node-b" in route["via"]
    code, out, err = run(capsys, "explain", "route", "10.244.1.300", *vpp)
    assert code == 2 and out == "" and "'10.244.1.300' is not an IP address" in err


def test_explain_policy_from_the_live_model(
    agent: LiveAgent, capsys: pytest.CaptureFixture[str]
) -> None:
    target = ["demo/web-1/eth0", "ingress"]
    allowed = "tcp 10.244.2.5:4000 10.244.1.10:8080"
    code, out, err = run(
        capsys, "explain", "policy", *target, allowed, "--control", str(agent.control)
    )
    assert code == 0, err
    assert "matched policy default/demo/allow-web, inbound rule 0" in out
    assert "Calico's verdict: ALLOW" in out and "agrees" in out  # the live model's verdict
    denied = "udp 10.244.9.5:4000 10.244.1.10:53"
    code, out, _ = run(
        capsys, "explain", "policy", *target, denied, "--control", str(agent.control), "--json"
    )
    view = json.loads(out)
    assert code == 0 and view["allowed"] is False and view["calico_allowed"] is False
    assert view["target"] == "demo/web-1/eth0" and "programmed verdict: DENY" in view["text"]
    # the old way, from the ownership index on disk, gives VPP's verdict without Calico's
    state = agent.runtime.cfg.state_dir
    code, out, _ = run(capsys, "explain", "policy", *target, allowed, "--state-dir", state)
    assert code == 0 and out.rstrip().endswith("programmed verdict: ALLOW")
    code, out, err = run(
        capsys,
        "explain",
        "policy",
        "demo/nope/eth0",
        "ingress",
        allowed,
        "--control",
        str(agent.control),
    )
    assert code == 2 and out == "" and "demo/nope/eth0" in err


def test_plan_live_reports_drift_made_behind_the_agents_back(
    agent: LiveAgent, capsys: pytest.CaptureFixture[str]
) -> None:
    live = ["plan", "--live", "--control", str(agent.control)]
    code, out, _ = run(capsys, *live)
    assert code == 0 and "nothing to do" in out
    code, out, _ = run(capsys, *live, "--json")
    assert code == 0 and json.loads(out)["drift"] is False

    with VppConnection(agent.api) as conn:
        conn.connect()
        [web] = [t for t in conn.dump(cnat.dump()) if str(t.vip.addr) == WEB_VIP]
        conn.call(cnat.delete(web.translation_id))
    before = agent.sim.mutations
    code, out, _ = run(capsys, *live)
    assert code == 1
    assert "drift" in out and f"+ create cnat TCP {WEB_VIP}:80 -> 10.244.1.10:8080" in out
    assert "plan: 1 to create, 0 to update, 0 to delete" in out
    code, out, _ = run(capsys, *live, "--json")
    drift = json.loads(out)
    assert code == 1 and drift["drift"] is True
    assert [c["key"] for c in drift["changes"]] == [f"cnat TCP {WEB_VIP} 80"]
    assert agent.sim.mutations == before  # asking changed nothing in VPP

    # a resync (what the agent runs periodically) repairs it, and the drift is gone
    assert [c.key for c in agent.runtime.dataplane.resync().plan.changes] == [
        f"cnat TCP {WEB_VIP} 80"
    ]
    code, out, _ = run(capsys, *live)
    assert code == 0 and "nothing to do" in out


def test_the_socket_is_root_only_and_survives_bad_requests(agent: LiveAgent) -> None:
    mode = agent.control.stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600

    def reply(data: bytes) -> dict[str, object]:
        answer = json.loads(exchange(agent.control, data, timeout=10))
        assert isinstance(answer, dict)
        return answer

    garbled = reply(b"not json\n")
    assert garbled["ok"] is False and "not JSON" in str(garbled["error"])
    unknown = reply(b'{"request": "reboot"}\n')
    assert unknown["ok"] is False
    assert "unknown request 'reboot'" in str(unknown["error"]) and "pods" in str(unknown["error"])
    assert "must be a JSON object" in str(reply(b"[1, 2]\n")["error"])
    assert '"request" field' in str(reply(b'{"what": "pods"}\n')["error"])
    huge = reply(b'{"request": "' + b"x" * (2 * MAX_REQUEST) + b'"}\n')
    assert huge["ok"] is False and "too long" in str(huge["error"])
    bad_args = reply(b'{"request": "explain-policy", "target": 7}\n')
    assert bad_args["ok"] is False and "'target' must be a string" in str(bad_args["error"])
    # a request ended by closing the connection's write side is a request too
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(agent.control))
        sock.sendall(b'{"request": "networks"}')
        sock.shutdown(socket.SHUT_WR)
        answer = json.loads(sock.makefile("rb").readline())
    assert answer["ok"] is True and {n["name"] for n in answer["result"]} == {"blue", "red"}
    # and it keeps serving
    status = reply(b'{"request": "status"}\n')
    assert status["ok"] is True and isinstance(status["result"], dict)
    assert status["result"]["ready"] is True


def test_a_silent_client_or_a_failing_view_costs_one_reply(
    agent: LiveAgent, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    control = agent.runtime.control
    monkeypatch.setattr(control, "read_timeout", 0.2)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(agent.control))  # and says nothing
        answer = json.loads(sock.makefile("rb").readline())
    assert answer == {"ok": False, "error": "no request line within 0.2 s"}

    def broken() -> list[object]:
        raise RuntimeError("a bug in a view")

    monkeypatch.setattr(control.views, "pods", broken)
    code, out, err = run(capsys, "show", "pods", "--control", str(agent.control))
    assert code == 2 and out == ""
    assert "the agent says: internal error: RuntimeError('a bug in a view')" in err
    code, out, _ = run(capsys, "show", "status", "--control", str(agent.control))
    assert code == 0 and "ready" in out
    assert agent.runtime.status.ready


def test_show_desired_filtered_by_kind(
    agent: LiveAgent, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "show", "desired", "--kind", "Route", "--control", str(agent.control), "--json"
    )
    objects = json.loads(out)["desired"]
    assert code == 0 and objects and {o["kind"] for o in objects} == {"Route"}
    assert "route 172.19.2.0/26 table 4001: dev vxlan/blue/node-b" in {o["object"] for o in objects}
    assert all(o["in_vpp"] is True for o in objects)
    code, out, err = run(capsys, "show", "pods", "--kind", "Route", "--control", str(agent.control))
    assert code == 2 and out == ""
    assert "--kind: only 'desired' and 'policies' have kinds, not 'pods'" in err


def test_no_agent_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "control.sock"
    for argv in (["show", "pods"], ["plan", "--live"], ["show", "status", "--json"]):
        code, out, err = run(capsys, *argv, "--control", str(missing))
        assert code == 2 and out == ""
        assert err.startswith(f"vppnet {argv[0]}: no vppnet agent answers on {missing}")
        assert "Traceback" not in err


def _on_a_terminal(argv: list[str], env: dict[str, str]) -> str:
    """Run the command with its stdout on a pseudo-terminal, as in an operator's shell."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", *argv], stdout=follower, stderr=subprocess.PIPE, env=env
    )
    os.close(follower)  # the child holds the terminal now; reading ends when it exits
    chunks = []
    try:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal has no writer left
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return b"".join(chunks).decode()


def test_colour_on_a_terminal_unless_no_color(agent: LiveAgent) -> None:
    argv = ["show", "pods", "--control", str(agent.control)]
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    coloured = _on_a_terminal(argv, env)
    assert "\x1b[1mPOD INTERFACE\x1b[0m" in coloured and "\x1b[32myes\x1b[0m" in coloured
    plain = _on_a_terminal(argv, env | {"NO_COLOR": "1"})
    assert "\x1b[" not in plain and "demo/web-1/eth0" in plain
