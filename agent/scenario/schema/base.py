"""The common shape of every scenario section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Spec(BaseModel):
    """Strict, closed, camelCase: a typo is an error rather than a silently ignored key,
    and ``"yes"`` is not a boolean nor ``"80"`` an integer (strict mode)."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        validate_by_name=False,
        validate_by_alias=True,
    )
