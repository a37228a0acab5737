"""Hostile files (issue 26) over HTTP on both backends: PDFs that carry active content (class 1) or
embedded files (class 2) wherever they hang are refused and nothing is stored; ordinary PDFs with
bookmarks, links and form fields still pass; images whose decoded size is too large are refused
before decoding (class 4); an undecodable image's 422 names no server path (class 9)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from services.requests.attachments.storage import attachments
from tests import hostile_pdfs
from tests.integration.conftest_http import Api, assert_problem

pytest_plugins = ["tests.integration.conftest_http"]
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _upload(api: Api, data: bytes, sub: str = "b-hostile"):
    return api.client.post(
        "/v1/attachments",
        files={"file": ("file.pdf", data, "application/pdf")},
        headers=api.headers("buyer", sub),
    )


def _rows(api: Api) -> int:
    with api.client.app.state.attachments.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(attachments)).scalar_one()


@pytest.mark.parametrize(
    ("build", "words"), list(hostile_pdfs.ACTIVE.values()), ids=list(hostile_pdfs.ACTIVE)
)
def test_class1_pdf_active_content_anywhere_in_the_file_is_refused(
    api: Api, build: Callable[[], bytes], words: str
) -> None:
    # Given a PDF whose script or dangerous action hides behind a /Next chain, a bookmark, a form
    # field, an XFA stream, a `#`-escaped name or a compressed object stream
    data = build()
    before = _rows(api)
    # When it is uploaded; then 422 names what was found, and nothing is stored
    assert_problem(_upload(api, data), 422, detail_contains=words)
    assert _rows(api) == before


@pytest.mark.parametrize(
    ("build", "words"), list(hostile_pdfs.EMBEDDED.values()), ids=list(hostile_pdfs.EMBEDDED)
)
def test_class2_pdf_embedded_files_wherever_they_hang_are_refused(
    api: Api, build: Callable[[], bytes], words: str
) -> None:
    # Given a PDF carrying a file through /AF (catalogue or page), RichMedia assets, a GoToE
    # target, or a file specification no name tree lists
    before = _rows(api)
    # When it is uploaded; then 422, nothing stored
    assert_problem(_upload(api, build()), 422, detail_contains=words)
    assert _rows(api) == before


def test_class1_and_2_ordinary_pdfs_with_bookmarks_links_and_fields_still_pass(api: Api) -> None:
    # Given a PDF with a bookmark, a URI link and a form field without actions, in object streams
    response = _upload(api, hostile_pdfs.harmless_rich_pdf(), sub="b-harmless")
    # Then it is stored
    assert response.status_code == 201, response.text
    assert response.json()["media_type"] == "application/pdf"
