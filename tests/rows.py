"""Rows of every table, read and made generically from the table metadata.

- `snapshot()` reads every row of every table (as the service), so a test can show
  that a call changed nothing, or only rows that belong to one user.
- `make_row(session, table, owner)` inserts a row with every required column filled with a
  value of the right type; a foreign key to `users` points at the owner, any other
  required foreign key gets a freshly made parent row. A new table needs no test edits.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry import db
from assetry.models import metadata, owner_column

Row = tuple[tuple[str, Any], ...]
_serial = itertools.count(1)


async def snapshot() -> dict[str, set[Row]]:
    """Every row of every table, each as a hashable tuple of (column, value)."""
    async with db.service_session() as session:
        return {
            table.name: {
                tuple(sorted((key, _hashable(value)) for key, value in row._mapping.items()))
                for row in (await session.exec(sa.select(table))).all()
            }
            for table in metadata.sorted_tables
        }


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True, default=str) if isinstance(value, dict | list) else value


def row_owner(table_name: str, row: Row) -> Any:
    """Whose row this is: the owner column of user-owned tables, the actor of an audit entry."""
    values = dict(row)
    column = owner_column(table_name) or ("actor_id" if "actor_id" in values else None)
    return values.get(column) if column else None


def changes(before: dict[str, set[Row]], after: dict[str, set[Row]]) -> list[tuple[str, str, Row]]:
    """The rows that appeared ("+") or disappeared ("-") between two snapshots (an edit is both)."""
    found = []
    for name in before.keys() | after.keys():
        old, new = before.get(name, set()), after.get(name, set())
        found += [(name, "-", row) for row in old - new] + [(name, "+", row) for row in new - old]
    return found


# Times that must lie ahead: a plan slot planted at "now" is due, and the backend's own reminder
# job would mark it reminded while a test compares the database before and after a caller.
AHEAD = {("plan_slots", "planned_at"): dt.timedelta(hours=6)}


def _value(column: sa.Column) -> Any:
    """A value of the column's type that fits its length and is unique across calls."""
    n = next(_serial)
    column_type = getattr(column.type, "impl_instance", column.type)  # see through TypeDecorators
    if isinstance(column_type, sa.JSON):
        return {}
    try:
        python_type = column_type.python_type
    except NotImplementedError:
        python_type = str
    if python_type is uuid.UUID:
        return uuid.uuid4()
    if python_type is bool:
        return False
    if python_type is int:
        return n
    if python_type is float:
        return float(n)
    if python_type is dt.datetime:
        return dt.datetime.now(dt.UTC) + AHEAD.get((column.table.name, column.name), dt.timedelta())
    if python_type is dt.date:
        return dt.date.today() - dt.timedelta(days=n)
    if python_type in (dict, list):
        return python_type()
    length = getattr(column_type, "length", None) or 64
    text = f"r{n}@example.com" if "email" in column.name else f"{column.name}-{n}"
    return text[-length:]


async def row_values(session: AsyncSession, table_name: str, owner: uuid.UUID | None) -> dict[str, Any]:
    """Values for one new row of this table owned by `owner`; parent rows it needs are inserted."""
    table = metadata.tables[table_name]
    own = owner_column(table_name)
    values: dict[str, Any] = {}
    for column in table.columns:
        targets = [fk.column.table.name for fk in column.foreign_keys]
        if column.name == own or "users" in targets:
            values[column.name] = owner
        elif column.nullable and not column.primary_key:
            continue  # optional columns (self-references included) stay NULL
        elif targets:
            parent = await make_row(session, targets[0], owner)
            values[column.name] = parent[next(iter(column.foreign_keys)).column.name]
        else:
            values[column.name] = _value(column)
    return values


async def make_row(session: AsyncSession, table_name: str, owner: uuid.UUID | None) -> dict[str, Any]:
    """Insert one row of this table owned by `owner`; returns its values."""
    values = await row_values(session, table_name, owner)
    await session.exec(sa.insert(metadata.tables[table_name]).values(**values))
    return values
