"""The VPP process (or the simulator standing in for it): start, wait for its socket, stop.

``vpp.binary: sim`` runs ``python -m agent.cli sim`` as a child process, so
the manager talks to it exactly as to VPP — through the API socket — and
never imports the simulator. The child inherits the manager's network
namespace (the node's), is killed if the manager dies (PR_SET_PDEATHSIG),
and its pid and start time go into the state file so that a manager
restarted after a SIGKILL can stop a VPP left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from agent.manager.config import ManagerSettings
from agent.manager.errors import ManagerError, VppStartError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: a SIGKILLed manager takes VPP down with it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks (/proc/<pid>/stat field 22), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])


def socket_answers(path: str) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect(path)
    except OSError:
        return False
    finally:
        s.close()
    return True


def stop_pid(pid: int, expected_start: int | None, timeout: float) -> bool:
    """Stop a process left by an earlier manager, if it is still that process."""
    if expected_start is None or start_time(pid) != expected_start:
        return False
    log.warning("stopping VPP process %d left by a previous manager", pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if start_time(pid) != expected_start:
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


class VppProcess:
    """One run of VPP; ``start`` then ``wait_ready``; ``stop`` is safe to repeat."""

    def __init__(self, settings: ManagerSettings, *, vhost_net: bool) -> None:
        self.settings = settings
        self.vhost_net = vhost_net
        self._proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        vpp = self.settings.vpp
        if vpp.simulated:
            cmd = [sys.executable, "-m", "agent.cli", "sim", "--socket", vpp.socket]
            cmd += ["--devices", "real" if os.geteuid() == 0 else "auto"]
            if vpp.stats_socket is not None:
                cmd += ["--stats-socket", vpp.stats_socket]
            return cmd if self.vhost_net else [*cmd, "--no-vhost-net"]
        return [vpp.binary, "-c", vpp.startup_conf]

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        sock = self.settings.vpp.socket
        if socket_answers(sock):
            raise ManagerError(
                f"vpp.socket: something already answers on {sock}; is another VPP running?"
            )
        Path(sock).unlink(missing_ok=True)
        Path(sock).parent.mkdir(parents=True, exist_ok=True)
        cmd = self.command()
        log.info("starting VPP: %s", " ".join(cmd))
        try:
            self._proc = subprocess.Popen(cmd, preexec_fn=_die_with_parent)  # noqa: PLW1509
        except OSError as e:
            raise VppStartError(f"vpp.binary: cannot run {cmd[0]}: {e.strerror}") from e

    def wait_ready(self) -> None:
        """Wait for the API socket; :class:`VppStartError` if VPP exits or never opens it."""
        assert self._proc is not None
        sock = self.settings.vpp.socket
        timeout = self.settings.vpp.start_timeout
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                raise VppStartError(
                    f"VPP ({self.command()[0]}) exited with status {code} before opening its API "
                    f"socket {sock}; see its output above"
                )
            if socket_answers(sock):
                return
            time.sleep(0.05)
        raise VppStartError(
            f"VPP ({self.command()[0]}) did not open its API socket {sock} within {timeout:g}s "
            "(vpp.start_timeout); check vpp.socket against the socksvr section of startup.conf "
            "and VPP's output above"
        )

    def poll(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(self.settings.vpp.stop_timeout)
            except subprocess.TimeoutExpired:
                log.warning(
                    "VPP did not stop within %ss; killing it", self.settings.vpp.stop_timeout
                )
                proc.kill()
                proc.wait()
        if self.settings.vpp.simulated:
            Path(self.settings.vpp.socket).unlink(missing_ok=True)
