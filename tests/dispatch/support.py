"""The dispatch tests' short names for the shared factories in tests/factories.py (the
network, requests, the API client, the counters). New tests import from there; these names
stay so that the dispatch tests read as before."""

from __future__ import annotations

from tests import factories
from tests.factories import (
    COUNTY,
    PASSWORD,
    TZ,
    ApiClient,
    Factory,
    Net,
    at,
    audit_count,
    build_net,
    count_queries,
    database_state,
    file_request,
)
from tongxin.grid.models import Department, Node
from tongxin.people.models import User
from tongxin.people.roles import Role
from tongxin.registry.models import Household

__all__ = ["COUNTY", "PASSWORD", "TZ", "ApiClient", "Net", "at", "audit_count", "build_net", "count_queries",
           "database_state", "ensure_categories", "file_request", "login", "make_household", "make_node",
           "make_resident", "make_user"]

_make = Factory(start=9000)


def ensure_categories() -> None:
    _make.categories()


def make_node(code: str, level: str, parent: Node | None) -> Node:
    return _make.node(code=code, level=level, parent=parent)


def make_household(unit: Node, number: str) -> Household:
    return _make.household(unit, number=number, address=f"{number} 路 1 号", head_name="Tashi")


def make_user(name: str, role: str | None, node: Node | None, *, department: Department | None = None,
              language: str = "zh-hans") -> User:
    return _make.user(name, role, node, department=department, language=language)


def make_resident(name: str, household: Household) -> User:
    """A resident's account linked to ``household`` (its reporter's side: it may rate the household's requests)."""
    return _make.link(_make.user(name, Role.RESIDENT, household.node), household)


def login(user: User, language: str | None = "en") -> factories.ApiClient:
    """Log in through the API at the clock's current moment, in English unless told."""
    return factories.login(user, language)
