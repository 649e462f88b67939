"""One plain INSERT for the rows every write appends (the request, its timeline step,
the audit entry, the inbox message).

``Model.save()`` compiles a fresh INSERT through the query compiler each time, and on
the filing path that compiling costs more than the statements themselves (bench/requests.py).
``insert`` keeps the parts of ``save`` these rows need: each field's own ``pre_save`` and
``get_db_prep_save`` (so values are stored exactly as ``save`` stores them, on SQLite
and PostgreSQL alike) and the new auto id read back; the statement text is built once
per model and database.

It is for new rows of plain models only: no signals are sent, no ``save()`` override
runs, and there is no update path. A row of a model the reference cache holds still makes
that cache forget, as the save signal would (``refcache.model_changed``).
``tests/core/test_rows.py`` checks that a row written
this way reads back equal to one written by ``save``.
"""

from __future__ import annotations

from django.db import connections, models, router

from tongxin.core import refcache

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
    """Write ``obj`` as a new row with one INSERT; its auto id, if any, is set from the database."""
    model = type(obj)
    using = router.db_for_write(model, instance=obj)
    connection = connections[using]
    sql, fields, auto = _statement(model, connection)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection=connection) for f in fields]
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
