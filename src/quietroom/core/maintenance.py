"""Housekeeping: what the database engine needs to keep queries fast, and what is left over
by interrupted work. Run at each start and with each audit purge (quietroom.cli)."""

from __future__ import annotations

from django.db import connection

from quietroom.messaging.blobs import delete_orphan_uploads


def housekeeping() -> None:
    refresh_statistics()
    # Attachment uploads never attached to a message (a closed tab, a failed send).
    delete_orphan_uploads()


def refresh_statistics() -> None:
    """SQLite plans queries without statistics until ANALYZE has run (PostgreSQL's autovacuum
    keeps its own); without them, a date-filtered audit search can scan the whole trail."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
