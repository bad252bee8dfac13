"""Reading a scenario file into a cluster model: YAML, then types, then checks, then build."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from agent.model import ClusterModel
from agent.scenario.build import build_model
from agent.scenario.checks import check_scenario
from agent.scenario.errors import Problem, Problems, ScenarioError
from agent.scenario.schema import ScenarioSpec
from agent.scenario.validation import problems_from_validation
from agent.scenario.yamlio import load_yaml


def load_scenario(path: str | os.PathLike[str]) -> ClusterModel:
    """The cluster model a scenario file describes; problems are reported under ``path``
    as given, so messages name the file the way the user named it."""
    source = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ScenarioError(
            source, [Problem("(file)", f"not UTF-8 text: {error.reason}")]
        ) from None
    except OSError as error:
        raise ScenarioError(
            source, [Problem("(file)", f"cannot read: {error.strerror or error}")]
        ) from None
    return parse_scenario(text, source)


def parse_scenario(text: str, source_name: str = "<scenario>") -> ClusterModel:
    """The cluster model described by scenario ``text``; ``source_name`` prefixes messages."""
    document = load_yaml(text, source_name)
    if document is None:
        raise ScenarioError(source_name, [Problem("(document)", "the scenario is empty")])
    try:
        spec = ScenarioSpec.model_validate(document)
    except ValidationError as error:
        raise ScenarioError(source_name, problems_from_validation(error, ScenarioSpec)) from None
    problems = Problems()
    check_scenario(spec, problems)
    problems.raise_if_any(source_name)
    return build_model(spec)
