"""A full disk under the agent's state files: the save fails loudly, nothing is half-written.

The CNI state file and the reconciler's ownership index live on a tiny tmpfs
(mounted with mount(2), as root) that the test fills up. A CNI ADD whose
record cannot be saved is refused and undone (VPP and the pod's netns keep
nothing of it), the error says which file could not be written, the previous
file stays complete, and the server goes on answering; once space is freed
the same ADD succeeds. The ownership index is VPP's bookkeeping, not a
request: a change is programmed even when its index cannot be written, the
error is logged, and the next apply writes the index.
"""

from __future__ import annotations

import ctypes
import errno
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import plugins
from agent.cni import CniSettings, add_request
from agent.cni.translate import Translator
from agent.dataplane import Dataplane
from agent.model import PodInterface, PodInterfaceKey
from agent.proto_gen.cnibackend_pb2 import AddRequest
from agent.reconcile import REQUIRED_MESSAGES, Reconciler
from agent.state import ClusterState
from agent.vpp import VppConnection, interfaces
from agent.vppsim import Simulator
from tests.integration.cni_fixtures import (
    CniEnv,
    NetnsFactory,
    base_model,
    links,
    make_env,
    pod_netns,
)

pytestmark = pytest.mark.root
__all__ = ["pod_netns"]

MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)


def mount_tmpfs(target: Path, size: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    if _libc.mount(b"tmpfs", bytes(target), b"tmpfs", 0, f"size={size},mode=0700".encode()):
        err = ctypes.get_errno()
        raise OSError(err, f"mount tmpfs on {target}: {os.strerror(err)}")


def unmount(target: Path) -> None:
    if _libc.umount2(bytes(target), MNT_DETACH):
        err = ctypes.get_errno()
        raise OSError(err, f"umount {target}: {os.strerror(err)}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB filesystem, unmounted afterwards."""
    target = tmp_path / "state"
    mount_tmpfs(target, "64k")
    try:
        yield target
    finally:
        unmount(target)


def fill(disk: Path) -> Path:
    """Take every free byte of ``disk``; returns the file to delete to give them back."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (65536, 4096, 512, 64, 8, 1):  # unbuffered: ENOSPC shows at once
            chunk = b"\0" * size
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as e:
                    assert e.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    return filler


def pod_request(netns: str, pod: str, address: str) -> AddRequest:
    return add_request(netns=netns, namespace="default", pod=pod, addresses=[address])


@pytest.fixture
def cni_on_small_disk(tmp_path: Path, small_disk: Path) -> Iterator[CniEnv]:
    with Simulator(tmp_path / "api.sock", devices="real") as sim:
        env = make_env(tmp_path, sim, vhost_net=True)
        env.stop()  # again, with the state file on the small disk
        env.settings = env.settings.model_copy(
            update={"state_file": str(small_disk / "cni-state.json")}
        )
        env.start()
        try:
            yield env
        finally:
            env.stop()


def recorded_pods(path: Path) -> list[str]:
    data = json.loads(path.read_text())
    return sorted(p["pod"]["key"]["pod"] for p in data["pods"])


def test_a_cni_add_on_a_full_disk_is_refused_and_undone(
    cni_on_small_disk: CniEnv,
    small_disk: Path,
    pod_netns: NetnsFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = cni_on_small_disk
    state_file = small_disk / "cni-state.json"
    first, second = pod_netns(), pod_netns()
    assert env.client.add(pod_request(first, "web-1", "10.244.1.10/32")).successful
    before = state_file.read_text()
    assert recorded_pods(state_file) == ["web-1"]

    filler = fill(small_disk)
    with caplog.at_level(logging.ERROR):
        reply = env.client.add(pod_request(second, "web-2", "10.244.1.11/32"))
    assert not reply.successful
    assert "cannot write CNI state" in reply.error_message
    assert "No space left on device" in reply.error_message
    assert any("cannot write CNI state" in r.getMessage() for r in caplog.records)
    # the previous file is whole, and no temp file is left behind
    assert state_file.read_text() == before
    assert sorted(p.name for p in small_disk.iterdir()) == ["cni-state.json", "filler"]
    # undone: VPP has no interface for it, its netns no eth0, the model no pod
    tags = env.owned_tags()
    assert "vppnet:pod/default/web-1/eth0" in tags
    assert "vppnet:pod/default/web-2/eth0" not in tags
    assert "eth0" not in links(second)
    assert PodInterfaceKey("default", "web-2", "eth0") not in env.state.model.pod_interfaces

    # the server is still there; with space again the same ADD succeeds
    filler.unlink()
    reply = env.client.add(pod_request(second, "web-2", "10.244.1.11/32"))
    assert reply.successful, reply.error_message
    assert recorded_pods(state_file) == ["web-1", "web-2"]
    assert "vppnet:pod/default/web-2/eth0" in env.owned_tags()
    assert "eth0" in links(second)


def memif_pod(name: str) -> PodInterface:
    """A pod interface with no Linux side (a memif), put into the model as an ADD does."""
    req = add_request(
        netns="/var/run/netns/unused",
        namespace="default",
        pod=name,
        addresses=["10.244.1.20/32"],
        interface="memif1",
    )
    translator = Translator(CniSettings(), True, lambda field, path: path)
    return translator.pod_interface(req, base_model()).pod


def test_a_full_disk_under_the_ownership_index_keeps_the_dataplane_going(
    tmp_path: Path, small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    index_file = small_disk / "vpp-index.json"
    with Simulator(tmp_path / "api.sock", devices="record"):
        conn = VppConnection(tmp_path / "api.sock", timeout=5.0)
        conn.connect(check=REQUIRED_MESSAGES)
        try:
            state = ClusterState(base_model())
            dataplane = Dataplane(state, Reconciler(conn, index_file), plugins.render)
            dataplane.resync()
            before = index_file.read_text()

            filler = fill(small_disk)
            pod = memif_pod("db-1")
            state.put_pod_interface(pod)
            with caplog.at_level(logging.ERROR):
                result = dataplane.converge("cni")  # does not raise
            assert result.report.ok
            tag = "vppnet:pod/default/db-1/memif1"
            assert tag in {i.tag for i in conn.dump(interfaces.dump())}  # VPP has it
            assert any("cannot write ownership index" in r.getMessage() for r in caplog.records)
            assert index_file.read_text() == before  # whole, and without the new interface
            assert tag not in json.loads(before)["interfaces"]
            assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "vpp-index.json"]

            filler.unlink()
            dataplane.resync()  # the next apply writes what the last one could not
            assert tag in json.loads(index_file.read_text())["interfaces"]
            # and a restarted agent adopts the interface without touching it
            again = Dataplane(state, Reconciler(conn, index_file), plugins.render)
            assert not again.resync().plan.changes
        finally:
            conn.close()
