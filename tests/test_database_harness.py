"""The test harness empties the database between tests without deadlocking with a request the
app server is still answering (tests/harness/database.py)."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, connections

from quietroom.accounts.models import User
from tests.harness import database

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_flush_waits_for_a_transaction_that_would_deadlock_with_it() -> None:
    """Another session holds the last table the TRUNCATE locks and then asks for the first,
    as a server request writing to two tables does. Flushing at once deadlocks (PostgreSQL
    aborts one side); the harness waits for the transaction to end, and both succeed."""
    User.objects.create_user(email="left-over@example.org", password=None)
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    first, last = tables[0], tables[-1]
    holding = threading.Event()
    outcome: list[str] = []

    def request_in_flight() -> None:
        other = connections["default"]
        try:
            with other.cursor() as cursor:
                cursor.execute("BEGIN")
                if other.vendor == "postgresql":
                    cursor.execute(f'LOCK TABLE "{last}" IN ROW EXCLUSIVE MODE')
                holding.set()
                time.sleep(0.5)
                if other.vendor == "postgresql":
                    cursor.execute(f'LOCK TABLE "{first}" IN ROW EXCLUSIVE MODE')
                cursor.execute("COMMIT")
            outcome.append("committed")
        except DatabaseError as exc:  # the deadlock victim, if it is this side
            outcome.append(type(exc).__name__)
        finally:
            other.close()

    thread = threading.Thread(target=request_in_flight)
    thread.start()
    assert holding.wait(5)
    database.flush_when_quiet(
        lambda: call_command("flush", verbosity=0, interactive=False, reset_sequences=False)
    )
    thread.join()
    assert outcome == ["committed"]
    assert not User.objects.exists()
