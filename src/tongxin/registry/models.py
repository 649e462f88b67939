"""Households and residents.

Principle 1: needs and services, not suspicion. There are no ethnicity, religion or
political fields, and none may be added. Preferred language is kept because notices
are sent in it. The national ID number is stored encrypted with a keyed search hash.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tongxin.grid.models import NodeScoped
from tongxin.people.models import Language
from tongxin.registry import idnumber


class Household(NodeScoped):
    """A household (户), registered at a household-unit node."""

    scope_household_field = "id"

    number = models.CharField(max_length=32, verbose_name=_("household number"))
    address = models.CharField(max_length=200, verbose_name=_("address"))
    lat = models.FloatField(null=True, blank=True, verbose_name=_("latitude"))
    lon = models.FloatField(null=True, blank=True, verbose_name=_("longitude"))
    phone = models.CharField(max_length=32, blank=True, verbose_name=_("phone"))
    preferred_language = models.CharField(max_length=8, choices=Language.choices, default=Language.BO,
                                          verbose_name=_("preferred language"))
    head_name = models.CharField(max_length=100, blank=True, verbose_name=_("head of household"))
    # Set when the household left the county and its personal data was anonymised
    # (registry.rights.household_anonymise); the row stays, so counts per node stay true.
    anonymised_at = models.DateTimeField(null=True, blank=True, verbose_name=_("anonymised at"))
    anonymised_reason = models.CharField(max_length=200, blank=True, verbose_name=_("why it was anonymised"))

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["node_path", "number"]
        constraints = [models.UniqueConstraint(fields=["node", "number"], name="household_node_number_unique")]
        indexes = [models.Index(fields=["node_path", "updated_at"], name="household_path_changed")]

    def __str__(self) -> str:
        return f"{self.number} {self.head_name}"


class Sex(models.TextChoices):
    FEMALE = "F", _("female")
    MALE = "M", _("male")


class Relation(models.TextChoices):
    HEAD = "head", _("head of household")
    SPOUSE = "spouse", _("spouse")
    CHILD = "child", _("child")
    PARENT = "parent", _("parent")
    GRANDCHILD = "grandchild", _("grandchild")
    SIBLING = "sibling", _("sibling")
    OTHER = "other", _("other relative")


class Resident(NodeScoped):
    """A resident, member of one household; carries the household's node and path."""

    scope_household_field = "household_id"

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="members",
                                  verbose_name=_("household"))
    name = models.CharField(max_length=100, verbose_name=_("name"))
    sex = models.CharField(max_length=1, choices=Sex.choices, verbose_name=_("sex"))
    birth_date = models.DateField(verbose_name=_("birth date"))
    id_number_sealed = models.CharField(max_length=128, verbose_name=_("ID number (encrypted)"))
    id_number_hash = models.CharField(max_length=64, unique=True, verbose_name=_("ID number search hash"))
    id_number_masked = models.CharField(max_length=18, verbose_name=_("ID number (masked)"))
    phone = models.CharField(max_length=32, blank=True, verbose_name=_("phone"))
    relation = models.CharField(max_length=16, choices=Relation.choices, default=Relation.OTHER,
                                verbose_name=_("relation to the head of household"))
    preferred_language = models.CharField(max_length=8, choices=Language.choices, default=Language.BO,
                                          verbose_name=_("preferred language"))
    anonymised_at = models.DateTimeField(null=True, blank=True, verbose_name=_("anonymised at"))

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["node_path", "household_id", "birth_date", "id"]
        indexes = [models.Index(fields=["node_path", "updated_at"], name="resident_path_changed")]

    def __str__(self) -> str:
        return self.name

    @property
    def id_number(self) -> str:
        """The whole number: only for roles that need it (``resident.view_id``); an anonymised
        resident has none."""
        return idnumber.unseal(self.id_number_sealed) if self.id_number_sealed else ""
