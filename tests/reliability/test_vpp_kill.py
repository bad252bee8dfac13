"""VPP killed with SIGKILL on a full node: the agent waits for the new one and reprograms it.

The simulator runs as its own process (``vppnet sim`` with real tun devices), so a
SIGKILL is a real crash: its API socket stops answering, its tun devices vanish
with its file descriptors (the pods lose their eth0) and the new VPP starts empty.
The agent must notice, wait, and program the new VPP from its model: every pod's
interface again, in the pod's namespace, with the same names and addresses and
its routes back inside the pod; every service translation and every policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from agent.runtime import AgentRuntime
from agent.vpp import VppConnection, VppError, npol, vpe
from tests.reliability import scenario as sc

pytestmark = pytest.mark.root

SIZE = sc.FULL  # 100 pods, 1,000 services, 200 policies


def vpp_view(sock: Path) -> tuple[dict[str, sc.PodInVpp], dict[str, set[str]]]:
    with VppConnection(sock, timeout=30) as conn:
        conn.connect()
        return sc.pods_in_vpp(conn), sc.translations(conn)


def npol_sets_alive(sock: Path, records: dict[str, str]) -> tuple[int, list[str]]:
    """VPP's process id, and which of the recorded npol sets the VPP answering has."""
    alive = []
    with VppConnection(sock, timeout=30) as conn:
        conn.connect()
        for key, text in records.items():
            if not key.startswith("npol-ipset"):
                continue
            with contextlib.suppress(VppError):  # gone with the killed VPP
                conn.call(npol.ipset_exists(int(json.loads(text)["id"])))
                alive.append(key)
        return conn.call(vpe.vpe_pid()), sorted(alive)


def without_vpp_names(pods: dict[str, sc.PodInVpp]) -> dict[str, sc.PodInVpp]:
    return {tag: replace(p, name="") for tag, p in pods.items()}


def sides(namespaces: list[str], ifname: str = "eth0") -> list[tuple[list[str], list[str]]]:
    """What the pods see of ``ifname`` (only the pods that have one in the scenario)."""
    return [
        sc.pod_side(ns, ifname)
        for i, ns in enumerate(namespaces)
        if ifname == "eth0" or sc.secondary(i) is not None
    ]


def test_sigkilled_vpp_is_reprogrammed_and_pods_come_back(tmp_path: Path) -> None:
    cfg = sc.agent_config(tmp_path)
    sock = Path(cfg.vpp.socket)
    wanted = sc.model(SIZE)
    vpp = sc.SimProcess(sock, devices="real")
    vpp.start()

    async def scenario(namespaces: list[str]) -> None:
        stop = asyncio.Event()
        agent = AgentRuntime(cfg, sc.NODE_NAME, vhost_net=True, initial_model=wanted)
        task = asyncio.create_task(agent.run(stop))
        await sc.until(lambda: agent.status.ready, what="start")
        await sc.add_pods(cfg.cni.socket, namespaces)
        pods_before, cnat_before = await asyncio.to_thread(vpp_view, sock)
        keys = set(agent.state.model.pod_interfaces)
        assert set(pods_before) == {f"vppnet:pod/{k}" for k in keys}
        assert cnat_before == sc.expected_translations(list(wanted.services.values()))
        inside = await asyncio.to_thread(sides, namespaces)
        assert inside == [
            ([f"{sc.pod_address(i)}/32"], ["0.0.0.0/0"]) for i in range(len(namespaces))
        ]
        second = await asyncio.to_thread(sides, namespaces, "net1")
        assert len(second) == SIZE.pods // 5 and all(addrs for addrs, _ in second)
        npol_before = dict(agent.dataplane.reconciler.index.npol["objects"])
        old_pid, sets = await asyncio.to_thread(npol_sets_alive, sock, npol_before)
        assert len(sets) > sc.SETS  # the IP sets, and the epoch set
        assert sum(k.startswith("npol-policy") for k in npol_before) >= SIZE.policies

        await asyncio.to_thread(vpp.kill)
        await sc.until(lambda: not agent.status.vpp_connected, what="the agent to notice")
        assert not agent.status.ready
        gone = await asyncio.to_thread(sides, namespaces[:1])
        assert gone == [([], [])]  # the pod's eth0 died with VPP
        await asyncio.to_thread(vpp.start)
        await sc.until(lambda: agent.status.ready, what="recovery")
        assert agent.status.vpp_reconnects == 1
        assert agent.status.last_error == ""

        pods_after, cnat_after = await asyncio.to_thread(vpp_view, sock)
        # the same pod-side names, namespaces and VPP routes; VPP's own names (tun<N>) are
        # its choice, in the order the interfaces were made, and may differ
        assert without_vpp_names(pods_after) == without_vpp_names(pods_before)
        assert cnat_after == cnat_before
        assert await asyncio.to_thread(sides, namespaces) == inside
        assert await asyncio.to_thread(sides, namespaces, "net1") == second
        npol_after = dict(agent.dataplane.reconciler.index.npol["objects"])
        assert set(npol_after) == set(npol_before)
        new_pid, alive = await asyncio.to_thread(npol_sets_alive, sock, npol_after)
        assert new_pid != old_pid and alive == sets
        assert set(agent.state.model.pod_interfaces) == keys
        assert agent.cni is not None and set(agent.cni.backend.store.records) == keys
        stop.set()
        assert await task == 0

    try:
        with sc.pod_namespaces(SIZE.pods) as namespaces:
            asyncio.run(scenario(namespaces))
    finally:
        vpp.stop()
