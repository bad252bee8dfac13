"""NetworkAttachmentDefinitions -> the Network they select, if any.

A NAD is vppnet's when its CNI config (a conflist, or a single plugin config)
has a ``calico`` plugin whose ``dataplane_options.network_name`` names a
Network, exactly as with calico-vpp. Other NADs (macvlan, SR-IOV, Calico's
own default network) select nothing and are ignored.
"""

from __future__ import annotations

import json
from typing import Any

from agent.k8s.convert.meta import ConversionError, Obj, ObjectMeta, section, string
from agent.model import NadRef


def ref_of(obj: Obj) -> NadRef:
    meta = ObjectMeta.of(obj)
    return NadRef(meta.namespace or "default", meta.name)


def network_name(obj: Obj) -> str | None:
    """The Network a NAD selects, None when it is not a vppnet NAD; raises ConversionError."""
    ObjectMeta.of(obj)
    text = string(section(obj, "spec"), "spec", "config")
    if not text:
        return None  # Multus then reads a config file on the node: not ours to judge
    try:
        config: Any = json.loads(text)
    except ValueError as exc:
        raise ConversionError("InvalidConfig", "spec.config", f"not JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ConversionError("InvalidConfig", "spec.config", "must be a JSON object")
    plugins = config.get("plugins", [config])
    if not isinstance(plugins, list):
        raise ConversionError("InvalidConfig", "spec.config.plugins", "must be a list")
    names = set()
    for i, plugin in enumerate(plugins):
        if not isinstance(plugin, dict) or plugin.get("type") != "calico":
            continue
        options = plugin.get("dataplane_options")
        if not isinstance(options, dict) or "network_name" not in options:
            continue
        name = options["network_name"]
        if not isinstance(name, str) or not name:
            where = f"spec.config.plugins[{i}].dataplane_options.network_name"
            raise ConversionError("InvalidConfig", where, "must be a non-empty string")
        names.add(name)
    if len(names) > 1:
        raise ConversionError(
            "InvalidConfig", "spec.config", f"selects several networks: {sorted(names)}"
        )
    return names.pop() if names else None
