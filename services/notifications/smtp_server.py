"""A real local SMTP server (aiosmtpd) that keeps every message it receives as a file.

    python -m services.notifications.smtp_server [--host 127.0.0.1] [--port 8025] [--data-dir var]

Each message is written to `<data dir>/mail/<UTC time>-<n>-<recipient>.eml` (the raw RFC 5322
message with `X-Peer`, `X-MailFrom` and `X-RcptTo` added by aiosmtpd), one file per recipient, so a
person can read what the system sent with any mail reader or `cat`. The file appears atomically
(written to a temporary name, then renamed). The process prints one line `smtp-server listening on
HOST:PORT, storing mail in DIR` once it accepts connections, and stops on SIGTERM/SIGINT.

`start_process(...)` runs it as a subprocess and waits until it listens (tests, `make run`).
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

READY_PREFIX = "smtp-server listening on"
_counter = itertools.count(1)
_SAFE = re.compile(r"[^A-Za-z0-9._@+-]")


class MaildirHandler:
    """Stores each received message under `mail_dir`, one file per recipient: the bytes as received
    (LF line ends), with `X-Peer`, `X-MailFrom` and `X-RcptTo` added at the end of the header block
    (where aiosmtpd's `Message` handler puts them). Parsing every message into an `email.message.Message`
    and generating it again was most of this server's CPU per e-mail, for nothing it needed."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir
        self.mail_dir.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = _with_envelope_headers(envelope.original_content, session.peer, envelope)
        self.store(raw, envelope.rcpt_tos)
        return "250 OK"

    def store(self, raw: bytes, recipients: list[str]) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        for recipient in recipients or ["unknown"]:
            name = f"{stamp}-{next(_counter):06d}-{_SAFE.sub('_', recipient)}.eml"
            temporary = self.mail_dir / f".{name}.tmp"
            temporary.write_bytes(raw)
            os.replace(temporary, self.mail_dir / name)


def _with_envelope_headers(content: bytes, peer: Any, envelope: Any) -> bytes:
    """Line ends as a Unix mail file has them (LF), as the server always wrote them."""
    envelope_headers = (
        ("X-Peer", str(peer)),
        ("X-MailFrom", envelope.mail_from),
        ("X-RcptTo", ", ".join(envelope.rcpt_tos)),
    )
    added = "".join(f"{name}: {value}\n" for name, value in envelope_headers).encode()
    head, _, body = content.replace(b"\r\n", b"\n").partition(b"\n\n")
    return head.rstrip(b"\n") + b"\n" + added + b"\n" + body


def serve(host: str, port: int, data_dir: Path, parent_pid: int | None = None) -> None:
    """Serve until SIGTERM/SIGINT, or, given `parent_pid`, until that parent process is gone."""
    mail_dir = data_dir / "mail"
    controller = Controller(MaildirHandler(mail_dir), hostname=host, port=port)
    controller.start()
    stop = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if parent_pid is not None:
        # A parent killed by a signal runs no cleanup: without this the server would outlive it.
        def _watch_parent() -> None:
            while not stop.wait(1.0):
                if os.getppid() != parent_pid:
                    stop.set()

        threading.Thread(target=_watch_parent, daemon=True).start()
    print(f"{READY_PREFIX} {host}:{port}, storing mail in {mail_dir}", flush=True)
    try:
        stop.wait()
    finally:
        controller.stop()


def main(argv: list[str] | None = None) -> int:
    from services.notifications.settings import SmtpServerSettings

    settings = SmtpServerSettings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument("--data-dir", type=Path, default=settings.data_dir)
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when the process that started this one exits",
    )
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.data_dir, os.getppid() if args.exit_with_parent else None)
    return 0


# --- running it as a process ----------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def start_process(
    data_dir: Path, host: str = "127.0.0.1", port: int | None = None, timeout: float = 20.0
) -> tuple[subprocess.Popen[str], int]:
    """Start the server in a subprocess and return it with its port once it accepts connections."""
    port = port or free_port(host)
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "smtp-server.log", "ab") as log_file:
        process = _spawn(host, port, data_dir, log_file)
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith(READY_PREFIX):
            return process, port
        if not line and process.poll() is not None:
            break
    process.kill()
    raise RuntimeError(
        f"the SMTP server did not start on {host}:{port}; see {data_dir / 'smtp-server.log'}"
    )


def _spawn(host: str, port: int, data_dir: Path, log_file: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.notifications.smtp_server",
            "--host",
            host,
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--exit-with-parent",
        ],
        stdout=subprocess.PIPE,
        stderr=log_file,
        text=True,
    )


def stop_process(process: subprocess.Popen[str], timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


def read_mailbox(data_dir: Path) -> list[Message]:
    """Every stored message, oldest first."""
    mail_dir = data_dir / "mail"
    if not mail_dir.is_dir():
        return []
    return [
        message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in sorted(mail_dir.glob("*.eml"))
    ]


if __name__ == "__main__":
    sys.exit(main())
