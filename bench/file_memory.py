"""Server memory under files (issue 26, classes 3 and 4), each on a fresh embedded server, beside
the same run's baseline:

- **downloads**: N parallel downloads of one 50 MiB video through the web app's
  `/app/attachments/{id}`, beside the same N straight from the API's `/v1/attachments/{id}`
  (which streams from the blob store);
- **image uploads**: N parallel uploads of a 6300 x 6300 RGBA PNG of zeros (about 150 KB on the
  wire, 159 MB decoded), and of the largest such PNG the default decode bound accepts (5600 x 5600,
  120 MiB decoded), beside N parallel uploads of a 150 KB photo.

For each: the server's resident memory after warm-up, its peak while the N run (VmHWM), and its
resident memory 3 s after they finished (what was given back). `python -m bench.file_memory`
runs this section alone; `make bench` runs it too.
"""

from __future__ import annotations

import http.client
import io
import re
import shutil
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.attachments import _multipart, _post, _Server, _vm, mp4

LARGEST_ACCEPTED = 5600  # 5600² x 4 bytes = 120 MiB decoded, under the 128 MiB default bound


def zeros_png(side: int = 6300) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", (side, side)).save(buffer, "PNG")
    return buffer.getvalue()


def small_photo() -> bytes:
    from bench.attachments import noise_jpeg

    return noise_jpeg(0.15, 7)


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    size = 0
    while chunk := response.read(256 * 1024):
        size += len(chunk)
    connection.close()
    return response.status, size


def _sign_in(port: int, sub: str) -> str:
    """The web app's own sign-in (development mode): the session cookie header."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/app/")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("set-cookie", "").split(";")[0]
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    body = urllib.parse.urlencode({"csrf": csrf, "role": "buyer", "user_id": sub})
    connection.request(
        "POST",
        "/app/sign-in",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.getheader("set-cookie", "").split(";")[0]


def _phase(server: _Server, work: list[Any]) -> dict[str, Any]:
    """Run `work` (callables) in parallel; the server's memory before, peak during, and after."""
    pid = server.process.pid
    before = _vm(pid, "VmRSS")
    with ThreadPoolExecutor(len(work)) as pool:
        results = list(pool.map(lambda job: job(), work))
    peak = _vm(pid, "VmHWM")
    time.sleep(3)
    return {
        "rss_mb_before": before,
        "peak_rss_mb": peak,
        "rss_mb_after": _vm(pid, "VmRSS"),
        "statuses": sorted({r[0] for r in results}),
    }


def _downloads(parallel: int, video_mb: float, through_webapp: bool) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-file-memory-"))
    server = _Server(folder)
    try:
        sub = "bench-dl"
        token = server.token(sub)
        attachment_id = _upload_id(server.port, token, mp4(int(video_mb * 2**20) - 64))
        if through_webapp:
            cookie = _sign_in(server.port, sub)
            path, headers = f"/app/attachments/{attachment_id}", {"Cookie": cookie}
        else:
            path, headers = f"/v1/attachments/{attachment_id}", {"Authorization": f"Bearer {token}"}
        _get(server.port, path, headers)  # warm-up: one download
        return _phase(server, [lambda: _get(server.port, path, headers)] * parallel)
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _upload_id(port: int, token: str, data: bytes) -> str:
    import json

    body, boundary = _multipart(data, "v.mp4", "video/mp4")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request(
        "POST",
        "/v1/attachments",
        body=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    answer = json.loads(connection.getresponse().read())
    connection.close()
    return str(answer["id"])


def _uploads(parallel: int, data: bytes, media_type: str) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-file-memory-"))
    server = _Server(folder)
    try:
        token = server.token("bench-up")
        _post(server.port, token, small_photo(), "warm.jpg", "image/jpeg")
        jobs = [
            (lambda n=n: _post(server.port, server.token(f"bench-up-{n}"), data, "x", media_type))
            for n in range(parallel)
        ]
        return _phase(server, jobs)
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def run(
    parallel_downloads: int = 6,
    parallel_uploads: int = 4,
    video_mb: float = 50,
    side: int = 6300,
    accepted_side: int = LARGEST_ACCEPTED,
) -> dict:
    """`side`, `accepted_side`: the two PNGs' edges (smaller in `make bench --quick`)."""
    bomb = zeros_png(side)
    return {
        "parallel_downloads": parallel_downloads,
        "video_mb": video_mb,
        "downloads_api": _downloads(parallel_downloads, video_mb, through_webapp=False),
        "downloads_webapp": _downloads(parallel_downloads, video_mb, through_webapp=True),
        "parallel_uploads": parallel_uploads,
        "side": side,
        "png_bytes": len(bomb),
        "uploads_small_photo": _uploads(parallel_uploads, small_photo(), "image/jpeg"),
        "uploads_zeros_png": _uploads(parallel_uploads, bomb, "image/png"),
        # the largest RGBA image the default decode bound takes: what N at a time still cost
        "accepted_side": accepted_side,
        "uploads_largest_accepted_png": _uploads(
            parallel_uploads, zeros_png(accepted_side), "image/png"
        ),
    }


def markdown_rows(result: dict[str, Any]) -> list[str]:
    def cell(phase: dict[str, Any]) -> str:
        return (
            f"{phase['rss_mb_before']} → peak **{phase['peak_rss_mb']}** → "
            f"{phase['rss_mb_after']} (HTTP {'/'.join(map(str, phase['statuses']))})"
        )

    n, m = result["parallel_downloads"], result["parallel_uploads"]
    return [
        f"| server RSS MiB, {n} parallel downloads of a {result['video_mb']} MiB video through "
        f"the web app (before → peak → 3 s after) | {cell(result['downloads_webapp'])} | "
        f"{cell(result['downloads_api'])} (same, from the API) | |",
        f"| server RSS MiB, {m} parallel uploads of a {result['side']}² RGBA PNG of zeros "
        f"({round(result['png_bytes'] / 1024)} KB) | {cell(result['uploads_zeros_png'])} | "
        f"{cell(result['uploads_small_photo'])} ({m} parallel 150 KB photos) | |",
        f"| server RSS MiB, {m} parallel uploads of a {result['accepted_side']}² RGBA PNG of "
        f"zeros | {cell(result['uploads_largest_accepted_png'])} | "
        f"{cell(result['uploads_small_photo'])} ({m} parallel 150 KB photos) | |",
    ]


if __name__ == "__main__":
    import json

    figures = run()
    print(json.dumps(figures, indent=2))
    print("\n".join(markdown_rows(figures)))
