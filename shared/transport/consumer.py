"""The Kafka consumer runtime of the transport port.

For every record, in partition order:

1. decode and validate (`decode`, shared/transport/decoders.py): a `PoisonMessage` (bad JSON,
   schema violation, unknown type) is produced to `<topic>.dlq` (shared/transport/dead_letter.py)
   with headers `error`, `original_topic`, `original_partition`, `original_offset`,
   `consumer_group`, then its offset is committed at once and the partition moves on;
2. handle (`handle`) in the handler's own database transaction (projections: `Projection.apply`,
   which records the applied event id in that same transaction). A handler may raise
   `PoisonMessage` too (e.g. a fact the application rejects), which dead-letters the record;
3. mark the record's offset done only after the handler returned, i.e. after its DB commit.

With a batch handler (`handle_batch`, projections: `Projection.apply_batch`) the records of one poll
are decoded (poison ones dead-lettered as above), handled together in ONE transaction, and their
offsets marked done after it. When the batch fails for any reason, its records are handled again one
at a time through the path above, so a poison record is isolated and dead-lettered and a transient
failure is retried per record; the records already applied are recognised and skipped.

Offsets done are committed at most every `commit_interval_ms` or `commit_max_records` records, and
always right after a dead-lettering, when partitions are revoked, and when the runtime stops. Every
handler applies idempotently (projections keep the applied event id in the handler's transaction),
so a committed offset is only where a restart resumes: records done but not committed when the
process dies are delivered again and recognised. An OffsetCommit per poll cost the broker a write to
`__consumer_offsets` and the poll loop a blocking round trip each time.

A handler error the database or the network caused (`parking.is_transient`) is retried with capped
exponential backoff for as long as the runtime runs: an outage is waited out, never given up on
(issue 18), and nothing is committed meanwhile. Any other error is retried up to `max_attempts`, then
the record is dead-lettered as above. Projections never raise one: `Projection.apply_batch` parks
such an event in its own database (shared/transport/parking.py) and this runtime copies its record
to `<topic>.dlq`. Failing to reach the broker (starting, polling, committing, dead-lettering) is
retried the same way. Nothing is ever skipped silently.

SIGTERM/SIGINT (when `run` is called on the main thread) finish the record in hand, commit what is
done, leave the group and return.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    # kafka-python is imported when a consumer starts (issue 30: embedded mode imports this module
    # through the services' composition roots and never loads kafka).
    from kafka import KafkaConsumer, TopicPartition
    from kafka.consumer.fetcher import ConsumerRecord
    from kafka.structs import OffsetAndMetadata

from shared.envelope import TRACEPARENT, PoisonMessage
from shared.observability import CONSUMER_LAG, trace_context
from shared.transport.dead_letter import DLQ_SUFFIX, DeadLetterProducer, where
from shared.transport.decoders import record_fields
from shared.transport.parking import describe, is_transient

log = logging.getLogger("seller_support.kafka")

T = TypeVar("T")
Decoder = Callable[["ConsumerRecord"], T]
RecordHandler = Callable[[T, "ConsumerRecord"], None]
BatchHandler = Callable[[Sequence[tuple[T, "ConsumerRecord"]]], None]

__all__ = [
    "BatchHandler",
    "ConsumerFailed",
    "ConsumerRuntime",
    "ConsumerSettings",
    "ConsumerStats",
    "Decoder",
    "PoisonMessage",
    "RecordHandler",
    "at_most_every",
    "consumer_thread",
]


class ConsumerFailed(RuntimeError):
    """A record could not be processed after every retry; its offset was not committed."""


@dataclass
class ConsumerSettings:
    bootstrap_servers: str
    topics: Sequence[str]
    group_id: str
    client_id: str = "seller-support-consumer"
    max_attempts: int = 5
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 5.0
    poll_timeout_ms: int = 500
    max_poll_records: int = 200
    # Deferred offset commits (module docstring): at most this often / after this many records.
    commit_interval_ms: int = 1_000
    commit_max_records: int = 1_000
    auto_offset_reset: str = "earliest"
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 1_000
    dlq_suffix: str = DLQ_SUFFIX
    consumer_overrides: dict[str, Any] = field(default_factory=dict)
    producer_overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class ConsumerStats:
    processed: int = 0
    dead_lettered: int = 0
    retries: int = 0
    partitions_seen: set[int] = field(default_factory=set)


class _StopRequested(Exception):
    """Unwinds a retry loop when shutdown was asked for."""


class ConsumerRuntime(Generic[T]):
    """Runs `decode` then `handle` for each record of `settings.topics` in consumer group
    `settings.group_id`, committing each offset only after `handle` returned."""

    def __init__(
        self,
        settings: ConsumerSettings,
        decode: Decoder[T],
        handle: RecordHandler[T],
        *,
        handle_batch: BatchHandler[T] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.decode = decode
        self.handle = handle
        self.handle_batch = handle_batch
        self.stats = ConsumerStats()
        self._stop = threading.Event()
        self._sleep = sleep or self._interruptible_sleep
        self._consumer: KafkaConsumer | None = None
        self._dead_letters = DeadLetterProducer(
            settings.bootstrap_servers,
            f"{settings.client_id}-dlq",
            settings.group_id,
            suffix=settings.dlq_suffix,
            producer_overrides=settings.producer_overrides,
        )
        self._lag_labels: set[tuple[str, str, str]] = set()
        self._lag_updated = 0.0
        self._next_offsets: dict[TopicPartition, int] = {}
        # Offsets done and not committed yet; the rebalance listener (kafka's IO thread) takes its
        # partitions' share while the poll loop waits in `poll`.
        self._uncommitted: dict[TopicPartition, OffsetAndMetadata] = {}
        self._uncommitted_records = 0
        self._uncommitted_lock = threading.Lock()
        self._committed_at = time.monotonic()
        self._dead_lettered_uncommitted = False
        self.failure: BaseException | None = None  # why a `start_thread` runtime stopped

    # -- lifecycle --

    def start(self) -> None:
        if self._consumer is not None:
            return
        from kafka import KafkaConsumer

        s = self.settings
        self._consumer = KafkaConsumer(
            bootstrap_servers=s.bootstrap_servers,
            client_id=s.client_id,
            group_id=s.group_id,
            enable_auto_commit=False,
            auto_offset_reset=s.auto_offset_reset,
            max_poll_records=s.max_poll_records,
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
            # Back quickly after a broker restart, and notice a topic created after the consumer
            # started within seconds rather than the default 5 minutes.
            **{"reconnect_backoff_max_ms": 1_000, "metadata_max_age_ms": 5_000}
            | s.consumer_overrides,
        )
        self._consumer.subscribe(list(s.topics), listener=_commit_on_revoke_class()(self))
        # Fetch the topics' partitions before the first poll joins the group: a leader that
        # assigns without them hands out nothing, and the client may not rebalance once they appear.
        for topic in s.topics:
            self._consumer.partitions_for_topic(topic)

    def request_stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        self._clear_lag()
        if self._consumer is not None:
            self._commit_on_close()
            self._consumer.close()  # leaves the group: partitions move to the others at once
            self._consumer = None
        self._dead_letters.close()

    def _drop_consumer(self) -> None:
        """Forget the consumer (and what it did not commit) after a broker failure; `start` makes
        a fresh one, which resumes at the committed offsets."""
        consumer, self._consumer = self._consumer, None
        self._take_uncommitted()
        self._next_offsets.clear()
        if consumer is not None:
            with contextlib.suppress(Exception):
                consumer.close(autocommit=False, timeout_ms=2_000)

    def assignment(self) -> set[TopicPartition]:
        return set(self._consumer.assignment()) if self._consumer is not None else set()

    def run(
        self,
        *,
        until: Callable[[], bool] | None = None,
        handle_signals: bool = True,
        after_poll: Callable[[], None] | None = None,
    ) -> None:
        """Poll and process until stopped (SIGTERM/SIGINT or `request_stop`) or `until()` holds;
        `after_poll()` runs after every poll (a projection's periodic work: reminders, e-mail).
        Raises ConsumerFailed when a record fails every retry."""
        from kafka.errors import KafkaError

        previous: dict[int, Any] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.signal(signum, self._on_signal)
        try:
            failures = 0
            while not self._stop.is_set() and not (until is not None and until()):
                try:
                    self.start()
                    self.poll_once()
                    failures = 0
                except (KafkaError, OSError) as error:  # the broker is away: wait it out
                    failures += 1
                    # Records polled and not done must not be skipped by the next poll: start
                    # again from the committed offsets (what was done is recognised and skipped).
                    self._drop_consumer()
                    self._wait_out(failures, error, "polling")
                    continue
                if after_poll is not None:
                    try:
                        after_poll()
                    except Exception as error:  # periodic work (e-mail, refresh): next round
                        if not is_transient(error):
                            raise
                        log.warning("periodic work failed, retried next round: %r", error)
            log.info(
                "consumer %s stopping: processed=%d dead_lettered=%d",
                self.settings.group_id,
                self.stats.processed,
                self.stats.dead_lettered,
            )
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.close()

    def start_thread(
        self,
        on_failure: Callable[[BaseException], None] | None = None,
        after_poll: Callable[[], None] | None = None,
    ) -> threading.Thread:
        """Run in a daemon thread of this process (beside an HTTP app); stop it with
        `request_stop()` and join it. When it stops on an error (`ConsumerFailed`, a broker that
        cannot be reached), `self.failure` holds it and `on_failure(error)` is called."""

        def target() -> None:
            try:
                self.run(handle_signals=False, after_poll=after_poll)
            except BaseException as error:
                self.failure = error
                log.error("consumer %s stopped: %r", self.settings.group_id, error)
                if on_failure is not None:
                    on_failure(error)

        thread = threading.Thread(
            target=target, name=f"consumer-{self.settings.group_id}", daemon=True
        )
        thread.start()
        return thread

    # -- lag --

    def update_lag(self, min_interval_s: float = 1.0) -> dict[TopicPartition, int]:
        """Set `seller_support_consumer_lag_messages` for every assigned partition: the high
        watermark of the last fetch minus the next offset to process. Local state only (no
        network round trip in the poll loop); at most every `min_interval_s`."""
        consumer = self._consumer
        if consumer is None or time.monotonic() - self._lag_updated < min_interval_s:
            return {}
        self._lag_updated = time.monotonic()
        group = self.settings.group_id
        lags: dict[TopicPartition, int] = {}
        labels: set[tuple[str, str, str]] = set()
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            position = _fetch_position(consumer, tp)
            if position is None:
                position = self._next_offsets.get(tp)
            if highwater is None or position is None:
                continue  # not fetched yet: unknown, not zero
            lags[tp] = max(0, int(highwater) - int(position))
            key = (group, tp.topic, str(tp.partition))
            CONSUMER_LAG.labels(*key).set(lags[tp])
            labels.add(key)
        for stale in self._lag_labels - labels:  # partitions moved to another member
            with contextlib.suppress(KeyError):
                CONSUMER_LAG.remove(*stale)
        self._lag_labels = labels
        return lags

    def _clear_lag(self) -> None:
        for stale in self._lag_labels:
            with contextlib.suppress(KeyError):
                CONSUMER_LAG.remove(*stale)
        self._lag_labels = set()

    def _on_signal(self, signum: int, _frame: Any) -> None:
        log.info("signal %d: finishing the record in hand, then stopping", signum)
        self._stop.set()

    def _interruptible_sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise _StopRequested

    # -- processing --

    def poll_once(self) -> int:
        """One poll; returns how many records were done (processed or dead-lettered). Their offsets
        are committed when due (module docstring)."""
        from kafka.errors import CommitFailedError

        self.start()
        assert self._consumer is not None
        polled = self._consumer.poll(timeout_ms=self.settings.poll_timeout_ms)
        try:
            if self.handle_batch is not None:
                done = self._process_polled_batch(polled)
            else:
                done = self._process_polled_records(polled)
            self._commit_if_due()
        except CommitFailedError as error:
            # The group rebalanced under us: the partition may belong to another member now. The
            # handler's effect is committed and idempotent; the records are redelivered to the
            # new owner, which recognises them.
            self._take_uncommitted()
            log.warning("commit failed after a rebalance (%s); re-polling", error)
            return 0
        except _StopRequested:  # a commit retry interrupted: close() commits once more
            return 0
        self.update_lag(0.0 if done else 1.0)
        return done

    def _process_polled_records(self, polled: dict[TopicPartition, list[ConsumerRecord]]) -> int:
        done = 0
        for tp, records in polled.items():
            for record in records:
                if self._stop.is_set():
                    return done  # not processed, not committed: redelivered later
                try:
                    self._process(record)
                except _StopRequested:
                    return done
                self.stats.partitions_seen.add(tp.partition)
                done += 1
        return done

    def _process_polled_batch(self, polled: dict[TopicPartition, list[ConsumerRecord]]) -> int:
        assert self.handle_batch is not None
        records = [record for batch in polled.values() for record in batch]
        if not records or self._stop.is_set():
            return 0
        decoded: list[tuple[T, ConsumerRecord]] = []
        try:
            for record in records:
                with self._record_context(record):
                    try:
                        decoded.append((self.decode(record), record))
                    except PoisonMessage as poison:
                        self._dead_letter(record, str(poison))
            try:
                self.handle_batch(decoded)
                self.stats.processed += len(decoded)
            except Exception as error:
                log.warning(
                    "a batch of %d records failed (%r); handling them one at a time",
                    len(decoded),
                    error,
                )
                for value, record in decoded:
                    if self._stop.is_set():
                        return 0  # nothing committed: the batch is redelivered, applied ids skip
                    with self._record_context(record):
                        self._handle_with_retries(value, record)
        except _StopRequested:
            return 0
        self._mark_done(records)
        self.stats.partitions_seen.update(tp.partition for tp in polled)
        return len(records)

    def _process(self, record: ConsumerRecord) -> None:
        """Decode, handle, commit — with the record's `traceparent` as the trace context, so the
        handler's log lines (and anything it records) carry the producer's trace id."""
        with self._record_context(record):
            self._process_record(record)

    def _record_context(self, record: ConsumerRecord) -> contextlib.AbstractContextManager[None]:
        header = dict(record.headers or ()).get(TRACEPARENT)
        traceparent = header.decode("latin-1") if isinstance(header, bytes) else header
        return trace_context(traceparent, **record_fields(record, self.settings.group_id))

    def _process_record(self, record: ConsumerRecord) -> None:
        try:
            value = self.decode(record)
        except PoisonMessage as poison:
            self._dead_letter(record, str(poison))
        else:
            self._handle_with_retries(value, record)
        self._mark_done([record])
        self._commit_if_due()

    def _handle_with_retries(self, value: T, record: ConsumerRecord) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                self.handle(value, record)
                self.stats.processed += 1
                return
            except PoisonMessage as poison:
                self._dead_letter(record, str(poison))
                return
            except Exception as error:
                if not is_transient(error) and attempt >= self.settings.max_attempts:
                    log.error("handling %s failed %d times: %r", where(record), attempt, error)
                    self._dead_letter(record, f"failed {attempt} times: {describe(error)}")
                    return
                self._retry_or_fail(attempt, error, f"handling {where(record)}")

    def _retry_or_fail(self, attempt: int, error: Exception, what: str) -> None:
        """Wait before the next attempt (capped exponential backoff); never gives up: what failed
        is the broker or the database, and waiting it out is the only way on."""
        s = self.settings
        delay = min(s.backoff_max_s, s.backoff_initial_s * 2 ** min(attempt - 1, 30))
        self.stats.retries += 1
        log.warning("%s failed (attempt %d), retrying in %.2fs: %r", what, attempt, delay, error)
        self._sleep(delay)

    def _wait_out(self, failures: int, error: BaseException, what: str) -> None:
        s = self.settings
        delay = min(s.backoff_max_s, s.backoff_initial_s * 2 ** min(failures - 1, 30))
        self.stats.retries += 1
        log.warning(
            "%s: broker unreachable (%d), retrying in %.2fs: %r", what, failures, delay, error
        )
        self._stop.wait(delay)

    def dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        """Copy `record` to `<topic>.dlq` with `reason` (a projection parked its event)."""
        self._dead_letter(record, reason)

    def _dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        self._dead_letters.send(record, reason, self._retry_or_fail)
        self.stats.dead_lettered += 1
        self._dead_lettered_uncommitted = True

    # -- offsets --

    def _mark_done(self, records: Sequence[ConsumerRecord]) -> None:
        """Remember the offset after the last of `records` on each partition, to commit when due."""
        from kafka import TopicPartition
        from kafka.structs import OffsetAndMetadata

        with self._uncommitted_lock:
            for record in records:
                tp = TopicPartition(record.topic, record.partition)
                epoch = record.leader_epoch if record.leader_epoch is not None else -1
                self._uncommitted[tp] = OffsetAndMetadata(record.offset + 1, "", epoch)
                self._next_offsets[tp] = record.offset + 1
            self._uncommitted_records += len(records)

    def _commit_if_due(self) -> None:
        """Commit what is done when `commit_interval_ms` passed since the last commit, or
        `commit_max_records` are waiting, or a record was just dead-lettered (so a restart does not
        dead-letter it twice)."""
        s = self.settings
        due = (
            self._dead_lettered_uncommitted
            or self._uncommitted_records >= s.commit_max_records
            or time.monotonic() - self._committed_at >= s.commit_interval_ms / 1000
        )
        if due and self._uncommitted:
            self._commit_uncommitted()

    def _commit_uncommitted(self) -> None:
        """Commit every offset done, in one call, retried like a handler."""
        from kafka.errors import CommitFailedError

        assert self._consumer is not None
        with self._uncommitted_lock:
            offsets = dict(self._uncommitted)
        attempt = 0
        while True:
            attempt += 1
            try:
                self._consumer.commit(offsets)
                break
            except CommitFailedError:
                raise
            except Exception as error:
                self._retry_or_fail(attempt, error, f"committing offsets {offsets}")
        with self._uncommitted_lock:
            for tp, committed in offsets.items():
                if self._uncommitted.get(tp) == committed:  # nothing newer was done meanwhile
                    del self._uncommitted[tp]
            self._uncommitted_records = 0
        self._dead_lettered_uncommitted = False
        self._committed_at = time.monotonic()

    def _take_uncommitted(
        self, partitions: set[TopicPartition] | None = None
    ) -> dict[TopicPartition, OffsetAndMetadata]:
        """Remove and return the uncommitted offsets (of `partitions`, else all)."""
        with self._uncommitted_lock:
            taken = {
                tp: offset
                for tp, offset in self._uncommitted.items()
                if partitions is None or tp in partitions
            }
            for tp in taken:
                del self._uncommitted[tp]
            if not self._uncommitted:
                self._uncommitted_records = 0
        return taken

    def _commit_on_close(self) -> None:
        """One attempt: when it fails, the records done since the last commit are delivered again
        after the restart and recognised."""
        assert self._consumer is not None
        offsets = self._take_uncommitted()
        if not offsets:
            return
        try:
            self._consumer.commit(offsets)
        except Exception as error:
            log.warning("committing %s on close failed: %r", offsets, error)


@cache
def _commit_on_revoke_class() -> type[Any]:
    """The rebalance listener's class, made on first use (kafka-python imported lazily)."""
    from kafka import AsyncConsumerRebalanceListener

    class _CommitOnRevoke(AsyncConsumerRebalanceListener):
        """Before a rebalance takes partitions away, commit what was done on them, so their next
        owner does not receive those records again; a lost partition's offsets are just forgotten.

        kafka-python calls this on its IO thread, where the blocking `KafkaConsumer.commit` would
        wait on itself; the coroutine behind it is awaited instead (it has no public name). Should
        that fail, the new owner receives the records again and recognises them."""

        def __init__(self, runtime: ConsumerRuntime[Any]) -> None:
            self.runtime = runtime

        async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
            offsets = self.runtime._take_uncommitted(revoked)
            consumer = self.runtime._consumer
            if not offsets or consumer is None:
                return
            try:
                await consumer._coordinator._commit_offsets_sync_async(offsets)
            except Exception as error:
                log.warning("committing %s before a rebalance failed: %r", offsets, error)

        async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
            return None

        async def on_partitions_lost(self, lost: set[TopicPartition]) -> None:
            self.runtime._take_uncommitted(
                lost
            )  # another member owns them already: nothing to commit

    return _CommitOnRevoke


def at_most_every(seconds: float, work: Callable[[], None]) -> Callable[[], None]:
    """`work`, skipped when it last ran less than `seconds` ago: periodic work hung on the poll
    loop (a rating refresh, the e-mail round, a lag gauge) at a steady pace however fast polls come
    back under load, instead of once per poll."""
    last = [-float("inf")]

    def paced() -> None:
        now = time.monotonic()
        if now - last[0] >= seconds:
            last[0] = now
            work()

    return paced


@contextlib.contextmanager
def consumer_thread(
    runtime: ConsumerRuntime[Any], after_poll: Callable[[], None] | None = None
) -> Iterator[ConsumerRuntime[Any]]:
    """Run `runtime` in a thread for the duration of the block (an HTTP app's lifespan). When it
    stops on an error the process gets SIGTERM, so the server shuts down and the process exits
    (non-zero: see `runtime.failure`) for its supervisor to restart it; the record is redelivered."""

    def on_failure(_error: BaseException) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    thread = runtime.start_thread(on_failure, after_poll)
    try:
        yield runtime
    finally:
        runtime.request_stop()
        thread.join(timeout=30)


def _fetch_position(consumer: KafkaConsumer, tp: TopicPartition) -> int | None:
    """The consumer's local fetch position of `tp` (no network round trip), when it has one."""
    try:
        state = consumer._subscription.assignment.get(tp)
        position = getattr(state, "position", None)
        offset = getattr(position, "offset", position)
        return int(offset) if offset is not None else None
    except Exception:  # a private detail of kafka-python: the gauge just stays unknown
        return None
