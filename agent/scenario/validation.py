"""pydantic's validation errors, rephrased for the person editing the YAML file.

pydantic speaks of "Input should be a valid integer" at a tuple location; a user wants
``pods[0].mtu: expected an integer, got '1500'`` and, for a typo, the key they meant.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from agent.scenario.errors import Loc, Problem, format_path, shorten


def problems_from_validation(error: ValidationError, root: type[BaseModel]) -> list[Problem]:
    """One problem per pydantic error, at the same path."""
    return [Problem(format_path(tuple(e["loc"])), _message(e, root)) for e in error.errors()]


_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "model_type": "a mapping",
    "dict_type": "a mapping",
}


def _message(error: ErrorDetails, root: type[BaseModel]) -> str:
    kind = error["type"]
    loc = tuple(error["loc"])
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return _unknown_field(loc, root)
    if kind in _TYPE_NAMES:
        return f"expected {_TYPE_NAMES[kind]}, got {_describe(error['input'])}"
    if kind == "value_error":
        return str((error.get("ctx") or {}).get("error", error["msg"]))
    if kind == "invalid_key":
        return f"keys must be strings, got {_describe(error['input'])}"
    ctx = error.get("ctx") or {}
    got = _describe(error.get("input"))
    if kind == "literal_error":
        return f"must be {ctx['expected']}, got {got}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}, got {got}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}, got {got}"
    if kind == "too_short":
        return f"needs at least {ctx['min_length']} item(s), got {ctx['actual_length']}"
    if kind == "too_long":
        return f"takes at most {ctx['max_length']} items, got {ctx['actual_length']}"
    return error["msg"][:1].lower() + error["msg"][1:]


def _describe(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return shorten(repr(value))


def _unknown_field(loc: Loc, root: type[BaseModel]) -> str:
    known = _field_names(_model_at(root, loc[:-1]))
    message = "unknown field"
    if not known:
        return message
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    if close:
        return f"{message} (did you mean {close[0]!r}?)"
    return f"{message} (known fields: {', '.join(known)})"


def _field_names(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The pydantic model that validated the mapping at ``loc``, found through the
    field annotations (lists and optionals unwrapped)."""
    annotation: Any = model
    for part in loc:
        if isinstance(part, int):
            annotation = _element_type(annotation)
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            annotation = next(
                (
                    f.annotation
                    for n, f in annotation.model_fields.items()
                    if (f.alias or n) == part
                ),
                None,
            )
        else:
            return None
        annotation = _strip_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _element_type(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    return args[0] if typing.get_origin(annotation) is list and args else None


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation
