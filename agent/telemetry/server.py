"""The agent's HTTP endpoint: /livez, /readyz and /metrics, on one port.

* ``/livez`` answers 200 while the agent's event loop and (once it serves)
  its main loop keep ticking. It does not look at VPP: a dead VPP is not
  fixed by the kubelet restarting the agent, which reconnects by itself.
* ``/readyz`` answers 200 once the first full sync is done, the CNI serves
  and VPP is connected; otherwise 503 with the reason in plain text.
* ``/metrics`` is the agent's own registry in Prometheus' text format.

The server runs in daemon threads (stdlib ThreadingHTTPServer), so a slow
scrape never holds up the agent's event loop, and the loop being stuck is
exactly what /livez can then still report.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from agent.telemetry.config import split_address

log = logging.getLogger(__name__)

Check = Callable[[], tuple[bool, str]]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], live: Check, ready: Check, registry: CollectorRegistry
    ) -> None:
        self.live, self.ready, self.registry = live, ready, registry
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        try:
            if path == "/livez":
                self._check(self.server.live)
            elif path == "/readyz":
                self._check(self.server.ready)
            elif path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(self.server.registry))
            else:
                self._send(
                    404, "text/plain; charset=utf-8", b"not found: /livez /readyz /metrics\n"
                )
        except Exception as e:  # a bug costs one response, never the endpoint
            log.exception("health endpoint: %s failed", path)
            self._send(500, "text/plain; charset=utf-8", f"internal error: {e!r}\n".encode())

    def _check(self, check: Check) -> None:
        ok, reason = check()
        self._send(200 if ok else 503, "text/plain; charset=utf-8", f"{reason}\n".encode())

    def _send(self, code: int, ctype: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Probes every few seconds are not worth a log line each."""


class HealthServer:
    def __init__(
        self, address: str, live: Check, ready: Check, registry: CollectorRegistry
    ) -> None:
        self.address = split_address(address)
        self._live, self._ready, self._registry = live, ready, registry
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        """The bound port (the configured one, or the one picked for port 0)."""
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Bind (OSError naming the address when it is taken) and serve in a thread."""
        host, port = self.address
        try:
            self._server = _Server((host, port), self._live, self._ready, self._registry)
        except OSError as e:
            raise OSError(e.errno, f"health/metrics endpoint on {host}:{port}: {e.strerror}") from e
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            daemon=True,
            name="vppnet-health",
        )
        self._thread.start()
        log.info("health and metrics on http://%s:%d (/livez /readyz /metrics)", host, self.port)

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join()


class Heartbeat:
    """Liveness: the event loop's heartbeat and the main loop's tick, both fresh."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.loop_beat = time.monotonic()
        self.main_tick: float | None = None  # None until the main loop runs

    def check(self) -> tuple[bool, str]:
        now = time.monotonic()
        if now - self.loop_beat > self.timeout:
            return False, f"event loop stuck for {now - self.loop_beat:.0f} s"
        if self.main_tick is not None and now - self.main_tick > self.timeout:
            return False, f"main loop stuck for {now - self.main_tick:.0f} s"
        return True, "ok"
