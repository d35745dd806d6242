"""Housekeeping the database engine needs to keep queries fast."""

from __future__ import annotations

from django.db import connection


def refresh_statistics() -> None:
    """SQLite plans queries without statistics until ANALYZE has run (PostgreSQL's autovacuum
    keeps its own); without them, a date-filtered audit search can scan the whole trail."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
