"""Generate the Python protobuf/gRPC modules for proto/*.proto into agent/proto_gen.

The generated modules are committed (an install needs no protoc);
tests/unit/test_proto_fresh.py regenerates them and fails when the committed
ones are stale. Run: ``.venv/bin/python proto/generate.py``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUT_DIR = ROOT / "agent" / "proto_gen"


def generate(out_dir: Path = OUT_DIR) -> list[Path]:
    """Write *_pb2.py, *_pb2_grpc.py and their .pyi stubs for every proto; return them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    protos = sorted(PROTO_DIR.glob("*.proto"))
    if not protos:
        return []
    include = str(Path(protoc.__file__).parent / "_proto")
    bindir = Path(sys.executable).parent  # mypy-protobuf's plugins live beside python
    args = [
        "protoc",
        f"--plugin=protoc-gen-mypy={bindir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bindir / 'protoc-gen-mypy_grpc'}",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *(str(p) for p in protos),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed")
    generated = sorted(p for p in out_dir.iterdir() if p.name != "__init__.py" and p.is_file())
    for path in generated:
        _fix_imports(path)
    return generated


def _fix_imports(path: Path) -> None:
    """protoc writes ``import x_pb2``; inside a package it must be relative."""
    text = path.read_text()
    fixed = re.sub(r"^import (\w+_pb2) as (\w+)$", r"from . import \1 as \2", text, flags=re.M)
    if fixed != text:
        path.write_text(fixed)


if __name__ == "__main__":
    for p in generate():
        print(p.relative_to(ROOT))
    sys.exit(0)
