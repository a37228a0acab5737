"""The fault-injection suite (issue 18): the distributed system as `make up` runs it — on a Kafka
broker and a PostgreSQL cluster of its own — under a bounded load of clients retrying with
`Idempotency-Key`, hurt at random moments with no hand restart: kill -9 of the relay, of each
projection service, of the mail sender mid-round, of the upstream consumer and of the requests API
while facts and commands flow; processes restarted while the broker is down; the broker stopped;
PostgreSQL stopped. Drained, the invariants must hold (tests/chaos/invariants.py), and the figures
go to a report in var/chaos (`make chaos`; `make chaos-publish` puts it in docs/reliability.md).

`CHAOS_PROFILE=short` (what `make test` runs: a few faults, a few minutes) or `full`; `CHAOS_SEED`
fixes the random moments (the seed is printed and written in the report); `CHAOS_REPORT` names the
report file (default: var/chaos/reliability-<profile>.md; never the tracked docs: `make chaos-publish`
copies a full run's report to docs/reliability.md with its seed); `CHAOS_FAULTS` replaces the profile's list
(comma-separated, e.g. `kill ledger,postgres down`); `CHAOS_KEEP=1` leaves the PostgreSQL cluster
and the run's logs and mail (var/chaos/run-*) to look at; CHAOS_KAFKA_PORT, CHAOS_KAFKA_CONTROLLER_PORT,
CHAOS_PG_CLUSTER, CHAOS_PG_PORT, CHAOS_PORT_BASE place its own infrastructure (tests/chaos/system.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.chaos import report_notes
from tests.chaos.invariants import Findings, check, drain
from tests.chaos.load import Load
from tests.chaos.system import REPO, ChaosConfig, ChaosSystem, FaultRecord

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


@dataclass(frozen=True)
class Profile:
    name: str
    journeys: int
    workers: int
    pace_s: float
    broker_outage_s: float
    postgres_outage_s: float
    faults: tuple[str, ...]
    gap_s: tuple[float, float]  # random wait between one fault's recovery and the next fault


PROFILES = {
    "short": Profile(
        "short",
        journeys=60,
        workers=2,
        pace_s=3.0,
        broker_outage_s=10,
        postgres_outage_s=8,
        # (and the requests API killed while timers fire, in every profile)
        faults=(
            "kill relay",
            "kill requests-api",
            "broker down, ledger restarted",
            "postgres down",
            "kill gateway",
        ),
        gap_s=(2, 5),
    ),
    "full": Profile(
        "full",
        journeys=1000,
        workers=2,
        pace_s=2.5,
        broker_outage_s=30,
        postgres_outage_s=20,
        faults=(
            "kill relay",
            "kill ledger",
            "kill ratings",
            "kill notifications mid-round",
            "kill requests-upstream",
            "kill requests-api",
            "broker down, relay + ledger + ratings restarted",
            "postgres down",
            "kill relay",
            "kill requests-api",
            "kill notifications mid-round",
            "kill gateway",
        ),
        gap_s=(4, 12),
    ),
}

PROGRAM = {
    "relay": "requests-relay",
    "ledger": "ledger",
    "ratings": "ratings",
    "notifications": "notifications",
    "requests-upstream": "requests-upstream",
    "requests-api": "requests-api",
    "gateway": "gateway",
}


def _mail_in_flight(system: ChaosSystem) -> bool:
    from sqlalchemy import create_engine, text

    engine = create_engine(system.config.database_url("notifications"))
    try:
        with engine.connect() as conn:
            return bool(
                conn.execute(
                    text("select count(*) from notif_outbox where status = 'sending'")
                ).scalar_one()
            )
    except Exception:
        return False
    finally:
        engine.dispose()


def inject(system: ChaosSystem, profile: Profile, fault: str) -> FaultRecord:
    """Inject one fault; returns its record once the system is ready again."""
    if fault.startswith("kill "):
        name = fault.removeprefix("kill ").removesuffix(" mid-round")
        mid_round = None
        if fault.endswith("mid-round"):
            # wait (a little) for a round that is sending e-mail right now
            mid_round = system.wait_until(lambda: _mail_in_flight(system), 15, 0.05) is not None
        record = system.record(fault, mid_round=mid_round)
        record.notes["pid"] = system.kill9(PROGRAM[name])
        record.ended = time.monotonic()
    elif fault.startswith("broker down"):
        record = system.record(fault, outage_s=profile.broker_outage_s)
        system.kafka_stop()
        restarted = [PROGRAM[n] for n in ("relay", "ledger", "ratings") if n in fault]
        time.sleep(min(3.0, profile.broker_outage_s / 3))  # not a wait: the outage lasts
        if restarted:
            system.restart(*restarted)  # started while the broker is down: they must wait for it
        outage_left = max(0.0, profile.broker_outage_s - (time.monotonic() - record.started))
        time.sleep(outage_left)  # not a wait: the outage lasts its length
        system.kafka_start()
        record.ended = time.monotonic()
    elif fault == "postgres down":
        record = system.record(fault, outage_s=profile.postgres_outage_s)
        system.pg_stop()
        time.sleep(profile.postgres_outage_s)  # not a wait: the outage lasts its length
        system.pg_start()
        record.ended = time.monotonic()
    else:  # pragma: no cover - a typo in a profile
        raise AssertionError(f"unknown fault {fault!r}")
    system.recovered(record)
    if fault == "kill gateway":  # issue 26: the port answers from a fresh nginx, no orphan on it
        record.notes["listeners"] = system.gateway_listeners()
        assert record.notes["listeners"] == {system.service_pid("gateway")} != {record.notes["pid"]}
    return record


def advance_clock_and_kill_the_api(system: ChaosSystem, load: Load) -> FaultRecord:
    """Timers: the admin clock moves past every deadline while the API is killed mid-way; then
    moved again. Each timer must still fire exactly once."""
    url = f"http://127.0.0.1:{system.config.ports['requests-api']}/v1/admin/clock"
    headers = {"Authorization": f"Bearer {load.token('admin', 'chaos')}"}

    def advance() -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(url, json={"advance": "P10D"}, headers=headers, timeout=120)

    def now() -> datetime | None:
        with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
            answer = httpx.get(url, headers=headers, timeout=10)
            return datetime.fromisoformat(answer.json()["now"])
        return None

    before = now()
    assert before is not None, "the requests API did not tell its clock before the advance"
    thread = threading.Thread(target=advance, daemon=True)
    thread.start()
    # the kill must land after the advance: poll the clock until it shows the 10 days moved
    landed = system.wait_until(
        lambda: (moved := now()) is not None and moved >= before + timedelta(days=10),
        timeout_s=60,
        poll_s=0.05,
    )
    assert landed is not None, "the clock advance (P10D) did not land within 60s"
    record = system.record("kill requests-api while timers fire")
    record.notes["pid"] = system.kill9("requests-api")
    record.ended = time.monotonic()
    thread.join(timeout=120)
    system.recovered(record)
    for _ in range(3):  # the clock restarts with the process: move it again
        try:
            answer = httpx.post(url, json={"advance": "P10D"}, headers=headers, timeout=300)
            record.notes["second_advance"] = answer.status_code
            if answer.status_code < 500:
                break
        except httpx.HTTPError as error:
            record.notes["second_advance"] = type(error).__name__
        time.sleep(3)
    return record


def window_failures(load: Load, record: FaultRecord) -> Counter[str]:
    end = record.recovered or time.monotonic()
    return Counter(
        a.outcome
        for a in load.attempts
        if record.started <= a.at <= end
        and not a.outcome.startswith(("2",))
        and not a.op.startswith("probe")
    )


def write_report(
    path: Path,
    profile: Profile,
    seed: int,
    system: ChaosSystem,
    load: Load,
    findings: Findings,
    started: float,
    up_s: float,
    load_s: float,
) -> None:
    statuses = Counter(a.outcome for a in load.attempts)
    incomplete = Counter(j.failed for j in load.journeys if j.failed)
    lines = [
        "# Reliability under faults",
        "",
        "Figures of the fault-injection suite (`make chaos`, tests/chaos/; issue 18). The system runs",
        "as `make up` starts it (supervisord, deploy/up.sh) on a Kafka broker and a PostgreSQL cluster",
        "of its own; clients retry every command with its `Idempotency-Key`; faults come at random",
        "moments and nothing is restarted by hand. `make chaos` writes this report to",
        "var/chaos/reliability-full.md; `make chaos-publish` copies it here with its seed",
        "(`CHAOS_SEED=<seed> make chaos` repeats the run's random moments).",
        "",
        f"- run: profile `{profile.name}`, seed {seed}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores shared with other work",
        f"- `make up` took {up_s:.0f} s; the load ran {load_s:.0f} s; the whole run "
        f"{time.monotonic() - started:.0f} s",
        f"- journeys: {len(load.journeys)} (full refund, partial refund accepted, refusal "
        f"escalated and decided, seller silent), {sum(1 for j in load.journeys if j.failed)} "
        f"not completed ({dict(incomplete) or 'none'})",
        f"- commands sent: {load.commands}; HTTP attempts (retries and probes included): "
        f"{len(load.attempts)}",
        f"- answers: {dict(sorted(statuses.items()))}",
        f"- error probes (expected->got): {dict(sorted(load.probes.items()))}",
        f"- idempotency keys stuck on 409 'still running' for > 30 s: {load.stuck_keys}",
        "",
        "## Faults",
        "",
        "| # | fault | at (s) | fault lasted (s) | recovery (s) | failed attempts in the window |",
        "|---|---|---|---|---|---|",
    ]
    for n, record in enumerate(system.faults, 1):
        lasted = (record.ended or record.started) - record.started
        recovery = f"{record.recovery_s:.1f}" if record.recovery_s is not None else "never"
        failures = dict(window_failures(load, record)) or "none"
        extra = " (no round caught sending)" if record.notes.get("mid_round") is False else ""
        lines.append(
            f"| {n} | {record.name}{extra} | {record.started - started:.0f} | {lasted:.1f} | "
            f"{recovery} | {failures} |"
        )
    lines += [
        "",
        "Recovery: from the end of the fault (the kill, the broker or database back) until every",
        "service answers `/readyz` 200 and supervisord shows every program running. A failed",
        "attempt is an HTTP attempt of a command answered 5xx or not at all; the client retried it",
        "with the same `Idempotency-Key`, and the journeys above say how many were given up on.",
        "A `kill … mid-round` waits (up to 15 s) for the mailer to hold claimed e-mails, then kills.",
        "",
        "## Invariants, once drained",
        "",
        f"- drained in {findings.drain_s:.0f} s after the last fault"
        if findings.drain_s is not None
        else "- NOT drained within the timeout",
        f"- events stored: {findings.stored_events}; on Kafka (distinct ids): {findings.on_kafka}; "
        f"lost: **{findings.lost}**; re-published duplicates on the wire (same `ce_id`, "
        f"applied once): {findings.wire_duplicates}",
        f"- ledger: {findings.ledger_checked} sellers checked against the cost table, missing "
        f"**{findings.ledger_missing}**, double **{findings.ledger_double}**, "
        f"{findings.ledger_uncertain} journeys left mid-way not checked",
        f"- e-mails delivered: {findings.emails} distinct; duplicates: **{findings.email_duplicates}**"
        f" (bound: one per mailer crash or database outage); outbox {findings.outbox}",
        f"- timers fired: {findings.timers_fired}; fired twice: **{findings.timer_duplicates}**",
        f"- parked events: {findings.parked}",
        f"- `audit verify`: exit {findings.audit_verify}; `audit rebuild --compare`: exit "
        f"{findings.audit_rebuild}",
        "",
        *report_notes.LINES,
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


def test_the_system_recovers_from_every_fault_alone_and_loses_or_doubles_nothing() -> None:
    profile = PROFILES[os.environ.get("CHAOS_PROFILE", "short").strip() or "short"]
    if os.environ.get("CHAOS_FAULTS", "").strip():  # e.g. "kill ledger,postgres down"
        faults = tuple(f.strip() for f in os.environ["CHAOS_FAULTS"].split(",") if f.strip())
        profile = dataclasses.replace(profile, faults=faults)
    keep = os.environ.get("CHAOS_KEEP", "") == "1"  # leave the databases and logs to look at
    seed = int(os.environ.get("CHAOS_SEED", "") or random.SystemRandom().randrange(10**6))
    chooser = random.Random(seed)
    run_dir = REPO / "var" / "chaos" / f"run-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    run_dir.mkdir(parents=True)
    for old in sorted((REPO / "var" / "chaos").glob("run-*"))[:-3]:  # the last three stay
        shutil.rmtree(old, ignore_errors=True)
    # The report goes to var/ (never the tracked docs/): `make chaos-publish` copies a full run's
    # report to docs/reliability.md with its seed (tests/chaos/publish.py).
    report = Path(
        os.environ.get("CHAOS_REPORT", "")
        or REPO / "var" / "chaos" / f"reliability-{profile.name}.md"
    )
    print(
        f"chaos: profile {profile.name}, seed {seed} (CHAOS_SEED={seed} repeats it), report {report}"
    )
    system = ChaosSystem(ChaosConfig(run_dir))
    started = time.monotonic()
    findings = Findings()
    try:
        # given the system of its own, up under supervisord
        system.start_postgres()
        system.kafka_start()
        up_s = system.up()
        assert system.wait_until(system.all_ready, 120) is not None, system.not_ready()
        # when clients walk journeys while faults are injected at random moments
        load = Load(
            f"http://127.0.0.1:{system.config.ports['requests-api']}",
            uuid.uuid4().hex[:8],
            seed,
        )
        load_started = time.monotonic()
        threads = load.start(profile.workers, profile.journeys, profile.pace_s)
        for fault in profile.faults:
            time.sleep(chooser.uniform(*profile.gap_s))  # not a wait: load runs between faults
            inject(system, profile, fault)
        load.stop.set()  # the load spans the faults; the journeys under way finish
        for thread in threads:
            thread.join(timeout=600)
        load_s = time.monotonic() - load_started
        advance_clock_and_kill_the_api(system, load)
        # then, drained, nothing is lost or doubled
        findings.drain_s = drain(system, timeout_s=300)
        check(system, load, findings)
        write_report(report, profile, seed, system, load, findings, started, up_s, load_s)
    finally:
        if keep:
            system.down()
        else:
            system.cleanup()

    failed_faults: Callable[[], list[str]] = lambda: [  # noqa: E731
        f.name for f in system.faults if f.recovered is None
    ]
    assert failed_faults() == [], f"never recovered: {failed_faults()} (seed {seed}, see {report})"
    assert findings.drain_s is not None, f"not drained (seed {seed}, see {report})"
    assert findings.lost == 0
    assert findings.on_kafka == findings.stored_events
    assert findings.ledger_missing == 0 and findings.ledger_double == 0, findings.ledger_wrong
    assert findings.ledger_checked > 0
    mailer_crashes = sum(
        1 for f in system.faults if "notifications" in f.name or f.name == "postgres down"
    )
    assert findings.email_duplicates <= mailer_crashes
    assert findings.timer_duplicates == 0
    assert findings.timers_fired > 0
    assert findings.parked == 0
    assert findings.audit_verify == 0, findings.audit_output
    assert findings.audit_rebuild == 0, findings.audit_output
    assert sum(1 for j in load.journeys if not j.failed) >= len(load.journeys) * 0.9
