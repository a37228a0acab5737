"""kafka-python checks the CRC-32C of every record batch it sends and receives. Without the `crc32c`
C module it falls back to a pure-Python loop, which was a tenth of each consumer's CPU and most of
the producers' (docs/benchmarks.md, hot spot 30). The dependency is easy to lose in a reinstall and
nothing else would notice: this test does."""

from __future__ import annotations

import crc32c
from kafka.record import util
from kafka.record._crc32c import crc as pure_python_crc32c


def test_kafka_python_checks_record_batches_with_the_c_crc32c() -> None:
    # given the checksum kafka-python picked at import
    chosen = util.calc_crc32c.__defaults__[0]  # bound as a default argument, for speed
    # then it is the C implementation, not the pure-Python fallback
    assert chosen is crc32c.crc32c
    assert chosen is not pure_python_crc32c


def test_the_c_crc32c_agrees_with_kafka_pythons_own() -> None:
    # given a record-batch-sized buffer
    data = memoryview(bytes(range(256)) * 40)
    # when both implementations checksum it
    # then they agree, so batches written by either are read by the other
    assert util.calc_crc32c(data) == pure_python_crc32c(data)
