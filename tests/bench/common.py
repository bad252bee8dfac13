"""What the benchmark sections share: the root check and quieting the agent's log."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager


def needs_root_devices(title: str) -> str | None:
    """The section's text when it cannot run here (no root or /dev/net/tun), else None."""
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        return f"{title}\n\nSkipped: needs root and /dev/net/tun (real namespaces and devices)."
    return None


@contextmanager
def quiet(logger: str) -> Iterator[None]:
    """Only errors from ``logger`` while measuring (expected warnings are not what is timed)."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)
