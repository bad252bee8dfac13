"""The ``vppnet manager`` command line, ready for agent.cli to mount as a sub-command.

``add_arguments(parser)`` adds the options; ``command(args)`` runs it and
turns every manager error into one message on stderr and exit status 2,
never a traceback (the uplink has been given back by then).
"""

from __future__ import annotations

import argparse
import sys

from agent.manager.config import SIM, ManagerConfigError, load_settings
from agent.manager.errors import ManagerError
from agent.manager.run import check, run_manager
from agent.vpp import VppError

DEFAULT_SETTINGS = "/etc/vppnet/manager.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", default=DEFAULT_SETTINGS, help=f"manager settings (YAML; {DEFAULT_SETTINGS})"
    )
    parser.add_argument(
        "--vpp", help="the VPP binary, overriding vpp.binary; 'sim' runs the simulator instead"
    )
    parser.add_argument(
        "--check", action="store_true", help="validate the node and the settings, change nothing"
    )


def command(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
        if args.vpp:
            vpp = settings.vpp.model_copy(update={"binary": args.vpp})
            settings = settings.model_copy(update={"vpp": vpp})
        if args.check:
            pre = check(settings)
            for warning in pre.warnings:
                print(f"warning: {warning}")
            pre.raise_for_problems()
            print(f"ok: {settings.uplink.interface} can be taken with {settings.uplink.driver}")
            return 0
        return run_manager(settings)
    except (ManagerConfigError, ManagerError, VppError) as e:
        print(f"vppnet manager: {e}", file=sys.stderr)
        return 2


__all__ = ["SIM", "add_arguments", "command"]
