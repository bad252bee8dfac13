"""Shared test configuration: tests marked ``root`` skip, with the reason, without CAP_NET_ADMIN."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# CI replays the same examples every run (a landing must not depend on luck);
# local runs explore new ones and keep failures in the example database.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def _root_skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (CAP_NET_ADMIN) for network namespaces and tun devices; CI runs as root"
    if not os.path.exists("/dev/net/tun"):
        return "needs /dev/net/tun to create tun/tap devices"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _root_skip_reason()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)
