"""Hostile files (issue 26) over HTTP on both backends: PDFs that carry active content (class 1) or
embedded files (class 2) wherever they hang are refused and nothing is stored; ordinary PDFs with
bookmarks, links and form fields still pass; images whose decoded size is too large are refused
before decoding (class 4); an undecodable image's 422 names no server path (class 9)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack

import pytest
from PIL import Image
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


# --- class 4: memory a small image can take -------------------------------------------------------


def _png(size: tuple[int, int], mode: str = "RGBA") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, "PNG")
    return buffer.getvalue()


def test_class4_an_image_too_large_to_decode_is_refused_before_decoding(api: Api) -> None:
    # Given a 6300 x 6300 RGBA PNG of zeros: about 150 KB, under the pixel limit, 159 MB decoded
    data = _png((6300, 6300))
    assert len(data) < 200_000
    before = _rows(api)
    # When it is uploaded; then 422 says how much memory it would take, nothing stored
    response = api.client.post(
        "/v1/attachments",
        files={"file": ("zeros.png", data, "image/png")},
        headers=api.headers("buyer", "b-zeros"),
    )
    assert_problem(response, 422, detail_contains="MiB to decode")
    assert _rows(api) == before


def test_class4_at_most_n_images_decode_at_a_time_per_process(api: Api) -> None:
    # Given every decode turn of the process taken
    gate = api.client.app.state.attachments.decode_gate
    results: list[int] = []
    with ExitStack() as held:
        for _ in range(gate.size):
            held.enter_context(gate.turn())
        # When three images arrive at once
        threads = [
            threading.Thread(
                target=lambda n=n: results.append(
                    api.client.post(
                        "/v1/attachments",
                        files={"file": ("p.png", _png((64, 64 + n), "RGB"), "image/png")},
                        headers=api.headers("buyer", f"b-gate-{n}"),
                    ).status_code
                )
            )
            for n in range(3)
        ]
        for thread in threads:
            thread.start()
        # Then all three wait for a turn, and none is decoded meanwhile
        deadline = time.monotonic() + 30
        while gate.waiting < 3:
            assert time.monotonic() < deadline, f"{gate.waiting} uploads waiting"
            time.sleep(0.02)
        assert results == []
    # ...and once the turns are free, each is decoded and stored
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [201, 201, 201]


# --- class 9: the 422 of an undecodable image -----------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"\xff\xd8\xff\xe0" + b"\x00" * 400, b"\x89PNG\r\n\x1a\n" + b"\x00" * 400],
    ids=["jpeg", "png"],
)
def test_class9_an_undecodable_image_is_422_without_the_servers_temporary_path(
    api: Api, data: bytes
) -> None:
    response = api.client.post(
        "/v1/attachments",
        files={"file": ("x", data, "application/octet-stream")},
        headers=api.headers("buyer", "b-broken"),
    )
    problem = assert_problem(response, 422, detail_contains="does not decode")
    spool = str(api.client.app.state.attachments.spool_dir)
    assert spool not in problem["detail"] and "attachments-incoming" not in problem["detail"]
    assert "/" not in problem["detail"], problem["detail"]


def test_class9_openapi_lists_every_media_type_a_file_is_served_as(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    served = document["paths"]["/v1/attachments/{attachment_id}"]["get"]["responses"]["200"]
    # HEIC is stored as JPEG; octet-stream is no type a file is ever served as
    assert set(served["content"]) == {
        "image/jpeg",
        "image/png",
        "image/webp",
        "application/pdf",
        "video/mp4",
        "video/quicktime",
    }
