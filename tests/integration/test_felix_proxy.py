"""felix-proxy, the real static binary, spawned the way Felix spawns its dataplane driver.

The agent side is a plain unix socket server in the test, so what the proxy
does to the bytes is observed directly: nothing, except that a restarted
agent is replayed Felix's stream from its first byte and that Felix only ever
receives whole frames.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.felix.framing import FrameDecoder, encode_frame
from tests.integration.felix_fixtures import AgentSocket, FelixEmulator, build_proxy, wait_until


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_proxy(tmp_path_factory.mktemp("felix-proxy"))


@pytest.fixture
def sock_path(tmp_path: Path) -> Path:
    return tmp_path / "felix.sock"


@pytest.fixture
def agent(sock_path: Path) -> Iterator[AgentSocket]:
    server = AgentSocket(sock_path)
    yield server
    server.close()


def spawn(proxy: Path, sock_path: Path, tmp_path: Path, **env: str) -> FelixEmulator:
    return FelixEmulator(proxy, sock_path, tmp_path / "proxy.log", **env)


def frames(*sizes: int) -> list[bytes]:
    """Payloads of the given sizes with distinct contents (zero-length included)."""
    return [bytes((i + j) % 251 for j in range(size)) for i, size in enumerate(sizes)]


def test_the_binary_is_static(proxy: Path) -> None:
    with open(proxy, "rb") as f:
        header = f.read(4096)
    assert header.startswith(b"\x7fELF")
    assert b"/lib64/ld-linux" not in header and b"ld-linux" not in header  # no interpreter


def test_frames_pass_both_ways_unmodified(
    proxy: Path, sock_path: Path, agent: AgentSocket, tmp_path: Path
) -> None:
    felix = spawn(proxy, sock_path, tmp_path)
    try:
        conn = agent.accept()
        payloads = frames(0, 1, 7, 8, 9, 1000, 300_000)
        felix.send_raw(b"".join(encode_frame(p) for p in payloads))
        assert agent.read_frames(conn, len(payloads)) == payloads
        replies = frames(0, 5, 70_000)
        conn.sendall(b"".join(encode_frame(p) for p in replies))
        assert [felix.replies.get(timeout=10) for _ in replies] == replies
        assert bytes(felix.raw_replies) == b"".join(encode_frame(p) for p in replies)
        conn.close()
    finally:
        felix.close()
    assert felix.returncode == 0  # Felix closing fd 3 is a normal end
    assert "Felix closed fd 3" in felix.log()


def test_the_proxy_waits_for_the_agent_and_delivers_everything(
    proxy: Path, sock_path: Path, tmp_path: Path
) -> None:
    felix = spawn(proxy, sock_path, tmp_path)
    try:
        payloads = frames(10, 20, 30)
        felix.send_raw(b"".join(encode_frame(p) for p in payloads))
        wait_until(lambda: "waiting for the agent" in felix.log(), what="the wait to be logged")
        assert felix.alive()  # no agent is no reason to make Felix restart
        agent = AgentSocket(sock_path)
        try:
            conn = agent.accept()
            assert agent.read_frames(conn, 3) == payloads
        finally:
            agent.close()
    finally:
        felix.close()


def test_a_restarted_agent_is_replayed_the_whole_stream(
    proxy: Path, sock_path: Path, agent: AgentSocket, tmp_path: Path
) -> None:
    felix = spawn(proxy, sock_path, tmp_path)
    try:
        first = agent.accept()
        before = frames(3, 4, 5)
        felix.send_raw(b"".join(encode_frame(p) for p in before))
        assert agent.read_frames(first, 3) == before
        first.close()  # the agent dies
        during = frames(6, 7)  # Felix keeps writing while the agent is away
        felix.send_raw(b"".join(encode_frame(p) for p in during))
        second = agent.accept()  # the new agent
        after = frames(8)
        felix.send_raw(encode_frame(after[0]))
        assert agent.read_frames(second, 6) == before + during + after
        second.sendall(encode_frame(b"status"))
        assert felix.replies.get(timeout=10) == b"status"
        assert felix.alive()
    finally:
        felix.close()
    assert "connection 2" in felix.log()


def test_felix_never_receives_half_a_frame_from_a_dying_agent(
    proxy: Path, sock_path: Path, agent: AgentSocket, tmp_path: Path
) -> None:
    felix = spawn(proxy, sock_path, tmp_path)
    try:
        first = agent.accept()
        whole = encode_frame(b"complete")
        first.sendall(whole + encode_frame(b"x" * 100)[:50])  # then die mid-frame
        first.close()
        second = agent.accept()
        second.sendall(encode_frame(b"next"))
        assert felix.replies.get(timeout=10) == b"complete"
        assert felix.replies.get(timeout=10) == b"next"
        assert bytes(felix.raw_replies) == whole + encode_frame(b"next")
    finally:
        felix.close()


def test_an_oversize_frame_from_the_agent_drops_that_connection(
    proxy: Path, sock_path: Path, agent: AgentSocket, tmp_path: Path
) -> None:
    felix = spawn(proxy, sock_path, tmp_path, VPPNET_FELIX_PROXY_MAX_FRAME_BYTES="1000")
    try:
        first = agent.accept()
        first.sendall((5000).to_bytes(8, "little") + b"x" * 100)
        assert first.recv(1) == b""  # the proxy hung up on it
        second = agent.accept()
        second.sendall(encode_frame(b"fine"))
        assert felix.replies.get(timeout=10) == b"fine"
        assert "more than VPPNET_FELIX_PROXY_MAX_FRAME_BYTES" in felix.log()
    finally:
        felix.close()


def test_the_journal_bound_falls_back_to_a_felix_restart(
    proxy: Path, sock_path: Path, agent: AgentSocket, tmp_path: Path
) -> None:
    """Past the bound the proxy still relays, but cannot replay: it exits on agent loss."""
    felix = spawn(proxy, sock_path, tmp_path, VPPNET_FELIX_PROXY_JOURNAL_BYTES="65536")
    try:
        conn = agent.accept()
        payloads = [os.urandom(10_000) for _ in range(12)]  # about twice the bound
        for payload in payloads:
            felix.send_raw(encode_frame(payload))
            assert agent.read_frames(conn, 1) == [payload]
        assert felix.alive()
        conn.close()
        assert felix.wait() == 1
    finally:
        felix.close()
    assert "cannot be replayed" in felix.log()


def test_the_journal_bound_with_no_agent_makes_felix_restart(
    proxy: Path, sock_path: Path, tmp_path: Path
) -> None:
    felix = spawn(proxy, sock_path, tmp_path, VPPNET_FELIX_PROXY_JOURNAL_BYTES="65536")
    try:
        with contextlib.suppress(BrokenPipeError):  # it may exit before reading it all
            felix.send_raw(encode_frame(os.urandom(100_000)))
        assert felix.wait() == 1
    finally:
        felix.close()
    assert "the agent is away" in felix.log()


def test_the_proxy_exits_when_felix_closes_fd_4(
    proxy: Path, sock_path: Path, agent: AgentSocket, tmp_path: Path
) -> None:
    felix = spawn(proxy, sock_path, tmp_path)
    try:
        conn = agent.accept()
        felix.close_replies()
        conn.sendall(encode_frame(b"nobody reads this"))
        assert felix.wait() == 0
    finally:
        felix.close()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"VPPNET_FELIX_PROXY_JOURNAL_BYTES": "lots"}, "is not a whole number"),
        ({"VPPNET_FELIX_PROXY_RETRY_MS": "-5"}, "is not a whole number"),
        ({"VPPNET_FELIX_SOCKET": "/" + "x" * 200}, "longer than a unix socket path"),
    ],
)
def test_a_bad_setting_is_refused_with_a_message(
    proxy: Path, sock_path: Path, tmp_path: Path, env: dict[str, str], message: str
) -> None:
    felix = spawn(proxy, sock_path, tmp_path, **env)
    try:
        assert felix.wait() == 2
    finally:
        felix.close()
    assert message in felix.log()


def test_run_by_hand_it_explains_itself(proxy: Path) -> None:
    result = subprocess.run([str(proxy)], capture_output=True, text=True, check=False, timeout=10)
    assert result.returncode == 2
    assert "Felix starts this program" in result.stderr
    usage = subprocess.run(
        [str(proxy), "--help"], capture_output=True, text=True, check=False, timeout=10
    )
    assert usage.returncode == 0 and "VPPNET_FELIX_SOCKET" in usage.stderr


def test_the_agent_side_sees_felix_s_stream_as_felix_wrote_it(
    proxy: Path, sock_path: Path, agent: AgentSocket, tmp_path: Path
) -> None:
    """Byte-exact, including how frames are cut across writes."""
    felix = spawn(proxy, sock_path, tmp_path)
    try:
        conn = agent.accept()
        stream = b"".join(encode_frame(p) for p in frames(1, 2, 3, 4000))
        for start in range(0, len(stream), 777):  # writes that split headers and payloads
            felix.send_raw(stream[start : start + 777])
        received = bytearray()
        conn.settimeout(10)
        while len(received) < len(stream):
            received += conn.recv(65536)
        assert bytes(received) == stream
        decoder = FrameDecoder()
        assert decoder.feed(bytes(received)) == frames(1, 2, 3, 4000)
    finally:
        felix.close()


def test_socket_pairs_are_not_needed_the_proxy_dials_a_path(proxy: Path, tmp_path: Path) -> None:
    """The socket path comes from the environment (calico-node's, inherited by the proxy)."""
    other = tmp_path / "elsewhere.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(other))
    listener.listen(1)
    listener.settimeout(10)
    felix = spawn(proxy, other, tmp_path)
    try:
        conn, _ = listener.accept()
        conn.close()
    finally:
        felix.close()
        listener.close()
