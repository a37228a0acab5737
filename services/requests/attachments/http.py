"""Routes of attachments: `POST /v1/attachments`, `GET /v1/attachments/{id}` and `/thumbnail`.

The upload streams (`uploads.receive`) and is checked, cleaned and stored in a worker thread; the
downloads stream from the blob store with headers that keep a file from ever running in the app's
origin: the stored media type, `nosniff`, a sandboxing Content-Security-Policy, and `attachment`
disposition for everything but images.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import ClientDisconnect

from services.requests.application import Actor
from services.requests.attachments.application import Attachments, Stored
from services.requests.attachments.domain import (
    ACCEPTED,
    STORED_IMAGE_TYPE,
    THUMBNAIL_TYPE,
    AttachmentError,
    AttachmentNotFound,
    EmptyFile,
    FileTooLarge,
    MalformedUpload,
    QuotaExceeded,
    UnsafeOrBrokenFile,
    UnsupportedMediaType,
    disposition,
    is_attachment_id,
)
from services.requests.attachments.dossier import DossierData, Picture, render
from services.requests.attachments.uploads import receive
from services.requests.http.views import request_view
from shared.auth import Principal, require_roles
from shared.problems import ProblemError, problem_responses

UPLOAD_PATH = "/v1/attachments"
CSP = "default-src 'none'; sandbox"
STORED = sorted({STORED_IMAGE_TYPE.get(kind, kind) for kind in ACCEPTED})
# Room for the multipart framing and small other parts beside the largest accepted file.
MULTIPART_OVERHEAD = 128 * 1024

STATUS: dict[type[AttachmentError], int] = {
    MalformedUpload: 400,
    EmptyFile: 422,
    UnsupportedMediaType: 415,
    FileTooLarge: 413,
    UnsafeOrBrokenFile: 422,
    QuotaExceeded: 429,
    AttachmentNotFound: 404,
}

router = APIRouter(prefix="/v1", tags=["attachments"])

Uploader = Annotated[Principal, Depends(require_roles("buyer", "seller", "support"))]
Reader = Annotated[Principal, Depends(require_roles("buyer", "seller", "support", "auditor"))]


def is_streamed_upload(scope: dict) -> bool:
    """The one route whose body is not buffered by the body-limit middleware: it streams."""
    return scope.get("method") == "POST" and scope.get("path") == UPLOAD_PATH


async def _attachments(request: Request) -> Attachments:
    return request.app.state.attachments


Service = Annotated[Attachments, Depends(_attachments)]


class AttachmentBody(BaseModel):
    id: str = Field(description="`att_` and 32 hex digits; name it in photos/evidence/attachments")
    media_type: str = Field(description="the stored type (HEIC photos are stored as JPEG)")
    bytes: int
    sha256: str = Field(description="of the stored bytes (images after EXIF removal)")
    width: int | None = None
    height: int | None = None
    thumbnail: str | None = Field(default=None, description="path of the 320 px JPEG thumbnail")


def _problem(error: AttachmentError) -> ProblemError:
    for cls in type(error).__mro__:
        if cls in STATUS:
            status = STATUS[cls]
            break
    else:
        status = 422
    headers = {"Retry-After": "3600"} if status == 429 else None
    slug = {
        400: "malformed-upload",
        413: "file-too-large",
        415: "unsupported-media-type",
        429: "upload-quota-exceeded",
        404: "attachment-not-found",
    }.get(status, "unacceptable-file")
    return ProblemError(status, str(error), slug=slug, headers=headers)


@router.post(
    "/attachments",
    status_code=201,
    response_model=AttachmentBody,
    responses={
        200: {"model": AttachmentBody, "description": "the same bytes, already uploaded by you"},
        **problem_responses(400, 401, 403, 413, 415, 422, 429),
    },
    summary="Upload a photo, video or PDF (multipart/form-data, part `file`)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def upload_attachment(request: Request, uploader: Uploader, service: Service) -> Response:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > service.limits.largest + MULTIPART_OVERHEAD:
        # Refused before a byte is read: no accepted file is that large.
        raise ProblemError(
            413,
            f"files may be at most {service.limits.largest} bytes; this body is larger",
            slug="file-too-large",
        )
    try:
        upload = await receive(
            request.stream(),
            request.headers.get("content-type", ""),
            service.limits,
            service.spool_dir,
        )
    except AttachmentError as error:
        raise _problem(error) from None
    except ClientDisconnect:
        raise ProblemError(400, "the upload was cut off", slug="malformed-upload") from None
    try:
        stored, created = await run_in_threadpool(
            service.upload, uploader.role, uploader.sub, upload
        )
    except AttachmentError as error:
        raise _problem(error) from None
    finally:
        upload.close()
    return JSONResponse(
        stored.body(),
        status_code=201 if created else 200,
        headers={"Location": f"/v1/attachments/{stored.id}"},
    )


def _download(
    service: Attachments, sha256: str, media_type: str, size: int | None, request: Request
) -> Response:
    etag = f'"{sha256}"'  # the bytes never change under a hash
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": "private"})
    headers = {
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": CSP,
        "Content-Disposition": disposition(media_type),
        "Cache-Control": "private, max-age=3600",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    if size is not None:
        headers["Content-Length"] = str(size)
    return StreamingResponse(
        iterate_in_threadpool(service.content(sha256)), media_type=media_type, headers=headers
    )


def _readable(service: Attachments, attachment_id: str, caller: Principal) -> Stored:
    if not is_attachment_id(attachment_id):
        raise ProblemError(404, f"no attachment {attachment_id}", slug="attachment-not-found")
    try:
        return service.readable(attachment_id, caller.role, caller.sub)
    except AttachmentNotFound as error:
        raise _problem(error) from None


@router.get(
    "/attachments/{attachment_id}",
    responses={
        200: {
            # every type a file is stored as (HEIC photos are stored as JPEG), issue 26
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}} for kind in STORED
            },
            "description": "the file, as the stored media type",
        },
        304: {"description": "unchanged since the `If-None-Match` ETag (the sha256)"},
        **problem_responses(401, 403, 404),
    },
    response_class=Response,
    summary="An attachment's bytes (the request's parties, support, auditors; the uploader)",
)
def read_attachment(
    attachment_id: str, caller: Reader, service: Service, request: Request
) -> Response:
    stored = _readable(service, attachment_id, caller)
    return _download(service, stored.sha256, stored.media_type, stored.bytes, request)


@router.get(
    "/attachments/{attachment_id}/thumbnail",
    responses={
        200: {"content": {THUMBNAIL_TYPE: {}}, "description": "a 320 px JPEG"},
        304: {"description": "unchanged since the `If-None-Match` ETag"},
        **problem_responses(401, 403, 404),
    },
    response_class=Response,
    summary="An image attachment's 320 px thumbnail",
)
def read_thumbnail(
    attachment_id: str, caller: Reader, service: Service, request: Request
) -> Response:
    stored = _readable(service, attachment_id, caller)
    if stored.thumbnail_sha256 is None:
        raise ProblemError(
            404,
            f"attachment {attachment_id} is not an image: it has no thumbnail",
            slug="attachment-not-found",
        )
    return _download(service, stored.thumbnail_sha256, THUMBNAIL_TYPE, None, request)


# --- the case dossier -------------------------------------------------------------------------------

Investigator = Annotated[Principal, Depends(require_roles("support", "auditor"))]


@router.get(
    "/support-requests/{request_id}/dossier",
    responses={
        200: {"content": {"application/pdf": {}}, "description": "the case dossier (PDF)"},
        **problem_responses(401, 403, 404),
    },
    response_class=Response,
    tags=["support requests"],
    summary="One PDF with everything about a request (support, auditor)",
)
def case_dossier(
    request_id: str, caller: Investigator, request: Request, service: Service
) -> Response:
    requests = request.app.state.requests
    actor = Actor(caller.role, caller.sub)
    state = requests.get_request(request_id, actor)  # 404 for an unknown request
    history = requests.history(request_id, actor)
    pictures = [
        Picture(
            stored.id,
            stored.media_type,
            stored.bytes,
            stored.sha256,
            None
            if stored.thumbnail_sha256 is None
            else b"".join(service.content(stored.thumbnail_sha256)),
        )
        for stored in service.of_request(str(state.id))
    ]
    ledger: list[dict] | None = None
    note = ""
    entries = getattr(request.app.state, "ledger_entries", None)
    if entries is None:
        note = "no ledger is reachable from this process (set SUPPORT_LEDGER_URL)"
    else:
        token = request.headers.get("authorization", "").partition(" ")[2].strip()
        try:
            ledger = entries(state.seller_id, str(state.id), caller.role, caller.sub, token)
        except Exception as error:  # the dossier still helps without the ledger: say why
            note = f"the ledger could not be read ({type(error).__name__}: {error})"
    view = request_view(state, caller.role, request.app.state.clock.now())
    pdf = render(
        DossierData(
            request=view,
            order=requests.order(state.order_id),
            history=history,
            messages=list(state.messages),
            pictures=pictures,
            ledger=ledger,
            ledger_note=note,
            generated_at=request.app.state.clock.now(),
        )
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="dossier-{state.id}.pdf"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": CSP,
            "Cache-Control": "no-store",
        },
    )
