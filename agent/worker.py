"""A debounced worker thread: run an action once a burst of triggers has settled.

Watches deliver events one by one, a relist delivers hundreds at once, a BGP
session coming up delivers thousands of best paths; converging VPP, writing
status or syncing gobgpd after each would repeat the same work.
The worker waits until no trigger came for ``debounce`` seconds, or until
``max_delay`` after the first trigger of the burst, whichever is first, then
runs the action once. An action that fails (returns False or raises) is run
again after an exponential, jittered delay, even without a new trigger.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Backoff:
    """Exponential delays with "equal jitter": half fixed, half random."""

    def __init__(self, initial: float, ceiling: float, rng: random.Random | None = None) -> None:
        self.initial = initial
        self.ceiling = ceiling
        self._rng = rng or random.Random()
        self._next = initial

    def reset(self) -> None:
        self._next = self.initial

    def delay(self) -> float:
        current = min(self._next, self.ceiling)
        self._next = min(current * 2, self.ceiling)
        return current / 2 + self._rng.uniform(0, current / 2)


class DebouncedWorker:
    def __init__(
        self,
        name: str,
        action: Callable[[], bool],
        *,
        debounce: float,
        max_delay: float,
        backoff: Backoff,
    ) -> None:
        self.name = name
        self.action = action
        self.debounce = debounce
        self.max_delay = max_delay
        self.backoff = backoff
        self.runs = 0
        self.failures = 0
        self._cond = threading.Condition()
        self._pending = False
        self._busy = False
        self._stopping = False
        self._first = 0.0
        self._last = 0.0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread; a stopped worker can be started again (a restarted speaker)."""
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def trigger(self) -> None:
        """Ask for a run; cheap and safe from any thread (kept for the next start once stopped)."""
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
        """Block until nothing is pending or running (tests, orderly start-up)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def _run(self) -> None:
        while self._next():
            ok = False
            try:
                ok = self.action()
            except Exception:
                log.exception("%s failed", self.name)
            with self._cond:
                self.runs += 1
                if ok:
                    self.backoff.reset()
                else:
                    self.failures += 1
                    delay = self.backoff.delay()
                    log.info("%s will run again in %.1fs", self.name, delay)
                    self._cond.wait_for(lambda: self._stopping, delay)
                    if not self._pending:
                        self._first = time.monotonic()
                    self._pending = True
                    self._last = 0.0  # a retry needs no quiet period
                self._busy = False
                self._cond.notify_all()

    def _next(self) -> bool:
        """Wait for a settled burst; False when stopping. Marks the worker busy."""
        with self._cond:
            while not self._stopping:
                if not self._pending:
                    self._cond.wait()
                    continue
                now = time.monotonic()
                due = min(self._last + self.debounce, self._first + self.max_delay)
                if now >= due:
                    self._pending = False
                    self._busy = True
                    return True
                self._cond.wait(due - now)
            return False
