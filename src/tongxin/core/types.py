"""Types shared by every app. ``Actor`` is who a service acts for: the ``actor`` parameter of
every service and selector takes one.

``core`` knows no app, so an actor is described by what the kernel reads of it (an id for
the audit log's foreign key, a name, whether it signed in), not by ``people.User``: a signed-in
user is one, and so is the system actor that ``people.scope`` offers for jobs, the CLI and
the demo seeder."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Actor(Protocol):
    @property
    def pk(self) -> Any: ...

    @property
    def username(self) -> str: ...

    @property
    def is_authenticated(self) -> bool: ...
