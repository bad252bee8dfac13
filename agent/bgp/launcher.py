"""Starting gobgpd so that it cannot outlive the agent.

An agent that dies without its shutdown (SIGKILL, a crash) would leave gobgpd
running, holding the API socket and BGP port the next agent's gobgpd needs, so
the next agent could never speak BGP. Linux kills a child when its parent dies
if the child asked for it (``prctl(PR_SET_PDEATHSIG)``); gobgpd is started
through a small Python stub that asks for SIGKILL (what a pod's end does, so the
peers' graceful restart keeps the routes), checks that the agent did not die in
the meantime, moves into the configured network namespace if any, and becomes
gobgpd. "Parent" there means the *thread* that forked: a gobgpd started from a
worker thread would be killed when that worker ends. So every gobgpd is started
by one thread that lives as long as the agent's process.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

# argv: agent pid, netns path ("" for none), then gobgpd's argv
_STUB = """
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
parent, netns, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
if libc.prctl(1, signal.SIGKILL) != 0:  # PR_SET_PDEATHSIG
    sys.exit("prctl(PR_SET_PDEATHSIG): " + os.strerror(ctypes.get_errno()))
if os.getppid() != parent:
    sys.exit("the agent that started gobgpd is gone")
if netns:
    fd = os.open(netns, os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:
        sys.exit("setns " + netns + ": " + os.strerror(ctypes.get_errno()))
    os.close(fd)
os.execv(argv[0], argv)
"""


class _Spawner:
    """One daemon thread that runs every spawn; it ends only with the process."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def run(self, job: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="gobgpd-spawner")
                self._thread.daemon = True
                self._thread.start()
        done: Future[subprocess.Popen[bytes]] = Future()
        self._jobs.put((job, done))
        return done.result()

    def _serve(self) -> None:
        while True:
            job, done = self._jobs.get()
            try:
                done.set_result(job())
            except BaseException as e:  # handed to the caller, who raises it
                done.set_exception(e)


_SPAWNER = _Spawner()


def spawn(argv: Sequence[str], netns: str | None, **popen: Any) -> subprocess.Popen[bytes]:
    """Start ``argv`` (gobgpd) to die with this process, in ``netns`` if given."""
    stub = [sys.executable, "-c", _STUB, str(os.getpid()), netns or "", *argv]
    return _SPAWNER.run(lambda: subprocess.Popen(stub, **popen))
