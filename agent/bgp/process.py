"""The gobgpd process: find the binary, start it on a private API socket, stop it.

gobgpd's gRPC API is served on a unix socket only (``--api-hosts unix://...``):
its default, TCP port 50051 on every interface, would let anything on the
node drive the speaker. pprof is disabled (it would open localhost:6060).
Its output is relayed line by line into the agent's log, and the last lines
are kept so that a gobgpd that fails to start or crashes says why.
Optionally gobgpd runs in another network namespace (where the node's BGP
addresses live when the agent's namespace is not the host's).
"""

from __future__ import annotations

import collections
import logging
import os
import shutil
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

import grpc

from agent.bgp.config import BgpSettings
from agent.bgp.errors import BgpError, GobgpdMissingError
from agent.bgp.launcher import spawn
from agent.proto_gen import gobgp_pb2 as pb
from agent.proto_gen import gobgp_pb2_grpc as rpc

log = logging.getLogger(__name__)

NETNS_DIR = "/var/run/netns"
_KEEP_LINES = 20


def find_gobgpd(path: str) -> str:
    """The gobgpd binary to run; :class:`GobgpdMissingError` names what was looked for."""
    if "/" in path:
        p = Path(path)
        if p.is_file() and os.access(p, os.X_OK):
            return str(p)
        why = "is not an executable file" if p.exists() else "does not exist"
        raise GobgpdMissingError(
            f"bgp.gobgpd_path {path!r} {why}; install the Debian package gobgpd or fix the path"
        )
    found = shutil.which(path)
    if found is None:
        raise GobgpdMissingError(
            f"bgp.gobgpd_path: no {path!r} in PATH; install the Debian package gobgpd "
            "(apt-get install gobgpd) or set the full path"
        )
    return found


def netns_path(netns: str) -> str:
    return netns if "/" in netns else f"{NETNS_DIR}/{netns}"


class GobgpdProcess:
    """One gobgpd run. :meth:`start` returns once its API answers."""

    def __init__(self, settings: BgpSettings) -> None:
        self.settings = settings
        self.binary = find_gobgpd(settings.gobgpd_path)
        self.socket = Path(settings.api_socket)
        self._proc: subprocess.Popen[bytes] | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=_KEEP_LINES)
        self._relay: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def target(self) -> str:
        """The gRPC target of its API."""
        return f"unix:{self.socket}"

    def output(self) -> str:
        """gobgpd's last lines of output, for error messages."""
        return "\n".join(self._tail)

    def start(self) -> None:
        """Spawn gobgpd and wait for its API; raises :class:`BgpError` with its output."""
        self._prepare_socket()
        args = [
            self.binary,
            "--api-hosts",
            f"unix://{self.socket}",
            "--pprof-disable",
            "--log-plain",
            "--log-level",
            self.settings.log_level,
        ]
        netns = self._netns_path() if self.settings.netns is not None else None
        try:
            self._proc = spawn(  # dies with the agent's process, whatever ends it
                args,
                netns,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C to the agent must not kill it first
            )
        except OSError as e:
            raise BgpError(f"cannot start {self.binary}: {e.strerror}") from e
        assert self._proc.stdout is not None
        self._tail.clear()
        self._relay = threading.Thread(
            target=self._relay_output, args=(self._proc.stdout,), name="gobgpd-log", daemon=True
        )
        self._relay.start()
        self._wait_for_api()
        log.info("gobgpd %s started (pid %d), API on %s", self.binary, self._proc.pid, self.socket)

    def _prepare_socket(self) -> None:
        self.socket.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            if stat.S_ISSOCK(self.socket.lstat().st_mode):
                self.socket.unlink()  # left by a gobgpd that died: it would fail to bind
        except FileNotFoundError:
            pass

    def _netns_path(self) -> str:
        assert self.settings.netns is not None
        path = netns_path(self.settings.netns)
        if not os.path.exists(path):
            raise BgpError(f"bgp.netns: no network namespace at {path}")
        return path

    def _relay_output(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode(errors="replace").rstrip()
            if line:
                self._tail.append(line)
                log.debug("gobgpd: %s", line)
        stream.close()

    def _wait_for_api(self) -> None:
        deadline = time.monotonic() + self.settings.start_timeout
        assert self._proc is not None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._join_relay()
                raise BgpError(
                    f"gobgpd exited with status {self._proc.returncode} while starting:\n"
                    f"{self.output() or '(no output)'}"
                )
            if self.socket.exists() and self._api_answers():
                return
            time.sleep(0.01)
        self.stop()
        raise BgpError(
            f"gobgpd's API did not answer on {self.socket} within "
            f"{self.settings.start_timeout:.0f} s:\n{self.output() or '(no output)'}"
        )

    def _api_answers(self) -> bool:
        with grpc.insecure_channel(self.target) as channel:
            try:
                rpc.GobgpApiStub(channel).GetBgp(pb.GetBgpRequest(), timeout=0.5)
            except grpc.RpcError:
                return False
        return True

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait(self, timeout: float | None = None) -> int | None:
        """Its exit status, or None if it still runs after ``timeout``."""
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """SIGKILL, as a crash would (tests and a stuck stop)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM (gobgpd stops cleanly, sending its peers a Cease), then SIGKILL."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("gobgpd (pid %d) ignored SIGTERM; killing it", proc.pid)
                proc.kill()
                proc.wait(timeout)
        self._join_relay()

    def _join_relay(self) -> None:
        if self._relay is not None:
            self._relay.join(2)
