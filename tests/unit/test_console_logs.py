"""Development's console (issue 24): `seller-support serve` prints one short human line per request
and per event; JSON lines stay production's default and behind SUPPORT_LOG_FORMAT=json."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from services.cli import serve_log_format
from services.requests.settings import Settings
from shared.observability import configure_logging, get_logger


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _request_line(stream: io.StringIO, log_format: str) -> str:
    configure_logging("INFO", stream=stream, force=True, log_format=log_format)
    get_logger("test.http").info(
        "http request",
        method="POST",
        path="/v1/support-requests",
        route="/v1/support-requests",
        status=201,
        duration_ms=12.4,
        request_id="r-1",
        trace_id="0af7651916cd43dd8448eb211c80319c",
    )
    return stream.getvalue()


def test_console_prints_one_short_line_per_request(restore_logging: None) -> None:
    # Given the console format on a stream that is not a terminal (a pipe, a file)
    # When a request is logged
    out = _request_line(io.StringIO(), "console")
    # Then it is one human line: method, path, status and time; no JSON, no ids, no colour codes
    assert out.count("\n") == 1
    assert "POST /v1/support-requests 201 12 ms" in out
    assert not out.lstrip().startswith("{") and "0af76519" not in out and "r-1" not in out
    assert "\x1b[" not in out


def test_console_is_coloured_in_a_terminal(restore_logging: None) -> None:
    out = _request_line(Terminal(), "console")
    assert "POST /v1/support-requests 201 12 ms" in out and "\x1b[" in out


def test_json_keeps_every_field_on_one_json_line(restore_logging: None) -> None:
    # When the JSON format logs the same request
    line = json.loads(_request_line(io.StringIO(), "json"))
    # Then the line is today's JSON object with its ids for machines
    assert line["event"] == "http request" and line["status"] == 201
    assert line["request_id"] == "r-1" and line["trace_id"].startswith("0af7")


def test_standard_library_lines_are_short_too(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream, force=True, log_format="console")
    logging.getLogger("uvicorn.error").info("Application startup complete.")
    logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
    assert "Application startup complete." in stream.getvalue()
    assert "SQLiteImpl" not in stream.getvalue()  # alembic's chatter is quiet in the console


def test_console_leaves_out_each_projections_event_applied_line(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream, force=True, log_format="console")
    get_logger("shared.transport.projection").info("event applied", projection="search")
    get_logger("shared.transport.projection").info("events applied", projection="search")
    get_logger("services.requests.main").info("timers fired", fired=2)
    assert "event applied" not in stream.getvalue()
    assert "events applied" not in stream.getvalue()
    assert "timers fired" in stream.getvalue() and "fired=2" in stream.getvalue()


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, "console"),  # make run: read by a person
        ({"SUPPORT_LOG_FORMAT": "json"}, "json"),
        ({"SUPPORT_PRODUCTION": "1", "SUPPORT_JWT_SECRET": "x" * 32}, "json"),
        (
            {
                "SUPPORT_PRODUCTION": "1",
                "SUPPORT_JWT_SECRET": "x" * 32,
                "SUPPORT_LOG_FORMAT": "console",
            },
            "console",
        ),
    ],
)
def test_serve_defaults_to_console_in_development_and_json_in_production(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name in ("SUPPORT_LOG_FORMAT", "SUPPORT_PRODUCTION", "SUPPORT_JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert serve_log_format(Settings()) == expected


def test_an_unknown_log_format_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="log_format"):
        Settings()
