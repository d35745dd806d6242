"""Hand-written INSERTs for the few rows written on every message (an item, its wraps, its audit
row). Django's `save()` and `bulk_create()` build and compile a query object per call, which
cost more than the statement itself (docs/benchmarks.md). Values are still converted by each
field's own `get_db_prep_save`, so what is stored is exactly what the ORM would store; no
defaults, signals or validation run, so callers pass every column they mean to set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any, Final
from uuid import UUID

from django.db import connection, models


@cache
def _columns(
    model: type[models.Model], names: tuple[str, ...]
) -> tuple[str, list[models.Field[Any, Any]]]:
    """(the INSERT statement, the fields) for these attribute names of `model`."""
    quote = connection.ops.quote_name
    # `_meta` is Django's documented model metadata API, not a private member.
    meta = model._meta  # noqa: SLF001
    fields: list[models.Field[Any, Any]] = []
    for name in names:
        field = meta.get_field(name)
        # A foreign key is passed by its column (`author_id`), never as an instance.
        if not isinstance(field, models.Field) or field.attname != name or not field.column:
            raise ValueError(f"{model.__name__}.{name} is not a column's attribute name")
        fields.append(field)
    columns = ", ".join(quote(str(field.column)) for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    # Names come from the model's own metadata; every value is bound.
    return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks})", fields  # noqa: S608


def _params(
    fields: list[models.Field[Any, Any]], values: Mapping[str, Any], names: tuple[str, ...]
) -> list[Any]:
    return [
        field.get_db_prep_save(values[name], connection)
        for field, name in zip(fields, names, strict=True)
    ]


def insert_row(model: type[models.Model], values: Mapping[str, Any]) -> int:
    """Inserts one row of a model with an integer primary key and returns the key (for an auto
    key, the one just given)."""
    names = tuple(values)
    sql, fields = _columns(model, names)
    pk = model._meta.pk  # noqa: SLF001
    assert pk is not None  # noqa: S101 - every concrete model has a primary key
    pk_column = connection.ops.quote_name(str(pk.column))
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {pk_column}", _params(fields, values, names))
        row = cursor.fetchone()
    return int(row[0])


def insert_rows(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """Inserts rows that all set the same attributes, in one `executemany`."""
    if not rows:
        return
    names = tuple(rows[0])
    sql, fields = _columns(model, names)
    params = []
    for values in rows:
        if tuple(values) != names:
            raise ValueError("every row must set the same attributes, in the same order")
        params.append(_params(fields, values, names))
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


# One field instance each: building a UUIDField per call (as `UUIDField().get_db_prep_value`
# does) was a noticeable share of a message's time.
_UUID_FIELD: Final[models.UUIDField[Any, Any]] = models.UUIDField()
_DATETIME_FIELD: Final[models.DateTimeField[Any, Any]] = models.DateTimeField()


def db_uuid(value: UUID) -> Any:
    """A UUID as the database backend stores it (hex text on SQLite, uuid on PostgreSQL), for
    hand-written queries."""
    return _UUID_FIELD.get_db_prep_value(value, connection)


def db_datetime(value: datetime) -> Any:
    """An aware datetime as the database backend stores it, for hand-written queries."""
    return _DATETIME_FIELD.get_db_prep_value(value, connection)
