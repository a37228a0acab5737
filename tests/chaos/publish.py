"""Publish a fault-injection report to the tracked docs: `make chaos-publish` (issue 31).

The chaos suite writes its report to var/chaos/reliability-<profile>.md and never to docs/; this
copies one (default: the full profile's) to docs/reliability.md, refusing a report that does not
name its seed — a published figure must be reproducible with `CHAOS_SEED=<seed> make chaos`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEED = re.compile(r"^- run: profile `(?P<profile>[\w-]+)`, seed (?P<seed>\d+),", re.MULTILINE)


def publish(report: Path, target: Path) -> str:
    """Copy `report` to `target`; returns the seed. Raises ValueError for a report without one."""
    text = report.read_text(encoding="utf-8")
    found = SEED.search(text)
    if found is None:
        raise ValueError(f"{report} names no seed: not published")
    target.write_text(text, encoding="utf-8")
    return found["seed"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--report", type=Path, default=REPO / "var/chaos/reliability-full.md")
    parser.add_argument("--to", type=Path, default=REPO / "docs/reliability.md")
    args = parser.parse_args(argv)
    if not args.report.exists():
        print(f"{args.report} does not exist: run `make chaos` first", file=sys.stderr)
        return 1
    try:
        seed = publish(args.report, args.to)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"published {args.report} to {args.to} (seed {seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
