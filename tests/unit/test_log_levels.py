"""Expected transient conditions are not ERROR (issue 17).

kopf logs a handler that raised `TemporaryError` at ERROR ("… failed temporarily: …"), and posts
it as an Event of type Error: an unreachable appliance or a retried 503 paged people and filled
error dashboards although the operator retries it by design. The operator's filter makes those
lines WARNING; a handler that crashed (an unexpected exception) stays ERROR.
"""

from __future__ import annotations

import logging

from netscaler_certsync.logs import KopfRetriesAreWarnings


def _record(message: str, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord("kopf.objects", level, __file__, 1, message, None, None)


def test_a_temporary_failure_is_a_warning() -> None:
    record = _record("Handler 'sync_on_spec' failed temporarily: adc: Unreachable: connection refused")
    assert KopfRetriesAreWarnings().filter(record)
    assert (record.levelno, record.levelname) == (logging.WARNING, "WARNING")


def test_a_crash_stays_an_error() -> None:
    record = _record("Handler 'sync_on_spec' failed with an exception and will try again in 60 seconds: boom")
    assert KopfRetriesAreWarnings().filter(record)
    assert record.levelno == logging.ERROR


def test_the_operator_installs_it_on_kopfs_object_logger() -> None:
    from netscaler_certsync import logs

    logs.configure()
    assert any(isinstance(f, KopfRetriesAreWarnings) for f in logging.getLogger("kopf.objects").filters)
