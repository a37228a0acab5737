"""The web app's `/app/attachments/{id}` (and `/thumbnail`): the API's file, streamed through with
the API's guards (issue 26, class 3).

An `<img>` or a download link cannot send the bearer token, so the web app fetches the file with
the user's token and passes it on. It used to read the whole file into memory (six parallel
downloads of a 50 MiB video took the process from 263 to 860 MiB) and answer with only its own
headers: a PDF came `inline`, from the app's own origin, without the API's `sandbox` CSP. Now the
body is relayed chunk by chunk as the API sends it, and the API's headers that keep a file from
running in the app's origin go with it: `Content-Type`, `Content-Disposition` (`attachment` for
PDFs and videos), `Content-Security-Policy: default-src 'none'; sandbox`, `X-Content-Type-Options:
nosniff`, `Cross-Origin-Resource-Policy`, the length, `ETag` and `Cache-Control` (a conditional
request's `If-None-Match` is passed to the API, whose 304 comes back as is).
"""

from __future__ import annotations

import httpx
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from services.webapp.client import ApiClient, ApiError, ApiUnavailable

PASSED_ON = (
    "content-type",
    "content-length",
    "content-encoding",
    "content-disposition",
    "content-security-policy",
    "x-content-type-options",
    "cross-origin-resource-policy",
    "etag",
    "cache-control",
    "last-modified",
)
CHUNK = 64 * 1024


async def proxy_file(
    api: ApiClient, path: str, if_none_match: str | None, *, token: str
) -> Response:
    """GET `path` from the API with `token` and stream the answer on; an error status raises
    `ApiError` (401 included, which the caller turns into a sign-out)."""
    headers = {"Authorization": f"Bearer {token}"}
    if if_none_match:
        headers["If-None-Match"] = if_none_match
    request = api.http.build_request("GET", path, headers=headers)
    try:
        response = await api.http.send(request, stream=True)
    except httpx.HTTPError as error:
        raise ApiUnavailable(503, f"the service could not be reached ({error})") from None
    if response.status_code >= 400:
        try:
            await response.aread()
        finally:
            await response.aclose()
        raise _error_of(response)
    passed = {name: value for name in PASSED_ON if (value := response.headers.get(name))}
    if response.status_code == 304:
        await response.aclose()
        passed.pop("content-length", None)
        return Response(status_code=304, headers=passed)
    return StreamingResponse(
        response.aiter_raw(CHUNK),
        status_code=response.status_code,
        headers=passed,
        background=BackgroundTask(response.aclose),
    )


def _error_of(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
        detail = str(body.get("detail") or "") if isinstance(body, dict) else ""
        title = str(body.get("title") or "") if isinstance(body, dict) else ""
    except ValueError:
        detail, title = "", ""
    return ApiError(response.status_code, detail or response.reason_phrase, title)
