"""A listening unix socket that is never reachable with looser permissions than 0600.

Binding creates the socket file with the process umask, and chmod afterwards
leaves a window in which anyone may connect. So the socket is bound under a
temporary name, restricted, put in listening state, and only then renamed to
its real path (a rename keeps the socket bound). A stale socket left by a
previous agent is replaced; anything else at the path is refused.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from pathlib import Path

MODE = 0o600


class SocketPathError(OSError):
    """The socket path is taken by something that is not a socket."""


def listen_unix(path: str | os.PathLike[str], backlog: int = 8) -> socket.socket:
    """A non-blocking listening socket at ``path`` with mode 0600."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode: int | None = target.lstat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISSOCK(mode):
        raise SocketPathError(f"{target} exists and is not a socket; refusing to replace it")
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(temporary))
        os.chmod(temporary, MODE)
        sock.listen(backlog)
        os.replace(temporary, target)
    except BaseException:
        sock.close()
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    sock.setblocking(False)
    return sock


def inode_of(path: str | os.PathLike[str]) -> int | None:
    """The inode of the socket file, to recognise it at removal time."""
    try:
        return Path(path).lstat().st_ino
    except OSError:
        return None


def remove_if_same(path: str | os.PathLike[str], inode: int | None) -> None:
    """Unlink ``path`` only if it is still the file we created (a newer agent may own it)."""
    if inode is not None and inode_of(path) == inode:
        with contextlib.suppress(FileNotFoundError):
            Path(path).unlink()
