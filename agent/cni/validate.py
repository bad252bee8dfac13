"""Checks on what the CNI hands us, before any of it reaches netlink or VPP.

The CNI server runs as root and acts inside whatever network namespace a
request names, so a request is trusted no further than its checks: the
netns must be a real network namespace (never a regular file, a FIFO that
would block the open, or the agent's own namespace) and interface names must
be names the kernel accepts, made of harmless characters.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import re
import stat

from agent.cni.errors import CniRequestError
from agent.model import IPAddress, IPInterface, IPNetwork

NS_GET_NSTYPE = 0xB703  # ioctl on a namespace file: which kind of namespace it is
CLONE_NEWNET = 0x40000000
IFNAMSIZ = 16  # includes the terminating NUL: at most 15 characters
_IFNAME = re.compile(r"^[A-Za-z0-9_.-]+$")
NO_GATEWAY = ("", "<nil>")  # what Go's formatting of a nil IP gives


def netns_kind(path: str) -> str | None:
    """Why ``path`` is not a usable network namespace, or None when it is one.

    The namespace type is asked of the kernel (``NS_GET_NSTYPE``), so a bind
    mount under /var/run/netns and /proc/<pid>/ns/net both pass, and anything
    else fails whatever it is named.
    """
    if not path:
        return "is empty"
    if not os.path.isabs(path):
        return f"{path!r} is not an absolute path"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return f"{path} does not exist"
    except OSError as e:
        return f"{path}: {e.strerror}"
    if not stat.S_ISREG(st.st_mode):  # nsfs files are regular; never open a FIFO or device
        return f"{path} is not a network namespace (not a namespace file)"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as e:
        return f"{path}: {e.strerror}"
    try:
        kind = fcntl.ioctl(fd, NS_GET_NSTYPE)
    except OSError:
        return f"{path} is not a network namespace (not a namespace file)"
    finally:
        os.close(fd)
    if kind != CLONE_NEWNET:
        return f"{path} is a namespace, but not a network namespace"
    own = os.stat("/proc/self/ns/net")
    if (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino):
        return f"{path} is the agent's own (host) network namespace"
    return None


def check_netns(field: str, path: str) -> str:
    problem = netns_kind(path)
    if problem is not None:
        raise CniRequestError(field, problem)
    return os.path.normpath(path)


def netns_exists(path: str) -> bool:
    """Whether a pod's namespace is still there (a vanished pod's is not)."""
    return netns_kind(path) is None


def check_ifname(field: str, name: str) -> str:
    """Linux's rules (dev_valid_name) narrowed to letters, digits, ``_``, ``.`` and ``-``."""
    if not name:
        raise CniRequestError(field, "is empty")
    if len(name) >= IFNAMSIZ:
        raise CniRequestError(field, f"{name!r} is longer than {IFNAMSIZ - 1} characters")
    if name in (".", "..") or not _IFNAME.fullmatch(name):
        raise CniRequestError(
            field, f"{name!r} is not a valid interface name (letters, digits, '_', '.', '-')"
        )
    return name


def parse_interface(field: str, text: str) -> IPInterface:
    """An address with its prefix length, as IPAM hands it (``10.0.0.5/32``)."""
    if "/" not in text:
        raise CniRequestError(field, f"{text!r} has no prefix length (CIDR form expected)")
    try:
        return ipaddress.ip_interface(text)
    except ValueError:
        raise CniRequestError(field, f"{text!r} is not an IP address in CIDR form") from None


def parse_gateway(field: str, text: str) -> IPAddress | None:
    if text in NO_GATEWAY:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise CniRequestError(field, f"{text!r} is not an IP address") from None


def parse_prefix(field: str, text: str) -> IPNetwork:
    """A prefix; host bits are masked as Go's ``net.ParseCIDR`` does, a bare IP is a /32."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise CniRequestError(field, f"{text!r} is not an IP prefix") from None
