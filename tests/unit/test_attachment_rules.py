"""Pure rules of attachments (issue 21): accepted kinds, limits, quota, who may reference and read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.requests.attachments.domain import (
    ACCEPTED,
    AttachmentFacts,
    AttachmentNotUsable,
    AttachmentTaken,
    FileTooLarge,
    Limits,
    MediaKind,
    QuotaExceeded,
    ReferenceField,
    UnsafeOrBrokenFile,
    UnsupportedMediaType,
    check_declared,
    check_kind,
    check_no_repeats,
    check_pdf_features,
    check_quota,
    check_reference,
    check_size,
    disposition,
    is_attachment_id,
    may_read,
    parse_reference,
    recorded_reference,
)

LIMITS = Limits(
    image_bytes=10 * 2**20,
    pdf_bytes=10 * 2**20,
    video_bytes=50 * 2**20,
    daily_uploads=3,
    daily_bytes=100,
)
ID = "att_" + "a" * 32
SHA = "b" * 64


def facts(**changes: object) -> AttachmentFacts:
    base = {
        "id": ID,
        "uploader_role": "buyer",
        "uploader_id": "b1",
        "kind": MediaKind.IMAGE,
        "sha256": SHA,
        "request_id": None,
    }
    return AttachmentFacts(**{**base, **changes})  # type: ignore[arg-type]


def test_the_accepted_types_are_the_issues_images_pdf_and_videos() -> None:
    assert {t: str(k) for t, k in ACCEPTED.items()} == {
        "image/jpeg": "image",
        "image/png": "image",
        "image/webp": "image",
        "image/heic": "image",
        "application/pdf": "pdf",
        "video/mp4": "video",
        "video/quicktime": "video",
    }


@pytest.mark.parametrize("detected", [None, "image/gif", "application/zip", "text/html"])
def test_any_other_type_is_415_naming_what_is_accepted(detected: str | None) -> None:
    with pytest.raises(UnsupportedMediaType, match="accepted are application/pdf, image/heic"):
        check_kind(detected)


def test_a_declared_type_may_be_silent_or_a_synonym_but_not_another_type() -> None:
    check_declared("", "image/jpeg")
    check_declared("application/octet-stream", "image/jpeg")
    check_declared("image/jpg", "image/jpeg")
    check_declared("IMAGE/HEIF; q=1", "image/heic")
    with pytest.raises(UnsupportedMediaType, match="declares image/png but its bytes are"):
        check_declared("image/png", "image/jpeg")
    with pytest.raises(UnsupportedMediaType):
        check_declared("text/plain", "application/pdf")


@pytest.mark.parametrize(
    ("kind", "limit"),
    [(MediaKind.IMAGE, 10 * 2**20), (MediaKind.PDF, 10 * 2**20), (MediaKind.VIDEO, 50 * 2**20)],
)
def test_each_kind_has_its_own_size_limit(kind: MediaKind, limit: int) -> None:
    check_size(kind, limit, LIMITS)
    with pytest.raises(FileTooLarge, match=str(limit)):
        check_size(kind, limit + 1, LIMITS)


def test_the_daily_quota_counts_uploads_and_bytes() -> None:
    check_quota(2, 50, 50, LIMITS)
    with pytest.raises(QuotaExceeded, match="3 uploads"):
        check_quota(3, 0, 1, LIMITS)
    with pytest.raises(QuotaExceeded, match="100 bytes"):
        check_quota(0, 60, 41, LIMITS)


def test_pdfs_with_active_content_or_embedded_files_are_unsafe() -> None:
    check_pdf_features(set(), set())
    with pytest.raises(UnsafeOrBrokenFile, match=r"active content \(Launch action\)"):
        check_pdf_features({"Launch action"}, set())
    with pytest.raises(UnsafeOrBrokenFile, match="embedded files"):
        check_pdf_features(set(), {"associated files (/AF)"})


@given(
    st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
)
def test_a_recorded_reference_reads_back_as_its_id_and_hash(hex32: str, digest: bytes) -> None:
    attachment_id = "att_" + hex32
    recorded = recorded_reference(attachment_id, digest.hex())
    assert parse_reference(recorded) == (attachment_id, digest.hex())
    assert parse_reference(attachment_id) == (attachment_id, None)
    assert is_attachment_id(attachment_id)


@given(st.text(max_size=80).filter(lambda s: not s.startswith("att_")))
def test_plain_references_are_not_attachment_ids(value: str) -> None:
    assert parse_reference(value) is None


def test_photos_are_images_uploaded_by_the_buyer_who_references_them() -> None:
    kwargs = {"actor_role": "buyer", "actor_id": "b1", "request_id": None, "sha256": None}
    check_reference(facts(), field=ReferenceField.PHOTOS, reference=ID, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(AttachmentNotUsable, match="photos are images"):
        check_reference(
            facts(kind=MediaKind.PDF),
            field=ReferenceField.PHOTOS,
            reference=ID,
            **kwargs,  # type: ignore[arg-type]
        )
    with pytest.raises(AttachmentNotUsable, match="of yours"):
        check_reference(
            facts(uploader_id="b2"),
            field=ReferenceField.PHOTOS,
            reference=ID,
            **kwargs,  # type: ignore[arg-type]
        )
    with pytest.raises(AttachmentNotUsable, match="of yours"):
        check_reference(None, field=ReferenceField.PHOTOS, reference=ID, **kwargs)  # type: ignore[arg-type]


def test_evidence_may_be_the_authors_own_or_already_the_cases() -> None:
    on_case = facts(request_id="r1")
    # the seller points at the buyer's photo already on this request
    check_reference(
        on_case,
        actor_role="seller",
        actor_id="s1",
        field=ReferenceField.EVIDENCE,
        request_id="r1",
        sha256=None,
        reference=ID,
    )
    # but not at one on another request, even the buyer's own
    with pytest.raises(AttachmentTaken):
        check_reference(
            on_case,
            actor_role="buyer",
            actor_id="b1",
            field=ReferenceField.ATTACHMENTS,
            request_id="r2",
            sha256=None,
            reference=ID,
        )
    with pytest.raises(AttachmentNotUsable, match="sha256"):
        check_reference(
            facts(),
            actor_role="buyer",
            actor_id="b1",
            field=ReferenceField.ATTACHMENTS,
            request_id=None,
            sha256="c" * 64,
            reference=ID,
        )


def test_an_id_named_twice_in_one_command_is_refused() -> None:
    check_no_repeats([ID, "https://x.example/a.jpg", "https://x.example/a.jpg"])
    with pytest.raises(AttachmentNotUsable, match="twice"):
        check_no_repeats([ID, recorded_reference(ID, SHA)])


@pytest.mark.parametrize(
    ("role", "actor_id", "parties", "allowed"),
    [
        ("buyer", "b1", None, True),  # the uploader, before it is referenced
        ("support", "agent", None, False),
        ("auditor", "a", None, False),
        ("buyer", "b1", ("b1", "s1"), True),
        ("seller", "s1", ("b1", "s1"), True),
        ("support", "agent", ("b1", "s1"), True),
        ("auditor", "a", ("b1", "s1"), True),
        ("buyer", "b2", ("b1", "s1"), False),
        ("seller", "s2", ("b1", "s1"), False),
        ("seller", "b1", ("b1", "s1"), False),
    ],
)
def test_who_reads_an_attachment(
    role: str, actor_id: str, parties: tuple[str, str] | None, allowed: bool
) -> None:
    assert (
        may_read(role=role, actor_id=actor_id, uploader=("buyer", "b1"), request_parties=parties)
        is allowed
    )


def test_only_images_are_shown_inline() -> None:
    assert disposition("image/png") == "inline"
    for media_type in ("application/pdf", "video/mp4", "video/quicktime", "text/html"):
        assert disposition(media_type) == "attachment"


def test_decisions_published_before_evidence_existed_still_read_as_the_v1_contract() -> None:
    from shared.contracts.requests_v1 import SupportDecidedV1

    base = {
        "request_id": "6f1c2a52-5b7e-4a53-9d51-3b0f6d3e8a10",
        "version": 5,
        "at": "2026-12-10T10:00:00+00:00",
        "actor": "support:a1",
        "outcome": "refund",
        "liable": "seller",
        "amount": 2500,
        "return_dropoff_due": None,
    }
    assert SupportDecidedV1.model_validate(base).evidence == []
    cited = SupportDecidedV1.model_validate({**base, "evidence": [recorded_reference(ID, SHA)]})
    assert cited.evidence == [f"{ID}#sha256={SHA}"]


ROLES = ("buyer", "seller", "support", "auditor", "admin", "platform")
PEOPLE = ("p1", "p2", "p3")


@given(
    role=st.sampled_from(ROLES),
    actor_id=st.sampled_from(PEOPLE),
    uploader=st.tuples(st.sampled_from(("buyer", "seller", "support")), st.sampled_from(PEOPLE)),
    parties=st.none() | st.tuples(st.sampled_from(PEOPLE), st.sampled_from(PEOPLE)),
)
def test_reading_is_scoped_to_the_uploader_before_and_the_case_after(
    role: str, actor_id: str, uploader: tuple[str, str], parties: tuple[str, str] | None
) -> None:
    allowed = may_read(role=role, actor_id=actor_id, uploader=uploader, request_parties=parties)
    if parties is None:
        assert allowed == ((role, actor_id) == uploader)
    else:
        on_case = (role == "buyer" and actor_id == parties[0]) or (
            role == "seller" and actor_id == parties[1]
        )
        assert allowed == (role in ("support", "auditor") or on_case)
    if role in ("admin", "platform") and (role, actor_id) != uploader:
        assert not allowed


@given(
    role=st.sampled_from(("buyer", "seller", "support")),
    actor_id=st.sampled_from(PEOPLE),
    uploader=st.tuples(st.sampled_from(("buyer", "seller", "support")), st.sampled_from(PEOPLE)),
    owner=st.none() | st.sampled_from(("r1", "r2")),
    target=st.none() | st.sampled_from(("r1", "r2")),
    field=st.sampled_from(list(ReferenceField)),
    kind=st.sampled_from(list(MediaKind)),
)
def test_a_reference_is_accepted_only_for_ones_own_upload_or_the_cases_and_never_anothers_case(
    role: str,
    actor_id: str,
    uploader: tuple[str, str],
    owner: str | None,
    target: str | None,
    field: ReferenceField,
    kind: MediaKind,
) -> None:
    subject = facts(uploader_role=uploader[0], uploader_id=uploader[1], request_id=owner, kind=kind)
    try:
        check_reference(
            subject,
            actor_role=role,
            actor_id=actor_id,
            field=field,
            request_id=target,
            sha256=None,
            reference=ID,
        )
        accepted = True
    except (AttachmentNotUsable, AttachmentTaken):
        accepted = False
    mine = uploader == (role, actor_id)
    on_case = owner is not None and owner == target
    free_or_here = owner is None or owner == target
    photo_ok = field != ReferenceField.PHOTOS or (kind == MediaKind.IMAGE and mine)
    assert accepted == ((mine or on_case) and free_or_here and photo_ok)
