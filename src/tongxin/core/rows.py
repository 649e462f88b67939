"""One plain INSERT for the rows every write appends (the request, its timeline step,
the audit entry, the inbox message).

``Model.save()`` compiles a fresh INSERT through the query compiler each time, and on
the filing path that compiling costs more than the statements themselves (bench/requests.py).
``insert`` keeps the parts of ``save`` these rows need: each field's own ``pre_save`` and
``get_db_prep_save`` (so values are stored exactly as ``save`` stores them, on SQLite
and PostgreSQL alike) and the new auto id read back; the statement text is built once
per model and database.

Inside ``batch()`` the rows wait and are written together when the block ends: on
PostgreSQL as one statement (each INSERT a step of one ``WITH``), so a write that
appends four rows pays one round trip, not four. Their auto ids are set then, not before;
nothing in the block may read them back or rely on them. Foreign keys are checked at
commit on PostgreSQL (Django makes them deferrable), so the order inside the block does
not matter; elsewhere the rows are written one by one, in order.

It is for new rows of plain models only: no signals are sent, no ``save()`` override
runs, and there is no update path. A row of a model the reference cache holds still makes
that cache forget, as the save signal would (``refcache.model_changed``).
``tests/core/test_rows.py`` checks that a row written
this way reads back equal to one written by ``save``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections, models, router

from tongxin.core import refcache

_batches = threading.local()  # the rows waiting for the innermost ``batch()``, per thread

_SQL: dict[tuple[str, str], tuple[str, list[models.Field], models.Field | None]] = {}


def _statement(model: type[models.Model], connection) -> tuple[str, list[models.Field], models.Field | None]:
    key = (model._meta.label, connection.alias)
    found = _SQL.get(key)
    if found is None:
        meta = model._meta
        auto = meta.pk if meta.pk.db_returning else None
        fields = [f for f in meta.local_concrete_fields if f is not auto]
        quote = connection.ops.quote_name
        sql = "INSERT INTO {} ({}) VALUES ({})".format(
            quote(meta.db_table), ", ".join(quote(f.column) for f in fields), ", ".join(["%s"] * len(fields)))
        if auto is not None and connection.features.can_return_columns_from_insert:
            returning, _params = connection.ops.return_insert_columns([auto])
            sql = f"{sql} {returning}"
        found = _SQL[key] = (sql, fields, auto)
    return found


def insert(obj: models.Model) -> models.Model:
    """Write ``obj`` as a new row with one INSERT; its auto id, if any, is set from the database
    (inside ``batch()``: when the batch is written)."""
    model = type(obj)
    using = router.db_for_write(model, instance=obj)
    connection = connections[using]
    sql, fields, auto = _statement(model, connection)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection=connection) for f in fields]
    pending = getattr(_batches, "stack", None)
    if pending:
        pending[-1].append((obj, using, sql, params, auto))
        return obj
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if auto is not None:
            if connection.features.can_return_columns_from_insert:
                value = cursor.fetchone()[0]
            else:
                value = connection.ops.last_insert_id(cursor, model._meta.db_table, auto.column or auto.attname)
            setattr(obj, auto.attname, value)
    obj._state.adding = False
    obj._state.db = using
    refcache.model_changed(model, using)
    return obj


@contextmanager
def batch() -> Iterator[None]:
    """Rows given to ``insert`` inside the block are written together when it ends without error
    (and not at all when it raises). Use it inside the write's transaction."""
    stack = _batches.__dict__.setdefault("stack", [])
    stack.append([])
    try:
        yield
    except BaseException:
        stack.pop()
        raise
    _write(stack.pop())


def _write(rows: list) -> None:
    by_db: dict[str, list] = {}
    for row in rows:
        by_db.setdefault(row[1], []).append(row)
    for using, mine in by_db.items():
        connection = connections[using]
        if connection.vendor != "postgresql" or len(mine) == 1:
            for obj, *_rest in mine:
                insert(obj)
            continue
        # One statement: each INSERT is a step of a WITH, and the final SELECT returns the auto
        # ids. PostgreSQL runs every step whether or not the SELECT reads it. (psycopg's pipeline
        # mode, one round trip too, was measured to cost more, with or without the BEGIN in it.)
        template = _batch_template(connection, [row[0] for row in mine])
        returned = [(obj, auto) for obj, _using, _sql, _values, auto in mine if auto is not None]
        with connection.cursor() as cursor:
            cursor.execute(_with_literals(connection, template, [v for row in mine for v in row[3]]))
            ids = cursor.fetchone()
        for (obj, auto), value in zip(returned, ids, strict=True):
            setattr(obj, auto.attname, value)
        for obj, *_rest in mine:
            obj._state.adding = False
            obj._state.db = using
        for model in {type(obj) for obj, *_rest in mine}:
            refcache.model_changed(model, using)


_TEMPLATES: dict[tuple, list[str]] = {}


def _batch_template(connection, objs: list) -> list[str]:
    """The batch's statement for rows of these models in this order, cut at its placeholders
    (made once per shape: our statements hold no other ``%s`` than the placeholders)."""
    key = (connection.alias, *(type(obj)._meta.label for obj in objs))
    found = _TEMPLATES.get(key)
    if found is None:
        steps, selects = [], []
        for i, obj in enumerate(objs):
            sql, _fields, auto = _statement(type(obj), connection)
            steps.append(f"i{i} AS ({sql})")
            if auto is not None:
                selects.append(f"(SELECT {connection.ops.quote_name(auto.column)} FROM i{i})")
        found = _TEMPLATES[key] = f"WITH {', '.join(steps)} SELECT {', '.join(selects) or '1'}".split("%s")
    return found


def _with_literals(connection, template: list[str], params: list) -> str:
    """The statement with each parameter written in as psycopg's literal for it. psycopg keeps
    its parsing of a statement only up to 50 parameters, and a batch has more: parsed afresh
    each time, it cost as much as the rest of the batch."""
    from psycopg.adapt import Transformer

    transformer = Transformer(connection.connection)
    encoding = connection.connection.info.encoding
    out = [template[0]]
    for value, rest in zip(params, template[1:], strict=True):
        out.append("NULL" if value is None else transformer.as_literal(value).decode(encoding))
        out.append(rest)
    return "".join(out)
