"""The journal of the ownership index's npol records.

npol records (policies, rules, sets: VPP has no dump for them, so the index holds
every one as applied) change far more often than the rest: an IP set member
comes or goes with every pod. Those changes are appended to a journal next to
the file (``<index>.journal``, one fsynced JSON line per save) instead of
rewriting megabytes; the file is rewritten whole when anything else changed or
the journal has grown to half its size. Each line carries the generation of the
file it extends, so lines left over from before a rewrite are ignored, and a line
cut short by a crash ends the replay (what it described is redone from the records
before it, as after a crash between a VPP call and any save of the index).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

JOURNAL_SUFFIX = ".journal"


def journal_of(path: Path) -> Path:
    return path.with_name(path.name + JOURNAL_SUFFIX)


def replay_journal(npol: dict[str, Any], generation: str, raw: bytes) -> tuple[int, int]:
    """Apply the journal lines of ``generation`` to an npol section, in order, up to the
    first line that does not parse; (lines applied, lines skipped)."""
    objects = npol.get("objects")
    if not isinstance(objects, dict):  # a hand-edited file: observe drops what is unreadable
        objects = npol["objects"] = {}
    applied = skipped = 0
    lines = [line for line in raw.split(b"\n") if line.strip()]
    for n, line in enumerate(lines):
        try:
            entry = json.loads(line)
            changes, meta = entry["npol"], entry["meta"]
            if not isinstance(changes, dict) or not isinstance(meta, dict):
                raise TypeError("npol and meta must be objects")
        except (ValueError, KeyError, TypeError):
            return applied, skipped + len(lines) - n  # cut short: nothing after it counts
        if entry.get("generation") != generation:
            skipped += 1
            continue
        npol.update(meta)
        for key, record in changes.items():
            if record is None:
                objects.pop(key, None)
            else:
                objects[key] = record
        applied += 1
    return applied, skipped


def read_npol_records(path: str | os.PathLike[str]) -> dict[str, Any]:
    """An index file's npol section with its journal applied, read only (for explain).
    OSError or ValueError when the file itself cannot be read."""
    p = Path(path)
    data = json.loads(p.read_text(encoding="utf-8"))
    npol = data.get("npol", {}) if isinstance(data, dict) else {}
    if not isinstance(npol, dict):
        return {}
    generation = str(data.get("generation", ""))
    if generation:
        with contextlib.suppress(FileNotFoundError):
            replay_journal(npol, generation, journal_of(p).read_bytes())
    return npol
