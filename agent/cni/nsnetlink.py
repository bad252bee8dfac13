"""A netlink (pyroute2) handle inside a network namespace, without forking.

pyroute2's ``IPRoute(netns=...)`` forks a child to open its socket in the
namespace. In the agent that fork happens in a process running gRPC's
threads, and the child can die before it answers (gRPC's fork handlers are
skipped while other threads are inside gRPC). A netlink socket keeps the
namespace it was opened in, so instead the calling thread enters the
namespace (``setns`` affects only that thread), opens the socket and comes
straight back. pyroute2 keeps its socket per thread, so the handle must be
used from the thread that opened it: callers open, use and close it inside
one function run in one worker thread.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from pyroute2 import IPRoute, netns

OWN_NETNS = "/proc/thread-self/ns/net"

log = logging.getLogger(__name__)


class NetnsEntryError(OSError):
    """The namespace could not be entered (or, fatally, left)."""


@contextmanager
def netlink_in(path: str) -> Iterator[IPRoute]:
    """``with netlink_in("/var/run/netns/pod") as ipr:`` - an IPRoute in that netns."""
    own = os.open(OWN_NETNS, os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            raise NetnsEntryError(e.errno, f"cannot open netns {path}: {e.strerror}") from e
        try:
            netns.setns(target)
        except OSError as e:
            raise NetnsEntryError(e.errno, f"cannot enter netns {path}: {e}") from e
        finally:
            os.close(target)
        try:
            ipr = IPRoute()
        finally:
            try:
                netns.setns(own)
            except OSError:
                # A worker thread left inside a pod would run the agent's next host-side
                # netlink calls there. Returning to our own, still open namespace cannot
                # fail in practice; if it ever does, stopping is the only safe answer.
                log.critical("cannot return to the agent's netns after entering %s", path)
                os.abort()
    finally:
        os.close(own)
    with ipr:
        yield ipr
