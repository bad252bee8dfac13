"""``python -m agent.manager``: the manager without the vppnet CLI (tests, debugging)."""

from __future__ import annotations

import argparse
import logging
import sys

from agent.manager.entry import add_arguments, command


def main() -> int:
    parser = argparse.ArgumentParser(prog="vppnet manager")
    parser.add_argument("-v", "--verbose", action="store_true")
    add_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("pyroute2").setLevel(logging.WARNING)
    return command(args)


if __name__ == "__main__":
    sys.exit(main())
