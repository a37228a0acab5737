"""`seller-support programme enrol-wave FILE.csv --wave NAME [--dry-run]`: the platform enrols a
wave of sellers in seller-handled support (R66; docs/programme.md).

The CSV has a header row with a `seller_id` column (other columns are ignored), one seller per row;
a seller listed twice counts once. Every id is checked first (the id bounds of every door,
shared/bounds.py): one bad row refuses the whole wave, naming the rows, and nothing is enrolled.
Sellers already enrolled are skipped, so a wave interrupted half-way is simply run again. The dry
run reads the same file and the same records and writes nothing: it says how many would be
enrolled. Runs against the requests database of the `SUPPORT_*` settings (`--database-url` wins).

Exit codes: 0 done, 2 usage errors (a missing file or column, bad rows).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from pathlib import Path
from typing import Any

from shared.bounds import ID_PATTERN

_ID = re.compile(ID_PATTERN)
SHOWN_BAD_ROWS = 10


class WaveFileError(Exception):
    """The wave's CSV cannot be used as it is (exit 2)."""


def read_wave(path: Path, column: str = "seller_id") -> list[str]:
    """The seller ids of a wave file, in file order; raises WaveFileError naming bad rows."""
    if not path.is_file():
        raise WaveFileError(f"no file {path}")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or column not in reader.fieldnames:
            raise WaveFileError(
                f"{path}: the header row needs a {column!r} column (found: "
                f"{', '.join(reader.fieldnames or []) or 'nothing'})"
            )
        ids: list[str] = []
        bad: list[str] = []
        for row in reader:
            value = (row.get(column) or "").strip()
            if _ID.match(value):
                ids.append(value)
            else:
                bad.append(f"row {reader.line_num}: {value!r}")
    if bad:
        shown = "; ".join(bad[:SHOWN_BAD_ROWS])
        more = f" and {len(bad) - SHOWN_BAD_ROWS} more" if len(bad) > SHOWN_BAD_ROWS else ""
        raise WaveFileError(
            f"{path}: {len(bad)} row(s) without a valid seller id ({shown}{more}); "
            "nothing was enrolled"
        )
    return ids


def enrol_wave(args: argparse.Namespace) -> int:
    from services.requests.application import open_application
    from services.requests.settings import ProgrammeSettings, Settings
    from shared.clock import SystemClock

    try:
        ids = read_wave(Path(args.file), args.column)
    except WaveFileError as error:
        print(f"seller-support programme enrol-wave: {error}", file=sys.stderr)
        return 2
    url = args.database_url or Settings().database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        print(
            f"seller-support programme enrol-wave: no database at {url} (set "
            "SUPPORT_DATABASE_URL or SUPPORT_DATA_DIR, or pass --database-url)",
            file=sys.stderr,
        )
        return 2
    app = open_application(url, SystemClock(), ProgrammeSettings().rules())
    started = time.monotonic()
    try:
        result = app.enrol_wave(
            ids, wave=args.wave, actor=f"platform:{args.by}", dry_run=args.dry_run
        )
    finally:
        app.close()
        app.recorder.datastore.engine.dispose()
    elapsed = time.monotonic() - started
    verb = "would be enrolled (dry run: nothing written)" if result.dry_run else "enrolled"
    print(
        f"wave {args.wave}: {result.listed} seller(s) listed, {result.already_enrolled} already "
        f"enrolled, {result.enrolled} {verb} in {elapsed:.1f}s"
    )
    return 0


def add_programme(commands: Any) -> None:
    programme = commands.add_parser("programme", help="the seller programme (R66)")
    sub = programme.add_subparsers(dest="programme_command", required=True)
    wave = sub.add_parser("enrol-wave", help="enrol the sellers of a CSV file (column seller_id)")
    wave.add_argument("file", help="CSV with a header row and a seller_id column")
    wave.add_argument("--wave", required=True, help="the wave's name, recorded with each enrolment")
    wave.add_argument("--dry-run", action="store_true", help="say how many; write nothing")
    wave.add_argument("--column", default="seller_id", help="the id column (default seller_id)")
    wave.add_argument("--by", default="cli", help="who runs the wave (recorded as platform:BY)")
    wave.add_argument("--database-url", default=None, help="default: SUPPORT_DATABASE_URL")
    wave.set_defaults(handler=enrol_wave)
