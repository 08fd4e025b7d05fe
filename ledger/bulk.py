"""Writing many rows fast: one INSERT, executed for many parameter tuples.

`bulk_create` builds a model instance per row and prepares every value through the field's full
save path; for the 100,000 lines of a large settlement file that is most of the import's time.
Here the values are adapted once per field type with the backend's own adapters (the same ones
`bulk_create` ends up calling), so SQLite and PostgreSQL store exactly what the ORM would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection, models

BATCH = 2000


def _adapter(field: models.Field) -> Callable[[Any], Any] | None:
    ops = connection.ops
    internal = field.get_internal_type()
    if internal == "DecimalField":
        return lambda value: ops.adapt_decimalfield_value(
            value, field.max_digits, field.decimal_places
        )
    if internal == "DateTimeField":
        return ops.adapt_datetimefield_value
    if internal == "DateField":
        return ops.adapt_datefield_value
    if internal == "JSONField":
        encoder = field.encoder
        return lambda value: ops.adapt_json_value(value, encoder)
    return None


class Inserter:
    """insert(rows) for one model and a fixed list of field names; rows are tuples in that order."""

    def __init__(self, model: type[models.Model], names: Sequence[str]) -> None:
        fields = [model._meta.get_field(name) for name in names]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        table = connection.ops.quote_name(model._meta.db_table)
        self.sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"
        self.adapters = [(i, a) for i, f in enumerate(fields) if (a := _adapter(f)) is not None]

    def insert(self, rows: Iterable[Sequence[Any]]) -> int:
        batch: list[list[Any]] = []
        count = 0
        with connection.cursor() as cursor:
            for row in rows:
                values = list(row)
                for index, adapt in self.adapters:
                    if values[index] is not None:
                        values[index] = adapt(values[index])
                batch.append(values)
                if len(batch) >= BATCH:
                    cursor.executemany(self.sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                cursor.executemany(self.sql, batch)
                count += len(batch)
        return count
