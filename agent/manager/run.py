"""``run_manager``: recover, validate, grab, supervise, give back — and restart if asked.

The process life of the DaemonSet's VPP container. SIGTERM/SIGINT (or the
caller's ``stop`` event) end it cleanly with the uplink given back; VPP
exiting gives the uplink back too, then either ends the manager with an
error or, with ``vpp.restart``, grabs again after a back-off that doubles up
to ``vpp.restart_backoff_max``. A state file left by a manager that died
is honoured first, so a crash loop never stacks grabs on a grabbed node.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from pyroute2 import IPRoute

from agent.manager.config import ManagerSettings
from agent.manager.errors import ManagerError
from agent.manager.grab import Grab
from agent.manager.restore import recover
from agent.manager.validate import Preflight, preflight

log = logging.getLogger(__name__)


def check(settings: ManagerSettings) -> Preflight:
    """Validation only (``vppnet manager --check``): what a start would find; changes nothing."""
    with IPRoute() as ipr:
        return preflight(ipr, settings)


def _install_signals(stop: threading.Event) -> Callable[[], None]:
    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.warning(
            "vppnet manager: %s received, giving the uplink back", signal.Signals(signum).name
        )
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for s, handler in previous.items():
            signal.signal(s, handler)

    return restore


def run_manager(
    settings: ManagerSettings,
    *,
    stop: threading.Event | None = None,
    handle_signals: bool = True,
    on_ready: Callable[[], None] | None = None,
) -> int:
    """Run until stopped; 0 after a clean stop, 1 when VPP died and no restart was allowed.

    Raises :class:`ManagerError` (the message names the config key or host
    object) when the node is not fit or VPP does not come up; the uplink is
    given back before it is raised.
    """
    stop = stop or threading.Event()
    uninstall = _install_signals(stop) if handle_signals else None
    try:
        with IPRoute() as ipr:
            return _loop(ipr, settings, stop, on_ready)
    finally:
        if uninstall is not None:
            uninstall()


def _loop(
    ipr: IPRoute,
    settings: ManagerSettings,
    stop: threading.Event,
    on_ready: Callable[[], None] | None,
) -> int:
    recover(ipr, settings)
    restarts = 0
    backoff = settings.vpp.restart_backoff
    while True:
        pre = preflight(ipr, settings)
        for warning in pre.warnings:
            log.warning("vppnet manager: %s", warning)
        pre.raise_for_problems()
        grab = Grab(ipr, settings, pre)
        grab.up()
        try:
            if on_ready is not None:
                on_ready()
            code = grab.wait(stop)
        finally:
            grab.down()
        if code is None:
            return 0
        log.error("vppnet manager: VPP exited with status %d; the uplink was given back", code)
        limit = settings.vpp.max_restarts
        if not settings.vpp.restart or (limit is not None and restarts >= limit):
            return 1
        restarts += 1
        log.warning("vppnet manager: restarting VPP in %.1fs (restart %d)", backoff, restarts)
        if stop.wait(backoff):
            return 0
        backoff = min(backoff * 2, settings.vpp.restart_backoff_max)


__all__ = ["ManagerError", "check", "run_manager"]
