"""The start-up check that the connected VPP offers every message the agent uses.

The version string is informative only; what matters is the message table:
papi silently skips a message whose name or CRC VPP does not announce, and
the agent would only find out at its first use, half-way through a plan.
So the agent lists every message it calls (with their replies, details and
events), compares that with the table VPP sent at connect, and refuses to
start with a message that says which plugin is missing or which definition
changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agent.vpp.errors import VppApiMismatchError

# Message-name prefixes and the VPP plugin that provides them.
_PLUGINS = (
    ("sw_interface_tap_v2_", "tap"),
    ("tap_", "tap"),
    ("af_packet_", "af_packet"),
    ("memif_", "memif"),
    ("vxlan_", "vxlan"),
    ("feature_cnat_", "cnat"),
    ("cnat_", "cnat"),
    ("nat44_", "nat (nat44-ed)"),
    ("lcp_", "linux_cp"),
    ("npol_", "npol"),
)


def plugin_of(message: str) -> str | None:
    for prefix, plugin in _PLUGINS:
        if message.startswith(prefix):
            return plugin
    return None


def needed_name_crcs(client: Any, requests: Iterable[str]) -> dict[str, str]:
    """``name_crc -> name`` for the requests and every reply/details/event they cause."""
    needed: dict[str, str] = {}
    for name in requests:
        names = [name]
        service = client.services.get(name, {})
        for key in ("reply", "stream_msg"):
            if service.get(key) not in (None, "null"):
                names.append(service[key])
        names.extend(service.get("events", []))
        for n in names:
            needed[f"{n}_{client.messages[n].crc[2:]}"] = n
    return needed


def check_message_table(client: Any, requests: Iterable[str], version: str) -> None:
    """Raise :class:`VppApiMismatchError` listing every missing or changed message."""
    needed = needed_name_crcs(client, requests)
    missing = client.validate_message_table(list(needed))
    if not missing:
        return
    offered: dict[str, str] = {}
    for name_crc in client.dump_message_table():
        base, _, crc = name_crc.rpartition("_")
        offered[base] = crc
    problems = []
    for name_crc in sorted(missing):
        name = needed[name_crc]
        expected = name_crc.rpartition("_")[2]
        if name in offered:
            problems.append(
                f"{name}: VPP has a different definition "
                f"(CRC running={offered[name]}, expected={expected})"
            )
        else:
            plugin = plugin_of(name)
            hint = f" — is the {plugin} plugin loaded?" if plugin else ""
            problems.append(f"{name}: not offered by VPP{hint}")
    raise VppApiMismatchError(version, problems)
