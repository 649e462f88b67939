"""Maps without inline scripts: django-leaflet's ``{% leaflet_map %}`` writes an inline <script>,
which the Content-Security-Policy refuses. ``{% leaflet_map_options "name" %}`` writes the same
map options as a JSON data block; the page's own static script creates the map from them."""

from __future__ import annotations

import json

from django import template
from django.utils.html import json_script
from leaflet.templatetags.leaflet_tags import leaflet_map

register = template.Library()


@register.simple_tag
def leaflet_map_options(name: str) -> str:
    return json_script(json.loads(leaflet_map(name)["djoptions"]), f"{name}-options")
