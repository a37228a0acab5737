"""Attachment upload figures (issue 21), each beside its raw baseline from the same run:

- upload throughput and latency of a 3 MB photo through `POST /v1/attachments` on the embedded
  server (SQLite + the filesystem blob store under its data folder): MB/s and p50/p95 per upload,
  beside writing the same bytes (sha256 + content-addressed put) to the same store from this process;
- the server's peak RSS (VmHWM) during a 50 MB video upload, on a fresh server, beside its peak
  before that upload: the upload is spooled to disk as it streams, never held whole in memory.

Each photo is distinct (random pixels), so every upload decodes, re-encodes and writes a new blob.
"""

from __future__ import annotations

import http.client
import io
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _vm(pid: int, field: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def noise_jpeg(megabytes: float, seed: int) -> bytes:
    import random

    from PIL import Image

    rng = random.Random(seed)
    # random pixels at quality 92 take about 0.9 bytes each
    side = int((2 * megabytes * 1024 * 1024 / 0.9) ** 0.5)
    height = side // 2
    image = Image.frombytes("RGB", (side, height), rng.randbytes(side * height * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def mp4(extra: int) -> bytes:
    """An ISO-BMFF head (`ftyp` isom) and an `mdat` box of `extra` zero bytes."""

    def box(kind: bytes, payload: bytes) -> bytes:
        return (8 + len(payload)).to_bytes(4, "big") + kind + payload

    return box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + box(b"mdat", b"\x00" * extra)


def _multipart(data: bytes, name: str, media_type: str) -> tuple[bytes, str]:
    boundary = "benchBoundary7d1f"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: {media_type}\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), boundary


def _post(port: int, token: str, data: bytes, name: str, media_type: str) -> tuple[int, float]:
    body, boundary = _multipart(data, name, media_type)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    connection.request(
        "POST",
        "/v1/attachments",
        body=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    return response.status, elapsed


class _Server:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        env = {
            **os.environ,
            "SUPPORT_DATA_DIR": str(folder),
            "SUPPORT_PORT": str(self.port),
            "SUPPORT_HOST": "127.0.0.1",
            "SUPPORT_LOG_LEVEL": "warning",
        }
        for name in ("SUPPORT_DATABASE_URL", "SUPPORT_SMTP_URL", "SUPPORT_NOTIFICATIONS_SMTP_URL"):
            env.pop(name, None)
        self.log = (folder / "server.log").open("w")
        self.process = subprocess.Popen(
            [str(REPO / ".venv/bin/seller-support"), "serve"],
            env=env,
            cwd=REPO,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def token(self, sub: str) -> str:
        from services.requests.settings import Settings

        return Settings(data_dir=self.folder).token_codec().encode(sub=sub, role="buyer")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self.log.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(photos: int = 20, photo_mb: float = 3.0, video_mb: float = 50.0) -> dict[str, Any]:
    from services.requests.attachments.storage import FilesystemBlobs, sha256_of

    folder = Path(tempfile.mkdtemp(prefix="bench-attachments-"))
    images = [noise_jpeg(photo_mb, seed) for seed in range(photos)]
    server = _Server(folder)
    try:
        token = server.token("bench-buyer")
        _post(server.port, token, noise_jpeg(0.2, 999), "warm.jpg", "image/jpeg")  # warm-up
        latencies = []
        started = time.perf_counter()
        for n, data in enumerate(images):
            status, elapsed = _post(server.port, token, data, f"p{n}.jpg", "image/jpeg")
            if status != 201:
                raise RuntimeError(f"upload answered {status}")
            latencies.append(elapsed)
        upload_s = time.perf_counter() - started
        server_peak = _vm(server.process.pid, "VmHWM")
    finally:
        server.stop()

    # Raw: the same bytes, hashed and put into the same store, from this process.
    store = FilesystemBlobs(folder / "attachments-raw")
    raw_latencies = []
    raw_started = time.perf_counter()
    for data in images:
        began = time.perf_counter()
        sha, _ = sha256_of(io.BytesIO(data))
        store.put(sha, io.BytesIO(data))
        raw_latencies.append(time.perf_counter() - began)
    raw_s = time.perf_counter() - raw_started
    total_mb = sum(len(d) for d in images) / 2**20

    # Peak RSS during a 50 MB video upload, on a fresh server.
    fresh = Path(tempfile.mkdtemp(prefix="bench-attachments-rss-"))
    server = _Server(fresh)
    try:
        token = server.token("bench-video")
        _post(server.port, token, mp4(1000), "warm.mp4", "video/mp4")
        before = _vm(server.process.pid, "VmHWM")
        video = mp4(int(video_mb * 2**20) - 64)
        status, video_s = _post(server.port, token, video, "big.mp4", "video/mp4")
        if status != 201:
            raise RuntimeError(f"50 MB upload answered {status}")
        after = _vm(server.process.pid, "VmHWM")
    finally:
        server.stop()
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(fresh, ignore_errors=True)
    mb_per_s = round(total_mb / upload_s, 1)
    raw_mb_per_s = round(total_mb / raw_s, 1)
    return {
        "photos": photos,
        "photo_mb": round(total_mb / photos, 2),
        "upload": {
            "mb_per_s": mb_per_s,
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(_percentile(latencies, 0.95) * 1000, 1),
        },
        "raw_write": {
            "mb_per_s": raw_mb_per_s,
            "p50_ms": round(statistics.median(raw_latencies) * 1000, 1),
            "p95_ms": round(_percentile(raw_latencies, 0.95) * 1000, 1),
        },
        "ratio": round(mb_per_s / raw_mb_per_s, 3),
        "server_peak_rss_mb_after_photos": server_peak,
        "video": {
            "bytes": len(video),
            "seconds": round(video_s, 2),
            "peak_rss_mb_before": before,
            "peak_rss_mb_during": after,
        },
    }


def markdown_rows(result: dict[str, Any]) -> list[str]:
    up, raw, video = result["upload"], result["raw_write"], result["video"]
    return [
        f"| attachment upload, {result['photos']} photos of {result['photo_mb']} MB (MB/s; "
        f"p50 / p95 ms) | **{up['mb_per_s']}**; {up['p50_ms']} / {up['p95_ms']} | "
        f"{raw['mb_per_s']}; {raw['p50_ms']} / {raw['p95_ms']} (sha256 + put, same store) | "
        f"{result['ratio']:.0%} |",
        f"| server peak RSS MiB during a {round(video['bytes'] / 2**20)} MB video upload | "
        f"**{video['peak_rss_mb_during']}** | {video['peak_rss_mb_before']} (before it) | "
        f"+{round((video['peak_rss_mb_during'] or 0) - (video['peak_rss_mb_before'] or 0), 1)} |",
    ]


if __name__ == "__main__":
    import json
    import sys

    sys.path.insert(0, str(REPO))
    print(json.dumps(run(photos=int(sys.argv[1]) if len(sys.argv) > 1 else 20), indent=2))
