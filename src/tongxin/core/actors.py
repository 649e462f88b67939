"""Who acts: a signed-in person, or the platform itself.

There is one way to act without a person: ``SYSTEM``, the system actor, used by periodic
jobs (overdue escalation, auto-close), the command line and the demo seeder. The scope
function knows it (it may do everything, everywhere), the audit log names it ("system"),
and a workflow's table says which steps only it may take. Nothing else switches
authorisation off.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tongxin.core.types import Actor


class SystemActor:
    """The platform acting by itself. Not a database row: ``pk`` is None, so foreign keys
    that record who acted stay empty, and the audit log writes "system"."""

    pk = None
    id = None
    username = "system"
    full_name = ""
    is_authenticated = True
    is_active = True
    is_system = True
    household_id = None
    preferred_language = "zh-hans"
    display_name = _("system")

    def __repr__(self) -> str:
        return "<SYSTEM>"

    def __bool__(self) -> bool:
        return True


SYSTEM = SystemActor()

__all__ = ["SYSTEM", "Actor", "SystemActor", "is_system"]


def is_system(actor: object) -> bool:
    return actor is SYSTEM
