"""Attachments over HTTP (issue 21) on both backends: SQLite with the filesystem blob store, and
PostgreSQL with the chunks table (the module's app is built once per backend).

Upload: every accepted type, refusals by content, EXIF/GPS gone, bombs, unsafe PDFs, multipart edge
cases, quota. References: photos/evidence/attachments by id, recorded with their sha256, owned by
the referencing person or the case, never twice. Reads: the access matrix and the safe headers.
Sweep: unreferenced attachments go after 24 hours, referenced ones stay.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import exifread
import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from services.requests.attachments.application import Attachments
from services.requests.attachments.storage import DatabaseBlobs, FilesystemBlobs, attachments
from tests.attachment_files import GPS_IFD, MAKE, mov, mp4, pdf, pdf_with_open_action_js, photo
from tests.integration.conftest_http import Api, assert_problem

pytest_plugins = ["tests.integration.conftest_http"]
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def service(api: Api) -> Attachments:
    return api.client.app.state.attachments


def upload(
    api: Api,
    data: bytes,
    *,
    role: str = "buyer",
    sub: str = "b-up",
    declared: str = "application/octet-stream",
    name: str = "file.bin",
) -> httpx.Response:
    return api.client.post(
        "/v1/attachments",
        files={"file": (name, data, declared)},
        headers=api.headers(role, sub),
    )


def uploaded(api: Api, data: bytes, **kwargs: Any) -> dict[str, Any]:
    response = upload(api, data, **kwargs)
    assert response.status_code == 201, response.text
    return response.json()


def rows(api: Api) -> int:
    with service(api).engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(attachments)).scalar_one()


@contextmanager
def limits(api: Api, **changes: int) -> Iterator[None]:
    attachments_service = service(api)
    before = attachments_service.limits
    attachments_service.limits = dataclasses.replace(before, **changes)
    try:
        yield
    finally:
        attachments_service.limits = before


# --- upload: accepted types -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("maker", "media_type", "kind_has_thumbnail"),
    [
        (lambda: photo("JPEG"), "image/jpeg", True),
        (lambda: photo("PNG"), "image/png", True),
        (lambda: photo("WEBP"), "image/webp", True),
        (lambda: photo("HEIF"), "image/jpeg", True),  # HEIC is stored as JPEG
        (pdf, "application/pdf", False),
        (lambda: mp4(1000), "video/mp4", False),
        (lambda: mov(1000), "video/quicktime", False),
    ],
    ids=["jpeg", "png", "webp", "heic", "pdf", "mp4", "mov"],
)
def test_every_accepted_type_is_stored_with_its_media_type_and_hash(
    api: Api, maker: Any, media_type: str, kind_has_thumbnail: bool
) -> None:
    # Given a file of an accepted type, declared as nothing in particular
    data = maker()
    # When a buyer uploads it
    body = uploaded(api, data, sub="b-types")
    # Then it is stored under its media type, and served back byte for byte as stored
    assert body["media_type"] == media_type
    assert body["id"].startswith("att_")
    got = api.client.get(f"/v1/attachments/{body['id']}", headers=api.headers("buyer", "b-types"))
    assert got.status_code == 200
    assert got.headers["content-type"] == media_type
    assert len(got.content) == body["bytes"]
    import hashlib

    assert hashlib.sha256(got.content).hexdigest() == body["sha256"]
    assert (body["thumbnail"] is not None) == kind_has_thumbnail
    if kind_has_thumbnail:
        assert (body["width"], body["height"]) == (640, 480)
        thumb = api.client.get(body["thumbnail"], headers=api.headers("buyer", "b-types"))
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        assert max(Image.open(io.BytesIO(thumb.content)).size) == 320


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_exif_and_gps_location_are_gone_from_the_stored_photo(api: Api, fmt: str) -> None:
    # Given a photo whose EXIF carries the camera make and a GPS position
    data = photo(fmt)
    if fmt == "JPEG":
        tags = exifread.process_file(io.BytesIO(data), details=False)
        assert any(t.startswith("GPS") for t in tags), "the fixture must carry GPS to prove much"
    else:
        assert Image.open(io.BytesIO(data)).getexif().get(MAKE) == "BuyerPhone"
    # When it is uploaded and read back
    body = uploaded(api, data, sub="b-exif")
    stored = api.client.get(
        f"/v1/attachments/{body['id']}", headers=api.headers("buyer", "b-exif")
    ).content
    # Then no metadata reader finds EXIF, let alone GPS, in the stored bytes or the thumbnail
    thumb = api.client.get(body["thumbnail"], headers=api.headers("buyer", "b-exif")).content
    for blob in (stored, thumb):
        image = Image.open(io.BytesIO(blob))
        exif = image.getexif()
        assert len(exif) == 0 and not exif.get_ifd(GPS_IFD)
        assert "exif" not in image.info and "xmp" not in image.info
        assert not exifread.process_file(io.BytesIO(blob), details=False)
        assert b"BuyerPhone" not in blob


# --- upload: refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"plain text pretending to be a photo" * 20, 415, "accepted are"),
        (b"GIF89a" + b"\x00" * 300, 415, "image/gif"),
        (b"PK\x03\x04" + b"\x00" * 300, 415, "accepted are"),
        (b"", 422, "empty"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 400, 422, "does not decode"),
        (b"%PDF-1.7\n" + b"garbage" * 100, 422, "does not parse"),
    ],
    ids=["text", "gif", "zip", "zero-bytes", "broken-jpeg", "broken-pdf"],
)
def test_files_of_no_accepted_type_or_broken_are_refused_and_nothing_is_stored(
    api: Api, data: bytes, status: int, words: str
) -> None:
    before = rows(api)
    response = upload(api, data, declared="image/jpeg" if status == 415 else "")
    assert_problem(response, status, detail_contains=words)
    assert rows(api) == before


def test_bytes_contradicting_the_declared_type_are_refused(api: Api) -> None:
    # Given a PNG declared as a JPEG; when uploaded; then 415 names both types
    response = upload(api, photo("PNG"), declared="image/jpeg", name="x.jpg")
    problem = assert_problem(response, 415, detail_contains="declares image/jpeg")
    assert "image/png" in problem["detail"]
    # ...while the right declaration, or a synonym, is fine
    assert upload(api, photo("PNG"), declared="image/png", sub="b-decl").status_code == 201
    assert upload(api, photo("JPEG"), declared="image/jpg", sub="b-decl").status_code == 201


def test_a_file_name_does_not_make_a_type(api: Api) -> None:
    response = upload(api, b"#!/bin/sh\necho owned\n" * 30, name="holiday.jpg")
    assert_problem(response, 415)


@pytest.mark.parametrize(
    ("maker", "words"),
    [
        (lambda: pdf(javascript=True), "javascript"),
        (pdf_with_open_action_js, "javascript"),
        (lambda: pdf(embedded=True), "embedded files"),
    ],
    ids=["names-javascript", "open-action-javascript", "embedded-file"],
)
def test_pdfs_with_javascript_or_embedded_files_are_refused(
    api: Api, maker: Any, words: str
) -> None:
    assert_problem(upload(api, maker()), 422, detail_contains=words)


def test_a_decompression_bomb_is_refused_with_a_4xx(api: Api) -> None:
    # Given a guard of 10,000 pixels; when a 200x200 image (40,000 pixels; over twice the guard,
    # Pillow's DecompressionBombError) and a 120x100 one (12,000; the warning) arrive
    attachments_service = service(api)
    before = attachments_service.max_image_pixels
    attachments_service.max_image_pixels = 10_000
    try:
        for size in ((200, 200), (120, 100)):
            response = upload(api, photo("PNG", size), sub="b-bomb")
            # Then each is refused as unsafe, not a 500
            assert_problem(response, 422, detail_contains="pixels")
    finally:
        attachments_service.max_image_pixels = before


def test_over_the_limit_of_its_kind_is_413_and_nothing_is_stored(api: Api) -> None:
    # Given an image limit of 2 KB and a 20 KB video limit
    with limits(api, image_bytes=2_000, video_bytes=20_000):
        before = rows(api)
        # When a 3 KB+ JPEG arrives; then 413 (the kind's limit), nothing stored
        assert_problem(upload(api, photo("JPEG", (800, 600))), 413, detail_contains="image")
        # ...while a 10 KB video is under its own limit
        assert upload(api, mp4(10_000), sub="b-limit").status_code == 201
        assert_problem(upload(api, mp4(30_000), sub="b-limit"), 413, detail_contains="video")
        assert rows(api) == before + 1
    spool = service(api).spool_dir
    assert spool is not None and not any(spool.iterdir()), "no spooled temp file left behind"


def test_the_daily_quota_answers_429_with_retry_after(api: Api) -> None:
    with limits(api, daily_uploads=2):
        assert upload(api, pdf(), sub="b-quota").status_code == 201
        assert upload(api, mp4(10), sub="b-quota").status_code == 201
        response = upload(api, mp4(20), sub="b-quota")
        assert_problem(response, 429, detail_contains="per 24 hours")
        assert response.headers["retry-after"]
        # another uploader's allowance is their own
        assert upload(api, mp4(20), sub="b-quota-other").status_code == 201
    with limits(api, daily_bytes=1_000):
        assert_problem(upload(api, mp4(2_000), sub="b-quota-bytes"), 429)


def test_the_same_bytes_twice_from_the_same_uploader_give_the_same_attachment(api: Api) -> None:
    data = pdf()
    first = upload(api, data, sub="b-twice")
    again = upload(api, data, sub="b-twice")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()


# --- multipart edge cases ---------------------------------------------------------------------


def _raw(api: Api, body: bytes, content_type: str) -> httpx.Response:
    return api.client.post(
        "/v1/attachments",
        content=body,
        headers={**api.headers("buyer", "b-raw"), "Content-Type": content_type},
    )


def _multipart(boundary: str, data: bytes, *, close: bool = True, name: str = "file") -> bytes:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    return head + data + (f"\r\n--{boundary}--\r\n".encode() if close else b"")


def test_multipart_edge_cases_are_clear_4xx_and_store_nothing(api: Api) -> None:
    before = rows(api)
    good = pdf()
    # a well-formed body works (the control)
    ok = _raw(api, _multipart("XyZ", good), "multipart/form-data; boundary=XyZ")
    assert ok.status_code == 201, ok.text
    # truncated: the closing boundary never comes
    truncated = _multipart("XyZ", good[: len(good) // 2], close=False)
    assert_problem(
        _raw(api, truncated, "multipart/form-data; boundary=XyZ"), 400, detail_contains="truncated"
    )
    # the Content-Type names another boundary than the body uses
    assert_problem(_raw(api, _multipart("XyZ", good), "multipart/form-data; boundary=Other"), 400)
    # no boundary at all
    assert_problem(_raw(api, _multipart("XyZ", good), "multipart/form-data"), 400)
    # not multipart
    assert_problem(_raw(api, good, "application/pdf"), 415, detail_contains="multipart")
    # no part named file
    assert_problem(
        _raw(api, _multipart("XyZ", good, name="photo"), "multipart/form-data; boundary=XyZ"),
        400,
        detail_contains="'file'",
    )
    assert rows(api) == before + 1


def test_only_buyers_sellers_and_support_upload(api: Api) -> None:
    for role in ("auditor", "admin", "platform"):
        assert_problem(upload(api, pdf(), role=role, sub=f"{role}-u"), 403)
    assert upload(api, pdf(), role="seller", sub="s-u").status_code == 201
    assert upload(api, mp4(5), role="support", sub="agent-u").status_code == 201
    assert_problem(api.client.post("/v1/attachments", files={"file": ("a", pdf())}), 401)


# --- references -------------------------------------------------------------------------------


def test_a_photo_uploaded_by_the_buyer_is_recorded_with_its_sha256_and_binds_to_the_request(
    api: Api,
) -> None:
    order = api.place_order()
    shot = uploaded(api, photo(), sub=order["buyer_id"])
    # When the buyer opens a not-as-described request with the photo id and a plain URL
    state = api.open_request(
        order, reason="not_as_described", photos=[shot["id"], "https://photos.example/old.jpg"]
    )
    # Then the history records the id with the hash of the bytes (the hash chain covers it)
    history = api.as_party(state, "support", "GET", "/history").json()
    assert history[0]["data"]["photos"] == [
        f"{shot['id']}#sha256={shot['sha256']}",
        "https://photos.example/old.jpg",
    ]
    # and the attachment now belongs to the request
    assert service(api).get(shot["id"]).request_id == state["id"]


def test_photos_must_be_images_uploaded_by_that_buyer(api: Api) -> None:
    order = api.place_order()
    document = uploaded(api, pdf(), sub=order["buyer_id"])
    others = uploaded(api, photo(), sub="b-someone-else")
    body = {
        "order_id": order["order_id"],
        "item_ids": ["i1"],
        "reason": "wrong_item",
        "description": "Not what I ordered.",
    }
    for photos, words in (
        ([document["id"]], "photos are images"),
        ([others["id"]], "of yours"),
        (["att_" + "0" * 32], "of yours"),
    ):
        response = api.call(
            "buyer",
            "POST",
            "/v1/support-requests",
            {**body, "photos": photos},
            sub=order["buyer_id"],
        )
        assert_problem(response, 422, detail_contains=words)
    assert service(api).get(others["id"]).request_id is None


def test_an_attachment_referenced_by_another_request_or_twice_is_refused_and_nothing_half_stored(
    api: Api,
) -> None:
    buyer_orders = api.place_order(items=2)
    buyer = buyer_orders["buyer_id"]
    shot = uploaded(api, photo(), sub=buyer)
    fresh = uploaded(api, photo("PNG"), sub=buyer)
    api.open_request(buyer_orders, item_ids=["i1"], photos=[shot["id"]])
    body = {
        "order_id": buyer_orders["order_id"],
        "item_ids": ["i2"],
        "reason": "defective",
        "description": "Also broken.",
    }
    # the same id twice in one list
    twice = api.call(
        "buyer", "POST", "/v1/support-requests", {**body, "photos": [fresh["id"]] * 2}, sub=buyer
    )
    assert_problem(twice, 422, detail_contains="twice")
    # an id that belongs to another request (with a good one beside it)
    taken = api.call(
        "buyer",
        "POST",
        "/v1/support-requests",
        {**body, "photos": [fresh["id"], shot["id"]]},
        sub=buyer,
    )
    assert_problem(taken, 409, detail_contains="another support request")
    # nothing half: the good photo is still free and the item can still be opened
    assert service(api).get(fresh["id"]).request_id is None
    state = api.open_request(buyer_orders, item_ids=["i2"], photos=[fresh["id"]])
    assert service(api).get(fresh["id"]).request_id == state["id"]


def test_evidence_and_message_attachments_belong_to_their_author_or_the_case(api: Api) -> None:
    order = api.place_order()
    shot = uploaded(api, photo(), sub=order["buyer_id"])
    state = api.open_request(order, photos=[shot["id"]])
    seller = order["seller_id"]
    listing = uploaded(api, pdf(), role="seller", sub=seller)
    buyers_loose = uploaded(api, mp4(50), sub=order["buyer_id"])
    # The seller may not use the buyer's unreferenced upload...
    response = api.as_party(
        state, "seller", "POST", "/messages", {"body": "see", "attachments": [buyers_loose["id"]]}
    )
    assert_problem(response, 422, detail_contains="of yours")
    # ...but may point at the buyer's photo already on the case, beside the seller's own PDF
    response = api.as_party(
        state,
        "seller",
        "POST",
        "/responses",
        {"type": "no_refund", "message": "As listed.", "evidence": [listing["id"], shot["id"]]},
    )
    assert response.status_code == 200, response.text
    # and the buyer answers with the video
    response = api.as_party(
        state, "buyer", "POST", "/messages", {"body": "look", "attachments": [buyers_loose["id"]]}
    )
    assert response.status_code == 200, response.text
    history = api.as_party(state, "support", "GET", "/history").json()
    evidence = next(e for e in history if e["type"] == "no_refund_explained")["data"]["evidence"]
    assert evidence == [
        f"{listing['id']}#sha256={listing['sha256']}",
        f"{shot['id']}#sha256={shot['sha256']}",
    ]
    assert {a.id for a in service(api).of_request(state["id"])} == {
        shot["id"],
        listing["id"],
        buyers_loose["id"],
    }


# --- reads ------------------------------------------------------------------------------------


def test_access_matrix_before_and_after_the_attachment_is_referenced(api: Api) -> None:
    order = api.place_order()
    buyer, seller = order["buyer_id"], order["seller_id"]
    shot = uploaded(api, photo(), sub=buyer)
    path = f"/v1/attachments/{shot['id']}"

    def status(role: str, sub: str) -> int:
        return api.client.get(path, headers=api.headers(role, sub)).status_code

    # Before it is referenced: only the uploader
    assert status("buyer", buyer) == 200
    for role, sub in (("seller", seller), ("support", "agent"), ("auditor", "aud"), ("buyer", "x")):
        assert status(role, sub) == 404, (role, sub)
    api.open_request(order, photos=[shot["id"]])
    # After: the request's buyer and seller, support and auditors; nobody else
    for role, sub in ((("buyer", buyer)), ("seller", seller), ("support", "a"), ("auditor", "b")):
        assert status(role, sub) == 200, (role, sub)
        thumb = api.client.get(path + "/thumbnail", headers=api.headers(role, sub))
        assert thumb.status_code == 200
    for role, sub in (("buyer", "other-buyer"), ("seller", "other-seller")):
        assert status(role, sub) == 404
    for role in ("admin", "platform"):
        assert status(role, "x") == 403
    assert api.client.get(path).status_code == 401
    assert status("buyer", buyer) == 200
    assert_problem(api.client.get("/v1/attachments/nope", headers=api.headers("support")), 404)


def test_downloads_carry_the_safe_headers(api: Api) -> None:
    shot = uploaded(api, photo(), sub="b-headers")
    document = uploaded(api, pdf(), sub="b-headers")
    video = uploaded(api, mov(20), sub="b-headers")
    for body, disposition in ((shot, "inline"), (document, "attachment"), (video, "attachment")):
        response = api.client.get(
            f"/v1/attachments/{body['id']}", headers=api.headers("buyer", "b-headers")
        )
        assert response.headers["content-type"] == body["media_type"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-disposition"] == disposition
        assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
    # the ETag is the hash of the bytes: a client that has them gets 304, not them again
    first = api.client.get(
        f"/v1/attachments/{shot['id']}", headers=api.headers("buyer", "b-headers")
    )
    assert first.headers["etag"] == f'"{shot["sha256"]}"'
    again = api.client.get(
        f"/v1/attachments/{shot['id']}",
        headers={**api.headers("buyer", "b-headers"), "If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304 and again.content == b""
    # ...but only after the access check: a stranger with the hash still gets 404
    stranger = api.client.get(
        f"/v1/attachments/{shot['id']}",
        headers={**api.headers("buyer", "b-stranger"), "If-None-Match": first.headers["etag"]},
    )
    assert_problem(stranger, 404)
    no_thumb = api.client.get(
        f"/v1/attachments/{document['id']}/thumbnail", headers=api.headers("buyer", "b-headers")
    )
    assert_problem(no_thumb, 404, detail_contains="no thumbnail")


# --- sweep ------------------------------------------------------------------------------------


@pytest.mark.own_clock
def test_the_sweep_deletes_what_no_request_referenced_within_24_hours(api: Api) -> None:
    order = api.place_order()
    attachments_service = service(api)
    kept = uploaded(api, photo(seed=11), sub=order["buyer_id"])
    loose = uploaded(api, photo("PNG", seed=12), sub=order["buyer_id"])
    shared_bytes = mp4(7_777)
    loose_twin = uploaded(api, shared_bytes, sub="b-sweep-1")
    api.open_request(order, photos=[kept["id"]])
    # At 23 hours none of this test's files goes (the module's app is shared: other tests' older
    # uploads may be swept here, so only this test's own rows are counted)
    api.move_clock(advance="PT23H")
    attachments_service.sweep()
    for mine in (kept, loose, loose_twin):
        assert attachments_service.get(mine["id"]) is not None, mine["id"]
    # Another uploader stores the same video bytes later (one blob, two rows)
    later_twin = uploaded(api, shared_bytes, sub="b-sweep-2")
    assert later_twin["sha256"] == loose_twin["sha256"]
    # Past 24 hours: the unreferenced go, the referenced stay
    api.move_clock(advance="PT2H")
    removed = attachments_service.sweep()
    assert removed >= 2
    assert attachments_service.get(loose["id"]) is None
    assert attachments_service.get(loose_twin["id"]) is None
    assert attachments_service.get(kept["id"]) is not None
    blobs = attachments_service.blobs
    assert not blobs.has(loose["sha256"])
    assert blobs.has(kept["sha256"])
    # the shared bytes stay while the later row still names them
    assert blobs.has(shared_bytes_sha := later_twin["sha256"])
    got = api.client.get(
        f"/v1/attachments/{later_twin['id']}", headers=api.headers("buyer", "b-sweep-2")
    )
    assert got.status_code == 200
    gone = api.client.get(
        f"/v1/attachments/{loose['id']}", headers=api.headers("buyer", order["buyer_id"])
    )
    assert_problem(gone, 404)
    # a swept id can no longer be referenced
    again = api.place_order()
    response = api.call(
        "buyer",
        "POST",
        "/v1/support-requests",
        {
            "order_id": again["order_id"],
            "item_ids": ["i1"],
            "reason": "defective",
            "description": "x",
            "photos": [loose["id"]],
        },
        sub=order["buyer_id"],
    )
    assert_problem(response, 422)
    api.move_clock(advance="PT25H")
    attachments_service.sweep()
    assert not blobs.has(shared_bytes_sha)


def test_the_backend_uses_the_blob_store_of_its_mode(api: Api, http_database_url: str) -> None:
    blobs = service(api).blobs
    if http_database_url.startswith("postgresql"):
        assert isinstance(blobs, DatabaseBlobs)
    else:
        assert isinstance(blobs, FilesystemBlobs)


def test_old_clients_sending_plain_urls_keep_working(api: Api) -> None:
    order = api.place_order()
    state = api.open_request(
        order, reason="not_as_described", photos=["https://photos.example/a.jpg"]
    )
    response = api.as_party(
        state,
        "seller",
        "POST",
        "/responses",
        {"type": "no_refund", "message": "no", "evidence": ["https://x.example/e.pdf"]},
    )
    assert response.status_code == 200, response.text
    # then the plain URLs are stored as sent and read back in the request's history
    history = api.as_party(state, "support", "GET", "/history").json()
    opened = next(e for e in history if e["type"] == "opened")["data"]
    explained = next(e for e in history if e["type"] == "no_refund_explained")["data"]
    assert opened["photos"] == ["https://photos.example/a.jpg"]
    assert explained["evidence"] == ["https://x.example/e.pdf"]


# --- audit export --------------------------------------------------------------------------------


def test_audit_export_with_attachments_writes_each_referenced_file_named_by_its_sha256(
    api: Api, http_settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    import hashlib
    import json

    from services.cli import main

    # Given a request with a photo and a message video, and a loose upload nobody referenced
    order = api.place_order()
    shot = uploaded(api, photo(seed=41), sub=order["buyer_id"])
    clip = uploaded(api, mp4(4_141), sub=order["buyer_id"])
    loose = uploaded(api, mp4(4_242), sub=order["buyer_id"])
    state = api.open_request(order, photos=[shot["id"]])
    api.as_party(
        state, "buyer", "POST", "/messages", {"body": "video", "attachments": [clip["id"]]}
    )
    monkeypatch.setenv("SUPPORT_DATABASE_URL", http_settings.database_url)
    monkeypatch.setenv("SUPPORT_DATA_DIR", str(http_settings.data_dir))
    out = tmp_path / "export.jsonl"
    # When the auditor exports with attachments
    assert main(["audit", "export", "--out", str(out), "--quiet", "--with-attachments"]) == 0
    folder = tmp_path / "export.jsonl.attachments"
    # Then the referenced files are there, named by the hash of their bytes; the loose one is not
    for body in (shot, clip):
        data = (folder / body["sha256"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == body["sha256"]
    assert not (folder / loose["sha256"]).exists()
    manifest = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]
    assert {"id": shot["id"], "request_id": state["id"]}.items() <= next(
        m for m in manifest if m["id"] == shot["id"]
    ).items()
    # and every reference in the exported events has its file
    events = [json.loads(line) for line in out.read_text().splitlines()]
    mine = [e for e in events if e["subject"] == state["id"]]
    references = [r for e in mine for f in ("photos", "attachments") for r in e["data"].get(f, [])]
    assert sorted(r.split("#sha256=")[1] for r in references) == sorted(
        [shot["sha256"], clip["sha256"]]
    )
    # usage: the files need a place beside the export
    assert main(["audit", "export", "--with-attachments", "--quiet"]) == 2
    capsys.readouterr()


# --- the case dossier ----------------------------------------------------------------------------


def _next_friday_ten_new_york(api: Api) -> str:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    now = api.clock.now().astimezone(ZoneInfo("America/New_York"))
    day = now.date() + timedelta(days=1)
    while day.weekday() != 4:
        day += timedelta(days=1)
    return datetime(
        day.year, day.month, day.day, 10, tzinfo=ZoneInfo("America/New_York")
    ).isoformat()


@pytest.mark.own_clock
def test_the_case_dossier_is_one_pdf_with_order_timeline_messages_pictures_deadlines_and_ledger(
    api: Api,
) -> None:
    import time

    from pypdf import PdfReader

    # Given a request opened on a Friday in New York with a photo, a message with a PDF, and a
    # partial refund the buyer accepted (a ledger entry)
    order = api.place_order()
    api.move_clock(set=_next_friday_ten_new_york(api))
    shot = uploaded(api, photo(seed=77), sub=order["buyer_id"])
    receipt = uploaded(api, pdf(), sub=order["buyer_id"])
    state = api.open_request(order, photos=[shot["id"]], description="Creased corner.")
    message = {"body": "Here is the receipt \u2014 thanks", "attachments": [receipt["id"]]}
    assert api.as_party(state, "buyer", "POST", "/messages", message).status_code == 200
    offer = {"type": "partial_refund", "amount": 1000}
    assert api.as_party(state, "seller", "POST", "/responses", offer).status_code == 200
    assert api.as_party(state, "buyer", "POST", "/offer/accept").status_code == 200
    # (the embedded pump applies the events to the ledger in the background: wait for it)
    ledger_path = f"/v1/sellers/{order['seller_id']}/ledger?request_id={state['id']}"
    deadline = time.monotonic() + 20
    while not api.client.get(ledger_path, headers=api.headers("support", "agent-7")).json()[
        "entries"
    ]:
        assert time.monotonic() < deadline, "the ledger never saw the accepted offer"
        time.sleep(0.1)

    # When support asks for the dossier
    response = api.client.get(
        f"/v1/support-requests/{state['id']}/dossier", headers=api.headers("support", "agent-7")
    )

    # Then it is one PDF whose text holds every section
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment")
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())
    for expected in (
        f"support request {state['id']}",
        f"Order {order['order_id']}",
        "Holo card",
        "America/New_York",
        "EST",  # times in the marketplace's zone
        "Creased corner.",
        "Here is the receipt \u2014 thanks",  # as written: the dossier sets Unicode text
        shot["id"],
        shot["sha256"],
        receipt["id"],
        "Partial refund offered",  # events in words (B11)
        "Offer accepted",
        "Amount: 10.00 USD",  # money in the currency, not minor units
        "9400-",  # the original shipment's tracking number
        "seller response: set by opened at Fri",
        "48 business hours",
        "(Saturday)",
        "(Sunday)",
        "Partial refund -10.00 USD",  # the ledger kind in words
    ):
        assert expected in flat, expected
    # and the photo is in it as a picture
    assert sum(len(page.images) for page in reader.pages) >= 1

    # Auditors read it too; the parties and unknown requests do not
    auditor = api.client.get(
        f"/v1/support-requests/{state['id']}/dossier", headers=api.headers("auditor", "aud-1")
    )
    assert auditor.status_code == 200
    for role in ("buyer", "seller"):
        assert_problem(api.as_party(state, role, "GET", "/dossier"), 403)
    assert_problem(
        api.client.get(
            "/v1/support-requests/00000000-0000-4000-8000-000000000000/dossier",
            headers=api.headers("support"),
        ),
        404,
    )


def test_a_photo_turned_by_its_exif_orientation_is_stored_turned_without_exif(api: Api) -> None:
    # Given a 640x480 JPEG whose EXIF says "rotate 90 degrees" (orientation 6)
    image = Image.new("RGB", (640, 480), (10, 200, 10))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    # When uploaded; then the pixels are turned (480x640) and no EXIF is left to turn them again
    body = uploaded(api, buffer.getvalue(), sub="b-orient")
    assert (body["width"], body["height"]) == (480, 640)
    stored = api.client.get(
        f"/v1/attachments/{body['id']}", headers=api.headers("buyer", "b-orient")
    ).content
    assert Image.open(io.BytesIO(stored)).size == (480, 640)
    assert len(Image.open(io.BytesIO(stored)).getexif()) == 0


@pytest.mark.own_clock
def test_a_support_decision_cites_the_agents_own_upload_and_the_cases_photo(api: Api) -> None:
    # Given an escalated request with the buyer's photo
    order = api.place_order()
    shot = uploaded(api, photo(seed=91), sub=order["buyer_id"])
    state = api.open_request(order, photos=[shot["id"]])
    api.pass_deadline(state, "seller_response")
    escalated = api.as_party(state, "buyer", "POST", "/escalate", {"reason": "No answer."})
    assert escalated.status_code == 200, escalated.text
    # and the agent's own note as a PDF, and another agent's upload
    note = uploaded(api, pdf(), role="support", sub="agent-9")
    foreign = uploaded(api, mp4(9_191), role="support", sub="agent-other")
    decision = {"outcome": "refund", "evidence": [note["id"], foreign["id"]]}
    response = api.call(
        "support", "POST", f"/v1/support-requests/{state['id']}/decision", decision, sub="agent-9"
    )
    # Then another agent's upload is not theirs to cite
    assert_problem(response, 422, detail_contains="of yours")
    # When the agent decides citing the note and the case's photo
    decision = {"outcome": "refund", "evidence": [note["id"], shot["id"]]}
    response = api.call(
        "support", "POST", f"/v1/support-requests/{state['id']}/decision", decision, sub="agent-9"
    )
    assert response.status_code == 200, response.text
    # Then the decision records both with their hashes, and the note now belongs to the request:
    # the buyer and seller read it
    history = api.as_party(state, "support", "GET", "/history").json()
    decided = next(e for e in history if e["type"] == "support_decided")
    assert decided["data"]["evidence"] == [
        f"{note['id']}#sha256={note['sha256']}",
        f"{shot['id']}#sha256={shot['sha256']}",
    ]
    for role, sub in (("buyer", order["buyer_id"]), ("seller", order["seller_id"])):
        got = api.client.get(f"/v1/attachments/{note['id']}", headers=api.headers(role, sub))
        assert got.status_code == 200


def test_a_body_declared_larger_than_any_accepted_file_is_413_before_it_is_read(api: Api) -> None:
    largest = service(api).limits.largest
    response = api.client.post(
        "/v1/attachments",
        content=b"x" * 10,
        headers={
            **api.headers("buyer", "b-huge"),
            "Content-Type": "multipart/form-data; boundary=B",
            "Content-Length": str(largest + 10 * 1024 * 1024),
        },
    )
    assert_problem(response, 413, detail_contains="at most")
