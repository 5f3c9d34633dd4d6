"""Set-based INSERT and UPDATE for bulk writes (a CSV import's chunks): one statement per
table per chunk.

In the project package, below every app, so the app that owns a table (capture's leads and
activities, through `capture.services.import_leads`) writes it, not the app importing.

Django's bulk_create and bulk_update spend most of a 100,000-row import building model
instances and SQL in Python (bulk_update's CASE per row grows with the square of the batch);
here each column travels as one array parameter and PostgreSQL unnests them. Columns come
from the models' own metadata, so a field added later is filled with its default.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, models
from django.db.models.fields import NOT_PROVIDED


def insert_rows(
    model: type[models.Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
    ignore_conflicts_on: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """INSERT the rows (attname → value; missing fields get their defaults); with
    `ignore_conflicts_on` (the columns of a unique constraint), rows that would break it
    are left out (ON CONFLICT DO NOTHING). Returns the `returning` columns of the rows
    actually inserted."""
    if not rows:
        return []
    fields = [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and isinstance(field, models.AutoField))
        and (field.db_default is NOT_PROVIDED or any(field.attname in row for row in rows))
    ]
    arrays = [_column(field, rows, now) for field in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(_column_name(field)) for field in fields)
    suffix = ""
    if ignore_conflicts_on:
        suffix += f" ON CONFLICT ({', '.join(map(quote, ignore_conflicts_on))}) DO NOTHING"
    if returning:
        suffix += f" RETURNING {', '.join(map(quote, returning))}"
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            # SQLite (`make run`'s default) has no unnest: a statement per row, in-process.
            sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
            found: list[Any] = []
            for values in zip(*arrays, strict=True):
                cursor.execute(sql + suffix, values)
                found += cursor.fetchall() if returning else []
            return [tuple(row) for row in found]
        casts = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
        sql = f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({casts})"  # noqa: S608
        cursor.execute(sql + suffix, arrays)
        return [tuple(row) for row in cursor.fetchall()] if returning else []


def update_rows(
    model: type[models.Model], rows: Sequence[models.Model], attnames: Sequence[str]
) -> None:
    """UPDATE these columns of these instances to their in-memory values, in one statement."""
    if not rows:
        return
    meta = model._meta
    fields = [meta.pk, *(_concrete_field(model, name) for name in attnames)]
    arrays = [
        [field.get_db_prep_save(getattr(row, field.attname), connection) for row in rows]
        for field in fields
    ]
    quote = connection.ops.quote_name
    names = [quote(_column_name(field)) for field in fields]
    if connection.vendor != "postgresql":
        sets = ", ".join(f"{name} = %s" for name in names[1:])
        sql = f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {names[0]} = %s"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.executemany(
                sql, [(*values[1:], values[0]) for values in zip(*arrays, strict=True)]
            )
        return
    casts = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    sets = ", ".join(f"{name} = v.{name}" for name in names[1:])
    table = quote(meta.db_table)
    sql = (
        f"UPDATE {table} SET {sets} FROM unnest({casts}) AS v({', '.join(names)}) "  # noqa: S608
        f"WHERE {table}.{names[0]} = v.{names[0]}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)


def _concrete_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    """The field named `name`, which must have a column (not a reverse relation)."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise ValueError(f"{model.__name__}.{name} is a relation without a column")
    return field


def _column_name(field: models.Field[Any, Any]) -> str:
    """The field's column: only a concrete field has one, as every field here does."""
    if field.column is None:
        raise ValueError(f"{field} has no column")
    return field.column


def _column(
    field: models.Field[Any, Any], rows: Sequence[Mapping[str, Any]], now: datetime
) -> list[Any]:
    """One column's database values. A value repeated row after row (the chunk's time, a
    status, shared metadata) is prepared once: preparing is most of the Python cost."""
    name, prepare = field.attname, field.get_db_prep_save
    automatic = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    prepared: list[Any] = []
    last: Any = object()
    last_prepared: Any = None
    for row in rows:
        if name in row:
            value = row[name]
        elif automatic:
            value = now
        else:
            value = field.get_default()
        if value is not last:
            last, last_prepared = value, prepare(value, connection)
        prepared.append(last_prepared)
    return prepared
