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
from typing import Any

from tests.bench import bgp, cni, felix, foundation, load, policy, recovery, services

# policy: policies, rules per policy, IP sets, members per set
FULL = {
    "foundation": (10_000,),
    "felix": (10_000, 1_000),
    "cni": (100,),
    "recovery": (100, 1_000, 200),  # pods, services, policies
    "load": (200, 10_000, 10_000, 200, 1_000),  # pods, services, their updates, policies, updates
    "services": ((1_000, 10_000), 20),
    "policy": (1_000, 10, 100, 1_000),
    "bgp": (10_000,),
}
SMOKE = {
    "foundation": (200,),
    "felix": (200, 20),
    "cni": (10,),
    "recovery": (10, 50, 20),
    "load": (10, 50, 200, 20, 50),
    "services": ((100,), 5),
    "policy": (20, 5, 4, 50),
    "bgp": (50,),
}


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


def report(sizes: dict[str, tuple[Any, ...]]) -> str:
    sections = [
        foundation.run(*sizes["foundation"]),
        felix.run(*sizes["felix"]),
        policy.run(*sizes["policy"]),
        bgp.run(*sizes["bgp"]),  # says so itself when it lacks root or gobgpd
    ]
    if os.geteuid() == 0:  # pod namespaces, devices and iptables need CAP_NET_ADMIN
        sections.append(cni.run(*sizes["cni"]))
        sections.append(services.run(*sizes["services"]))
    else:
        sections.append("## CNI Add/Del latency\n\nNot measured: needs root.")
        sections.append("## Services\n\nNot measured: needs root (iptables-restore).")
    sections.append(recovery.run(*sizes["recovery"]))  # say so themselves when they lack root
    sections.append(load.run(*sizes["load"]))
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
