"""A coalescing worker thread: run an action once a burst of triggers has settled.

A BGP session coming up delivers thousands of best-path events, and model
changes come in bursts too; syncing gobgpd or converging VPP after each one
would repeat the same work. The worker runs its action when no trigger came
for ``debounce`` seconds, or ``max_delay`` after the first trigger of the
burst, whichever comes first. An action that fails (returns False or raises)
runs again after ``retry`` seconds even without a new trigger.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Worker:
    def __init__(
        self,
        name: str,
        action: Callable[[], bool],
        *,
        debounce: float,
        max_delay: float,
        retry: float = 1.0,
    ) -> None:
        self.name = name
        self.action = action
        self.debounce = debounce
        self.max_delay = max_delay
        self.retry = retry
        self.runs = 0
        self._cond = threading.Condition()
        self._pending = False
        self._busy = False
        self._stopping = False
        self._first = 0.0
        self._last = 0.0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._cond:
            if self._thread is None:
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def trigger(self) -> None:
        """Ask for a run; cheap and safe from any thread."""
        with self._cond:
            now = time.monotonic()
            if not self._pending:
                self._first = now
            self._pending = True
            self._last = now
            self._cond.notify_all()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is pending or running; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def _due(self) -> float:
        """Seconds until the pending burst should run (<= 0: now)."""
        now = time.monotonic()
        return min(self._last + self.debounce, self._first + self.max_delay) - now

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (not self._pending or self._due() > 0):
                    self._cond.wait(self._due() if self._pending else None)
                if self._stopping:
                    return
                self._pending = False
                self._busy = True
            ok = False
            try:
                ok = self.action()
            except Exception:
                log.exception("%s failed", self.name)
            with self._cond:
                self._busy = False
                self.runs += 1
                if not ok and not self._pending:
                    self._pending = True
                    self._first = self._last = time.monotonic() + self.retry - self.debounce
                self._cond.notify_all()
