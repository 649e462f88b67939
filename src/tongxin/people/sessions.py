"""The session engine (``SESSION_ENGINE``): Django's database sessions, with each row
naming its account, the moment of sign-in and the browser, so that sessions can be listed
and ended per account (``people.services.authentication``)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

from tongxin.core import clock

SIGNED_IN_AT = "tongxin_signed_in_at"
USER_AGENT = "tongxin_user_agent"


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls):
        from tongxin.people.models import UserSession

        return UserSession

    def create_model_instance(self, data):
        from tongxin.people.models import UserSession

        row = super().create_model_instance(data)
        assert isinstance(row, UserSession)
        row.user_id = data.get(SESSION_KEY) or None
        signed_in = data.get(SIGNED_IN_AT)
        row.signed_in_at = dt.datetime.fromisoformat(signed_in) if signed_in else None
        row.last_seen_at = clock.now()
        row.user_agent = (data.get(USER_AGENT) or "")[:200]
        return row
