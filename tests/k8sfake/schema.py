"""Enough of a CRD's structural OpenAPI v3 schema to validate and prune like the API server.

Supports what vppnet's CRD uses: types, properties, required, additionalProperties,
items, numeric and length bounds, pattern, enum, anyOf, format ``cidr`` (and
``date-time``, unchecked), nullable, and pruning of unknown fields. CEL rules
(``x-kubernetes-validations``) are not evaluated.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

Schema = dict[str, Any]

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def validate(value: Any, schema: Schema, path: str = "") -> list[str]:
    """Every violation, as ``path: message`` like the API server's ``Invalid`` causes."""
    where = path or "<root>"
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: must not be null"]
    kind = schema.get("type")
    if kind is not None:
        ok = isinstance(value, _TYPES[kind]) and not (
            kind in ("integer", "number") and isinstance(value, bool)
        )
        if not ok:
            return [f"{where}: must be of type {kind}"]
    errors = _scalar(value, schema, where)
    if isinstance(value, dict):
        errors += _object(value, schema, path)
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{where}: must have at most {schema['maxItems']} items")
        for i, item in enumerate(value):
            errors += validate(item, schema.get("items", {}), f"{path}[{i}]")
    if "anyOf" in schema and all(validate(value, s, path) for s in schema["anyOf"]):
        errors.append(f"{where}: must match at least one of the allowed forms")
    return errors


def _scalar(value: Any, schema: Schema, where: str) -> list[str]:
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: must be one of {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: must be >= {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: must be <= {schema['maximum']}")
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{where}: must be at most {schema['maxLength']} characters")
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{where}: must be at least {schema['minLength']} characters")
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            errors.append(f"{where}: must match {schema['pattern']}")
        if schema.get("format") == "cidr":
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                errors.append(f"{where}: must be a CIDR")
    return errors


def _object(value: dict[str, Any], schema: Schema, path: str) -> list[str]:
    errors = []
    for name in schema.get("required", []):
        if name not in value:
            errors.append(f"{path}.{name}: Required value" if path else f"{name}: Required value")
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        sub = f"{path}.{key}" if path else key
        if key in properties:
            errors += validate(item, properties[key], sub)
        elif isinstance(extra, dict):
            errors += validate(item, extra, sub)
    return errors


def prune(value: Any, schema: Schema) -> Any:
    """Drop fields the schema does not declare, as the API server does for structural CRDs."""
    if isinstance(value, dict):
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return value
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        if properties is None and extra is None:
            return value if schema.get("type") != "object" else {}
        out = {}
        for key, item in value.items():
            if properties is not None and key in properties:
                out[key] = prune(item, properties[key])
            elif isinstance(extra, dict):
                out[key] = prune(item, extra)
            elif extra is True:
                out[key] = item
        return out
    if isinstance(value, list) and "items" in schema:
        return [prune(item, schema["items"]) for item in value]
    return value
