"""基层治理一张网: the network, one ``Node`` table from region down to household unit.

Rule: every record that belongs somewhere carries its node and a copy of the node's
``path``, so "everything under this node" is one indexed prefix match and a roll-up to
a node's children is one GROUP BY over a path prefix of fixed length.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tongxin.core.i18n import localized
from tongxin.core.models import BaseModel


class Level(models.TextChoices):
    REGION = "region", _("region")
    PREFECTURE = "prefecture", _("prefecture")
    COUNTY = "county", _("county")
    TOWNSHIP = "township", _("township")
    VILLAGE = "village", _("village")
    GRID = "grid", _("grid")
    UNIT = "unit", _("household unit")


LEVEL_ORDER = [Level.REGION, Level.PREFECTURE, Level.COUNTY, Level.TOWNSHIP, Level.VILLAGE, Level.GRID, Level.UNIT]
# Codes have one length per level (national division codes down to village, then a
# three-digit suffix), so all children of a node have paths of the same length.
CODE_LENGTH = {
    Level.REGION: 6,
    Level.PREFECTURE: 6,
    Level.COUNTY: 6,
    Level.TOWNSHIP: 9,
    Level.VILLAGE: 12,
    Level.GRID: 15,
    Level.UNIT: 18,
}


class Node(BaseModel):
    """One place in the network: region, prefecture, county (县), township (乡镇),
    village (村), grid (网格) or household unit (联户单元)."""

    scope_path_field = "path"

    code = models.CharField(max_length=18, unique=True, verbose_name=_("code"))
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                               verbose_name=_("parent"))
    level = models.CharField(max_length=16, choices=Level.choices, verbose_name=_("level"))
    path = models.CharField(max_length=255, unique=True, verbose_name=_("path"))
    name_zh = models.CharField(max_length=100, verbose_name=_("name (Chinese)"))
    name_bo = models.CharField(max_length=200, blank=True, verbose_name=_("name (Tibetan)"))
    name_en = models.CharField(max_length=100, blank=True, verbose_name=_("name (English)"))
    boundary = models.JSONField(null=True, blank=True, verbose_name=_("boundary (GeoJSON)"))
    centre_lat = models.FloatField(null=True, blank=True, verbose_name=_("centre latitude"))
    centre_lon = models.FloatField(null=True, blank=True, verbose_name=_("centre longitude"))

    class Meta:
        verbose_name = _("node")
        verbose_name_plural = _("nodes")
        ordering = ["path"]
        indexes = [
            models.Index(fields=["parent", "code"], name="node_parent_code"),
            models.Index(fields=["level", "path"], name="node_level_path"),
            models.Index(fields=["path", "updated_at"], name="node_path_changed"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def depth(self) -> int:
        return self.path.strip("/").count("/") + 1

    @property
    def county_code(self) -> str:
        from tongxin.core.audit import chain_for

        return chain_for(self.path)

    def ancestor_paths(self) -> list[str]:
        parts = self.path.strip("/").split("/")
        return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


class NodeScoped(BaseModel):
    """A record that belongs at a node and carries a copy of the node's path."""

    scope_path_field = "node_path"

    node = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="+", verbose_name=_("node"))
    node_path = models.CharField(max_length=255, db_index=True, verbose_name=_("node path"))

    class Meta:
        abstract = True


class Department(NodeScoped):
    """A government department at a county or township node (water, housing, civil affairs, …)."""

    code = models.SlugField(max_length=40, verbose_name=_("code"))
    name_zh = models.CharField(max_length=100, verbose_name=_("name (Chinese)"))
    name_bo = models.CharField(max_length=200, blank=True, verbose_name=_("name (Tibetan)"))
    name_en = models.CharField(max_length=100, blank=True, verbose_name=_("name (English)"))
    phone = models.CharField(max_length=32, blank=True, verbose_name=_("phone"))

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["node_path", "code"]
        constraints = [models.UniqueConstraint(fields=["node", "code"], name="department_node_code_unique")]
        indexes = [models.Index(fields=["node_path", "updated_at"], name="department_path_changed")]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localized(self, "name")
