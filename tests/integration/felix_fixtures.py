"""A Felix emulator, Felix message factories, and harnesses for the driver server.

The emulator starts the real felix-proxy binary the way Felix starts its
dataplane driver: no arguments, stdin on /dev/null, one pipe on fd 3 (Felix
writes framed ToDataplane messages) and one on fd 4 (Felix reads framed
FromDataplane messages). Everything crosses the real framing.
"""

from __future__ import annotations

import asyncio
import importlib.util
import ipaddress
import os
import queue
import select
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import plugins
from agent.dataplane import ConvergeResult
from agent.felix import FelixDriverServer, FelixSettings
from agent.felix.framing import FrameDecoder, encode_frame, write_all
from agent.model import ClusterModel, PodInterface, PodInterfaceKey
from agent.proto_gen import felixbackend_pb2 as pb
from agent.reconcile import ApplyReport, Change, Op, Plan
from agent.state import ClusterState
from agent.vppobjects import VppObject

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def build_proxy(out_dir: Path) -> Path:
    """Build felix-proxy with its own build script (fails loudly without gcc)."""
    spec = importlib.util.spec_from_file_location(
        "felix_proxy_build", ROOT / "felix-proxy" / "build.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    binary: Path = module.build(out_dir)
    return binary


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.01)


# ---- the emulator ------------------------------------------------------------------------


class FelixEmulator:
    """Felix's side of the driver pipes, with the real proxy as the driver."""

    def __init__(self, binary: Path, socket_path: Path, log_path: Path, **env: str) -> None:
        to_driver_r, self._to_driver = os.pipe()
        self._from_driver, from_driver_w = os.pipe()
        # Keep the child's ends above 4 so dup2 onto 3 and 4 never collides.
        child_r = os.dup2(to_driver_r, 100, inheritable=False)
        child_w = os.dup2(from_driver_w, 101, inheritable=False)
        for fd in (to_driver_r, from_driver_w):
            os.close(fd)
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "VPPNET_FELIX_SOCKET": str(socket_path),
            "VPPNET_FELIX_PROXY_RETRY_MS": "20",
            **env,
        }
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 (closed in close())
        devnull = os.open(os.devnull, os.O_RDONLY)
        try:
            self.pid = os.posix_spawn(
                str(binary),
                [str(binary)],
                environment,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, devnull, 0),
                    (os.POSIX_SPAWN_DUP2, self._log.fileno(), 1),
                    (os.POSIX_SPAWN_DUP2, self._log.fileno(), 2),
                    (os.POSIX_SPAWN_DUP2, child_r, 3),
                    (os.POSIX_SPAWN_DUP2, child_w, 4),
                ],
            )
        finally:
            for fd in (devnull, child_r, child_w):
                os.close(fd)
        self.replies: queue.Queue[bytes] = queue.Queue()
        self._stop_reading = threading.Event()
        self.raw_replies = bytearray()
        self._reader = threading.Thread(target=self._read_replies, daemon=True)
        self._reader.start()
        self._sequence = 0
        self.returncode: int | None = None

    def _read_replies(self) -> None:
        decoder = FrameDecoder()
        while not self._stop_reading.is_set():
            ready, _, _ = select.select([self._from_driver], [], [], 0.05)
            if not ready:
                continue
            data = os.read(self._from_driver, 65536)
            if not data:
                return
            self.raw_replies += data
            for frame in decoder.feed(data):
                assert isinstance(frame, bytes), frame
                self.replies.put(frame)

    def close_replies(self) -> None:
        """Felix stops reading fd 4 and closes it."""
        self._stop_reading.set()
        self._reader.join(5)
        if self._from_driver >= 0:
            os.close(self._from_driver)
            self._from_driver = -1

    def send(self, *messages: pb.ToDataplane) -> None:
        """Frame and write messages, numbering them as Felix does."""
        chunks = []
        for message in messages:
            message.sequence_number = self._sequence
            self._sequence += 1
            chunks.append(encode_frame(message.SerializeToString()))
        write_all(self._to_driver, b"".join(chunks))

    def send_raw(self, data: bytes) -> None:
        write_all(self._to_driver, data)

    def next_reply(self, timeout: float = 10.0) -> pb.FromDataplane:
        return pb.FromDataplane.FromString(self.replies.get(timeout=timeout))

    def collect(
        self, predicate: Callable[[list[pb.FromDataplane]], bool], timeout: float = 10.0
    ) -> list[pb.FromDataplane]:
        """Read replies until ``predicate(all so far)`` holds."""
        seen: list[pb.FromDataplane] = []
        deadline = time.monotonic() + timeout
        while not predicate(seen):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out; replies so far: {len(seen)}")
            try:
                seen.append(self.next_reply(remaining))
            except queue.Empty:
                continue
        return seen

    def alive(self) -> bool:
        if self.returncode is not None:
            return False
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return True
        self.returncode = os.waitstatus_to_exitcode(status)
        return False

    def wait(self, timeout: float = 10.0) -> int:
        wait_until(lambda: not self.alive(), timeout, "felix-proxy to exit")
        assert self.returncode is not None
        return self.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        """Felix exits: its end of fd 3 closes; then make sure the proxy is gone."""
        if self._to_driver >= 0:
            os.close(self._to_driver)
            self._to_driver = -1
        if self.alive():
            try:
                self.wait(5)
            except AssertionError:
                os.kill(self.pid, 9)
                self.wait(5)
        self.close_replies()
        self._log.close()


# ---- a bare agent side (for proxy-only tests) ----------------------------------------------


class AgentSocket:
    """A unix socket server standing in for the agent: records bytes, can reply, can die."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(4)
        self.listener.settimeout(10)

    def accept(self) -> socket.socket:
        conn, _ = self.listener.accept()
        conn.settimeout(10)
        return conn

    @staticmethod
    def read_frames(conn: socket.socket, count: int) -> list[bytes]:
        decoder = FrameDecoder()
        frames: list[bytes] = []
        while len(frames) < count:
            data = conn.recv(65536)
            if not data:
                raise AssertionError(f"EOF after {len(frames)} of {count} frames")
            for frame in decoder.feed(data):
                assert isinstance(frame, bytes)
                frames.append(frame)
        return frames

    def close(self) -> None:
        self.listener.close()
        self.path.unlink(missing_ok=True)


# ---- the driver server in a background event loop ---------------------------------------------


class LoopThread:
    """An asyncio loop in a thread, so blocking tests can drive async servers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T], timeout: float = 10.0) -> T:
        async def wrapper() -> T:
            return fn()

        return self.run(wrapper(), timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class FakeDataplane:
    """A dataplane that renders like the real one and programs nothing.

    ``fail`` maps desired keys to an error so tests can see endpoints in error.
    """

    state: ClusterState
    fail: dict[str, str] = field(default_factory=dict)
    converges: list[ClusterModel] = field(default_factory=list)
    desired: Mapping[str, VppObject] = field(default_factory=dict)
    gate: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.gate.set()

    def converge(self, trigger: str = "felix") -> ConvergeResult:
        self.gate.wait(30)
        model = self.state.model
        self.converges.append(model)
        desired = plugins.render(model)
        changed = frozenset(
            k for k in desired.keys() | self.desired.keys() if self.desired.get(k) != desired.get(k)
        )
        self.desired = desired
        report = ApplyReport()
        keys = frozenset(changed | self.fail.keys())
        report.failed.extend(
            (_change(desired[k]), why) for k, why in self.fail.items() if k in desired
        )
        return ConvergeResult(Plan(), report, keys)


def _change(obj: VppObject) -> Change:
    return Change(Op.CREATE, obj)


@dataclass
class Harness:
    """State + dataplane + FelixDriverServer running in a loop thread."""

    state: ClusterState
    dataplane: Any
    server: FelixDriverServer
    loop: LoopThread

    @classmethod
    def start(cls, state: ClusterState, dataplane: Any, settings: FelixSettings) -> Harness:
        loop = LoopThread()
        server = loop.run(_make_server(state, dataplane, settings))
        return cls(state, dataplane, server, loop)

    def stop(self) -> None:
        self.loop.run(self.server.stop())
        self.loop.close()


async def _make_server(
    state: ClusterState, dataplane: Any, settings: FelixSettings
) -> FelixDriverServer:
    server = FelixDriverServer(state, dataplane, settings)
    await server.start()
    return server


# ---- Felix messages ------------------------------------------------------------------------

NODE = "node-a"
NAMESPACE = "default"


def envelope(**payload: Any) -> pb.ToDataplane:
    return pb.ToDataplane(**payload)


def config(**extra: str) -> pb.ToDataplane:
    values = {
        "FelixHostname": NODE,
        "CalicoVersion": "v3.32.1",
        "ClusterType": "k8s,bgp,vpp",
        "DefaultEndpointToHostAction": "ACCEPT",
        **extra,
    }
    raw = pb.RawConfig(source="environment variable", config=values)
    return envelope(config_update=pb.ConfigUpdate(config=values, source_to_raw_config={5: raw}))


def in_sync() -> pb.ToDataplane:
    return envelope(in_sync=pb.InSync())


def pod_address(i: int) -> str:
    return f"10.65.{i // 250}.{i % 250 + 1}"


def ip_set_id(i: int) -> str:
    return f"s:set-{i}"


def ip_set(i: int, members: int = 5) -> pb.ToDataplane:
    return envelope(
        ipset_update=pb.IPSetUpdate(
            id=ip_set_id(i),
            type=pb.IPSetUpdate.NET,
            members=[f"{pod_address(i * 7 + m)}/32" for m in range(members)],
        )
    )


def policy_id(i: int) -> pb.PolicyID:
    return pb.PolicyID(name=f"policy-{i}", namespace=NAMESPACE, kind="NetworkPolicy")


def policy(i: int, ip_sets: int) -> pb.ToDataplane:
    inbound = pb.Rule(
        action="allow",
        protocol=pb.Protocol(name="TCP"),
        dst_ports=[pb.PortRange(first=80, last=80), pb.PortRange(first=8000, last=8080)],
        src_ip_set_ids=[ip_set_id(i % ip_sets)] if ip_sets else [],
    )
    outbound = pb.Rule(action="allow", dst_net=["10.96.0.0/12"], ip_version=pb.IPV4)
    deny = pb.Rule(action="deny", protocol=pb.Protocol(number=17), icmp_type=8)
    body = pb.Policy(
        inbound_rules=[inbound, deny],
        outbound_rules=[outbound],
        namespace=NAMESPACE,
        tier="default",
    )
    return envelope(active_policy_update=pb.ActivePolicyUpdate(id=policy_id(i), policy=body))


def profile(name: str) -> pb.ToDataplane:
    body = pb.Profile(
        inbound_rules=[pb.Rule(action="allow")], outbound_rules=[pb.Rule(action="allow")]
    )
    return envelope(
        active_profile_update=pb.ActiveProfileUpdate(id=pb.ProfileID(name=name), profile=body)
    )


def endpoint_id(i: int, namespace: str = NAMESPACE) -> pb.WorkloadEndpointID:
    return pb.WorkloadEndpointID(
        orchestrator_id="k8s", workload_id=f"{namespace}/pod-{i}", endpoint_id="eth0"
    )


def workload(i: int, policies: int, namespace: str = NAMESPACE) -> pb.ToDataplane:
    chosen = [policy_id((i + k) % policies) for k in range(min(3, policies))]
    tier = pb.TierInfo(
        name="default", ingress_policies=chosen, egress_policies=chosen[:1], default_action="Deny"
    )
    body = pb.WorkloadEndpoint(
        state="active",
        name=f"vpp-tun-{i}",
        mac="02:00:00:00:00:00",
        profile_ids=[f"kns.{namespace}", f"ksa.{namespace}.default"],
        ipv4_nets=[f"{pod_address(i)}/32"],
        tiers=[tier],
    )
    update = pb.WorkloadEndpointUpdate(id=endpoint_id(i, namespace), endpoint=body)
    return envelope(workload_endpoint_update=update)


def workload_remove(i: int) -> pb.ToDataplane:
    return envelope(workload_endpoint_remove=pb.WorkloadEndpointRemove(id=endpoint_id(i)))


def host(name: str, address: str, asn: str = "64512") -> pb.ToDataplane:
    return envelope(
        host_metadata_update=pb.HostMetadataUpdate(hostname=name, ipv4_addr=address, asnumber=asn)
    )


def pool(cidr: str = "10.65.0.0/16", mode: str = "cross-subnet") -> pb.ToDataplane:
    body = pb.IPAMPool(cidr=cidr, masquerade=True, ipip_mode=mode, vxlan_mode="never")
    return envelope(ipam_pool_update=pb.IPAMPoolUpdate(id=cidr.replace("/", "-"), pool=body))


def block_route(cidr: str, node: str, node_ip: str, local: bool = False) -> pb.ToDataplane:
    kind = pb.LOCAL_WORKLOAD if local else pb.REMOTE_WORKLOAD
    update = pb.RouteUpdate(
        types=kind,
        ip_pool_type=pb.IPIP,
        dst=cidr,
        dst_node_name=node,
        dst_node_ip=node_ip,
        nat_outgoing=True,
        tunnel_type=pb.TunnelType(ipip=True),
    )
    return envelope(route_update=update)


def startup(endpoints: int, policies: int, ip_sets: int) -> list[pb.ToDataplane]:
    """Felix's start of day, in Felix's flush order, ending with InSync."""
    messages = [config()]
    messages += [ip_set(i) for i in range(ip_sets)]
    messages += [policy(i, ip_sets) for i in range(policies)]
    messages += [profile(f"kns.{NAMESPACE}"), profile(f"ksa.{NAMESPACE}.default")]
    messages += [workload(i, policies) for i in range(endpoints)]
    messages.append(
        envelope(namespace_update=pb.NamespaceUpdate(id=pb.NamespaceID(name=NAMESPACE)))
    )
    messages += [
        block_route("10.65.0.0/26", NODE, "192.168.0.1", local=True),
        block_route("10.66.0.0/26", "node-b", "192.168.0.2"),
        host(NODE, "192.168.0.1/24"),
        host("node-b", "192.168.0.2/24"),
        pool(),
        envelope(encapsulation=pb.Encapsulation(ipip_enabled=True)),
        in_sync(),
    ]
    return messages


def pod_interface(i: int, namespace: str = NAMESPACE) -> PodInterface:
    """What the CNI server would put in the model for endpoint ``i``."""
    return PodInterface(
        key=PodInterfaceKey(namespace, f"pod-{i}", "eth0"),
        container_id=f"container-{i}",
        netns=f"/var/run/netns/pod-{i}",
        host_interface_name=f"vpp-tun-{i}",
        addresses=(ipaddress.ip_interface(f"{pod_address(i)}/32"),),
    )


def statuses(replies: list[pb.FromDataplane]) -> dict[str, str]:
    """Latest endpoint status per workload id from Felix's point of view ("" = removed)."""
    out: dict[str, str] = {}
    for reply in replies:
        kind = reply.WhichOneof("payload")
        if kind == "workload_endpoint_status_update":
            update = reply.workload_endpoint_status_update
            out[update.id.workload_id] = update.status.status
        elif kind == "workload_endpoint_status_remove":
            out[reply.workload_endpoint_status_remove.id.workload_id] = ""
    return out


def frames_of(messages: list[pb.ToDataplane]) -> bytes:
    return b"".join(encode_frame(m.SerializeToString()) for m in messages)
