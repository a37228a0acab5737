"""Issue 30: an embedded process loads only what embedded mode uses. The PDF stack (fpdf2, pypdf,
pikepdf, Pillow and its HEIF plug-in) is imported on the first dossier or upload that needs it,
kafka-python and psycopg only in distributed mode, Alembic only when a store must be migrated. Checked in a fresh
interpreter (`sys.modules`) that starts the embedded app on an empty data folder (the stores are
created) and then again on the same folder (the stores are current), and answers a request."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

LAZY = ("fpdf", "pypdf", "pikepdf", "PIL", "pillow_heif", "kafka", "psycopg", "alembic")

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from fastapi.testclient import TestClient
    from services.embedded import create_embedded_app
    from services.requests.settings import Settings

    settings = Settings(data_dir=Path(sys.argv[1]), timer_interval_seconds=0.2)
    with TestClient(create_embedded_app(settings)) as client:
        status = client.get("/healthz").status_code
    print(json.dumps({"status": status, "loaded": sorted(
        name for name in {m.split(".")[0] for m in sys.modules} if name in sys.argv[2:]
    )}))
    """
)


def _start_embedded(data_dir: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data_dir), *LAZY],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_embedded_process_started_twice_never_imports_the_pdf_kafka_psycopg_or_alembic_stacks(
    tmp_path: Path,
) -> None:
    # given an empty data folder; when the embedded app starts (creating every store) and serves
    first = _start_embedded(tmp_path)
    # and starts again on the same folder (every store current)
    second = _start_embedded(tmp_path)
    # then it answered, and none of the lazily imported libraries was loaded either time
    assert first == {"status": 200, "loaded": []}
    assert second == {"status": 200, "loaded": []}


def test_the_lazy_libraries_are_there_to_be_imported_when_needed() -> None:
    # given the same interpreter; when each library is imported, then it is installed (so the
    # first test proves laziness, not absence)
    done = subprocess.run(
        [sys.executable, "-c", f"import {', '.join(LAZY)}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
