"""Drawing a declared table (core.tables) on a page: ``{% load tables %}``.

``{% table_cells table row as cells %}`` gives the (column, value) pairs of one row, and
``{{ value|cell:column }}`` the value as text where the column has no template of its own.
"""

from __future__ import annotations

from typing import Any

from django import template

from tongxin.core.tables import Column, Table, display

register = template.Library()


@register.simple_tag
def table_cells(table: Table, row: Any) -> list[tuple[Column, Any]]:
    return table.cells(row)


@register.filter
def cell(value: Any, column: Column) -> str:
    return display(value, column.kind)
