"""CSV cells a spreadsheet will not run (issue 26, class 5: formula injection).

Excel, LibreOffice and Google Sheets read a cell that starts with `=`, `+`, `-` or `@` as a formula
(`=HYPERLINK(...)` leaks data, `=cmd|...` ran programs in old Excel), and a leading tab or carriage
return can hide the same. Every CSV export writes each text cell through `safe_cell`, which puts an
apostrophe in front of such a cell (OWASP's advice: spreadsheets show the text and hide the
apostrophe; a program reading the CSV sees it and can strip it). Numbers are left alone: only text
can be a formula. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]
