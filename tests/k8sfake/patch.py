"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902), as the API server applies them."""

from __future__ import annotations

import copy
from typing import Any

from tests.k8sfake.errors import StatusError


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise StatusError(422, "Invalid", f"bad JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> Any:
    node = doc
    for part in parts[:-1]:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError):
            raise StatusError(422, "Invalid", f"path /{'/'.join(parts)} does not exist") from None
    return node


def json_patch(target: Any, operations: list[dict[str, Any]]) -> Any:
    """RFC 6902 ``add``, ``remove``, ``replace`` and ``test``; a failed op fails the whole patch."""
    doc = copy.deepcopy(target)
    for op in operations:
        parts = _pointer(op.get("path", ""))
        if not parts:
            raise StatusError(422, "Invalid", "cannot patch the document root")
        parent, last = _parent(doc, parts), parts[-1]
        kind = op.get("op")
        if kind == "test":
            current = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            if current != op.get("value"):
                raise StatusError(422, "Invalid", f"test of {op['path']} failed")
        elif kind == "remove":
            try:
                del parent[int(last) if isinstance(parent, list) else last]
            except (KeyError, IndexError):
                raise StatusError(422, "Invalid", f"{op['path']} does not exist") from None
        elif kind in ("add", "replace"):
            value = copy.deepcopy(op.get("value"))
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                if kind == "add":
                    parent.insert(index, value)
                else:
                    parent[index] = value
            else:
                if kind == "replace" and last not in parent:
                    raise StatusError(422, "Invalid", f"{op['path']} does not exist")
                parent[last] = value
        else:
            raise StatusError(422, "Invalid", f"unsupported JSON patch op {kind!r}")
    return doc
