"""Build the felix-proxy binary: ``python felix-proxy/build.py [--out DIR]``.

The proxy runs inside the calico-node image, which has neither Python nor a
shared C library we could rely on, so it is linked statically. Tests, the
benchmark and the image build all call :func:`build`, so there is one way to
make it. Needs gcc and a static libc (Debian: ``gcc libc6-dev``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "felix-proxy.c"
BINARY = "felix-proxy"
CFLAGS = ("-std=c11", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-Wshadow")


class BuildError(RuntimeError):
    """The compiler is missing or rejected the source; the message says which."""


def build(out_dir: Path, cc: str = "gcc") -> Path:
    """Compile the proxy into ``out_dir`` and return the binary's path."""
    compiler = shutil.which(cc)
    if compiler is None:
        raise BuildError(f"{cc} not found: felix-proxy needs gcc and a static libc (libc6-dev)")
    out_dir.mkdir(parents=True, exist_ok=True)
    binary = out_dir / BINARY
    result = subprocess.run(
        [compiler, *CFLAGS, "-o", str(binary), str(SOURCE)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BuildError(f"{cc} failed to build felix-proxy:\n{result.stderr}")
    return binary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE / "build", help="output directory")
    parser.add_argument("--cc", default="gcc")
    args = parser.parse_args()
    try:
        print(build(args.out, args.cc))
    except BuildError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
