"""Run every benchmark and write docs/benchmarks.md (``make bench``).

``--smoke`` runs each at a small size and prints the report instead of
writing it: that is what CI runs (tests/bench/test_smoke.py), so the
benchmarks cannot rot, without paying for the full sizes.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
from pathlib import Path

from tests.bench import cni, felix, foundation

FULL = {"foundation": 10_000, "cni": 100, "felix_endpoints": 10_000, "felix_policies": 1_000}
SMOKE = {"foundation": 200, "cni": 10, "felix_endpoints": 200, "felix_policies": 20}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    cpu = models[0] if models else cpu
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def report(sizes: dict[str, int]) -> str:
    sections = [
        foundation.run(sizes["foundation"]),
        felix.run(sizes["felix_endpoints"], sizes["felix_policies"]),
    ]
    if os.geteuid() == 0:  # pod namespaces and devices need CAP_NET_ADMIN
        sections.append(cni.run(sizes["cni"]))
    else:
        sections.append("## CNI Add/Del latency\n\nNot measured: needs root.")
    head = [
        "# vppnet benchmarks",
        "",
        "Written by `make bench` (`python -m tests.bench.run --full`). Every figure is",
        "compared with a baseline measured in the same run on the same machine.",
        "",
        f"Machine: {machine()}. Date: {datetime.date.today().isoformat()}.",
    ]
    return "\n".join([*head, "", *("\n\n".join(sections).splitlines()), ""])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--full", action="store_true", help="full sizes; write docs/benchmarks.md")
    mode.add_argument("--smoke", action="store_true", help="small sizes; print only")
    parser.add_argument("--out", default="docs/benchmarks.md")
    args = parser.parse_args()
    text = report(SMOKE if args.smoke else FULL)
    if args.smoke:
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
