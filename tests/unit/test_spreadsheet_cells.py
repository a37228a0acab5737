"""Issue 26, class 5: `shared.spreadsheet.safe_cell` (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.spreadsheet import FORMULA_STARTS, safe_cell, safe_row


@given(st.sampled_from(FORMULA_STARTS), st.text(max_size=40))
def test_class5_a_cell_a_spreadsheet_would_run_gets_an_apostrophe(start: str, rest: str) -> None:
    assert safe_cell(start + rest) == "'" + start + rest


@given(st.text(max_size=40).filter(lambda t: not t.startswith(FORMULA_STARTS)))
def test_class5_every_other_text_is_written_as_it_is(text: str) -> None:
    assert safe_cell(text) == text


def test_class5_numbers_are_not_text_and_stay_numbers() -> None:
    assert safe_row([-5, 1.5, None, True, "-5"]) == [-5, 1.5, None, True, "'-5"]
