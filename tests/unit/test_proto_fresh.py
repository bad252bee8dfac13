"""The committed generated protobuf modules match proto/*.proto."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "agent" / "proto_gen"


def _generator() -> object:
    spec = importlib.util.spec_from_file_location("proto_generate", ROOT / "proto" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The generator stamps its own version into the gRPC modules (a floor for the runtime
# grpcio, see pyproject.toml); a newer grpcio-tools changes only that stamp, not the
# code, so the comparison leaves the stamp out.
_VERSION_STAMP = re.compile(r"^GRPC_GENERATED_VERSION = .*$", re.MULTILINE)


def _content(text: str) -> str:
    return _VERSION_STAMP.sub("GRPC_GENERATED_VERSION = <stamp>", text)


def test_generated_modules_are_fresh(tmp_path: Path) -> None:
    if not list((ROOT / "proto").glob("*.proto")):
        pytest.skip("no .proto files yet")
    generated = _generator().generate(tmp_path)  # type: ignore[attr-defined]
    names = {p.name for p in generated}
    committed = {p.name for p in COMMITTED.iterdir() if p.is_file() and p.name != "__init__.py"}
    assert names == committed, "run: .venv/bin/python proto/generate.py"
    for p in generated:
        assert _content(p.read_text()) == _content((COMMITTED / p.name).read_text()), (
            f"{p.name} is stale; run: .venv/bin/python proto/generate.py"
        )
