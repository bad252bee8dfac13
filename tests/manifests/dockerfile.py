"""A tiny Dockerfile reader for static checks (no Docker on the project's machines).

It knows what the checks need: instructions with their continuation lines joined,
build stages, ``COPY`` sources (and ``--from``), exec-form ``ENTRYPOINT``/``CMD``, and
``.dockerignore`` patterns with Docker's last-match-wins rule.
"""

from __future__ import annotations

import fnmatch
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def exec_form(self, keyword: str) -> list[str] | None:
        """The JSON array of the stage's last ``keyword`` (ENTRYPOINT, CMD), or None."""
        found = self.all(keyword)
        if not found:
            return None
        value = json.loads(found[-1].args)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{keyword} {found[-1].args}: not the exec form")
        return value


@dataclass
class Copy:
    sources: list[str]
    dest: str
    from_stage: str | None


def parse(path: Path) -> list[Stage]:
    lines: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    if pending:
        raise ValueError(f"{path}: the last instruction ends with a continuation")
    stages: list[Stage] = []
    for line in lines:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        elif stages:
            stages[-1].instructions.append(Instruction(keyword, args.strip()))
        elif keyword != "ARG":  # only ARG may come before the first FROM
            raise ValueError(f"{path}: {keyword} before FROM")
    return stages


def copies(stage: Stage) -> list[Copy]:
    out = []
    for instruction in stage.all("COPY"):
        words = shlex.split(instruction.args)
        from_stage = None
        while words and words[0].startswith("--"):
            flag = words.pop(0)
            if flag.startswith("--from="):
                from_stage = flag.removeprefix("--from=")
        out.append(Copy(words[:-1], words[-1], from_stage))
    return out


def ignored(context: Path, relpath: str) -> bool:
    """Whether .dockerignore keeps ``relpath`` (or a path below it) out of the context."""
    patterns = []
    ignore_file = context / ".dockerignore"
    if ignore_file.exists():
        for raw in ignore_file.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if line and not line.startswith("#"):
                patterns.append(line)
    result = False
    parts = relpath.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern.lstrip("!").strip("/")
        if any(_match(pat, p) for p in prefixes):
            result = not negate
    return result


def _match(pattern: str, path: str) -> bool:
    if pattern.startswith("**/"):
        rest = pattern.removeprefix("**/")
        return any(fnmatch.fnmatchcase(tail, rest) for tail in _tails(path))
    return fnmatch.fnmatchcase(path, pattern) and pattern.count("/") == path.count("/")


def _tails(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[i:]) for i in range(len(parts))]
