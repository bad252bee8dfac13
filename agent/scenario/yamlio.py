"""YAML reading with the surprises removed.

PyYAML implements YAML 1.1, where ``no`` is false, ``1:20`` is the integer 80 and
``010`` is eight. A scenario holds interface names, port ranges and versions that must
stay as written, so only YAML 1.2's core scalars are resolved here, and a key given
twice in one mapping is an error instead of a silent overwrite.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

from agent.scenario.errors import Problem, ScenarioError

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars and duplicate-key detection."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # the base constructor reports unhashable keys with their position
            if key in seen:
                raise ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {key!r} (first given on line {seen[key]})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """PyYAML's scalar constructors trust explicit tags (``!!int "x"``, ``!!bool
        "maybe"``) and fail with bare Python errors; report those with the position."""
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as error:
            raise ConstructorError(
                None, None, f"cannot read this {node.tag} value: {error}", node.start_mark
            ) from None

    def construct_yaml_int(self, node: Node) -> int:
        """YAML 1.2 decimal integers only: ``010`` is ten, not eight."""
        return int(str(self.construct_scalar(node)))  # type: ignore[arg-type]


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in {_INT, _FLOAT, _BOOL, _TIMESTAMP}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_Loader.add_constructor(_INT, _Loader.construct_yaml_int)


def load_yaml(text: str, source: str) -> object:
    """The document in ``text``; a ScenarioError naming line and column if it is not YAML."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(document)"
        what = error.problem or error.context or "invalid YAML"
        raise ScenarioError(source, [Problem(where, what)]) from None
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        code = ord(error.character) if isinstance(error.character, str) else error.character
        message = f"unacceptable character #x{code:04x}: {error.reason}"
        raise ScenarioError(source, [Problem(f"line {line}", message)]) from None
    except yaml.YAMLError as error:
        raise ScenarioError(source, [Problem("(document)", f"invalid YAML: {error}")]) from None
    except RecursionError:
        raise ScenarioError(
            source, [Problem("(document)", "the document is nested too deeply")]
        ) from None
