"""``{% place node %}``: where a row's node is, named below the reader's own level
(``grid.places``). A list page puts its ``Places`` in the context as ``places`` (built once
for the page's rows: no query per row); without it, the tag reads the one node it is given."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from tongxin.grid.places import Places, path_of

register = template.Library()


@register.simple_tag(takes_context=True)
def place(context, node) -> str:
    if node is None or not path_of(node):
        return ""
    places = context.get("places")
    if not isinstance(places, Places):
        request = context.get("request")
        places = Places(getattr(request, "user", None), [node])
    code = path_of(node).strip("/").rsplit("/", 1)[-1]
    return format_html('<span class="place" data-code="{}">{}</span>', code, places.text(node))
