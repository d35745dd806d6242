"""Emptying the test database between tests while the app server may still be at work.

Browser tests share one app server process. When a test ends its page is closed, but the
server may still be answering what the page asked last (its socket connecting, a fetch from
the page it had just opened). On PostgreSQL the flush is one TRUNCATE that locks its tables
one by one, so it can deadlock with such a transaction; PostgreSQL then aborts the flush and
the next test starts on the last one's rows. Waiting until no other session is inside a
transaction or a statement avoids that; what the server does after the page is gone is
nothing a test looks at."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test import TransactionTestCase

# Long enough for the slowest request a closed page can leave behind (an Argon2id unlock is
# in the browser, not here); short enough that a stuck server fails the next test soon.
QUIET_WAIT_SECONDS = 15.0
_POLL_SECONDS = 0.05


def other_sessions_at_work() -> int:
    """How many other PostgreSQL sessions on this database are running a statement or hold a
    transaction open."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend' AND state <> 'idle'"
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def wait_until_quiet(timeout: float = QUIET_WAIT_SECONDS) -> None:
    """Return once no other session is at work, or after `timeout` (the flush then runs and
    reports any deadlock itself)."""
    if connection.vendor != "postgresql":
        return  # SQLite's one writer waits on the busy timeout instead
    deadline = time.monotonic() + timeout
    while other_sessions_at_work() and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)


def flush_when_quiet(flush: Callable[[], object]) -> None:
    wait_until_quiet()
    flush()


def install() -> None:
    """Make every transactional test's teardown flush wait for quiet first."""
    # django-stubs leave this private method out, hence getattr/setattr.
    flush = getattr(TransactionTestCase, "_fixture_teardown")  # noqa: B009

    def fixture_teardown(self: Any) -> None:
        flush_when_quiet(lambda: flush(self))

    setattr(TransactionTestCase, "_fixture_teardown", fixture_teardown)  # noqa: B010
