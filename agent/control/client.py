"""Ask a running agent over its control socket (what the ``vppnet`` command uses).

Blocking and dependency-free: one connection, one request line, one reply
line. Every way of not getting an answer (no socket file, nobody listening,
no permission, a timeout, a reply that is not ours) is one
:class:`~agent.control.protocol.ControlError` whose message names the socket.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any, Final

from agent.control.protocol import AgentUnavailableError, ControlError, encode

DEFAULT_TIMEOUT: Final = 30.0  # seconds: the drift view reads all of VPP


def request(
    path: str | Path,
    name: str,
    args: dict[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Any:
    """The result of request ``name``; ControlError with the agent's message otherwise."""
    raw = exchange(path, encode({**(args or {}), "request": name}), timeout)
    try:
        reply = json.loads(raw)
    except ValueError:
        raise ControlError(f"control socket {path}: the reply is not JSON") from None
    if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
        raise ControlError(f"control socket {path}: unexpected reply {raw[:200]!r}")
    if not reply["ok"]:
        raise ControlError(f"the agent says: {reply.get('error', 'error without a message')}")
    return reply.get("result")


def exchange(path: str | Path, data: bytes, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """Send ``data`` and read the reply line (raw bytes, for tests of bad requests)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as e:
            raise AgentUnavailableError(
                f"no vppnet agent answers on {path} ({e.strerror.lower() if e.strerror else e}); "
                "is the agent running, and is this its control.socket?"
            ) from None
        except PermissionError:
            raise AgentUnavailableError(
                f"control socket {path}: permission denied (it is root-only: mode 0600)"
            ) from None
        except OSError as e:
            raise AgentUnavailableError(f"control socket {path}: {e}") from None
        try:
            sock.sendall(data)
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if chunk.endswith(b"\n"):
                    break
        except TimeoutError:
            raise ControlError(f"control socket {path}: no reply within {timeout:.0f} s") from None
        except OSError as e:
            raise ControlError(f"control socket {path}: {e}") from None
    return b"".join(chunks)
