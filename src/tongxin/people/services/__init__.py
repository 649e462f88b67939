"""Writes about people, by use: ``accounts`` (creating accounts, granting roles) and
``authentication`` (logins with lockout and the second factor, API tokens). A resident
account's link to its household is the registry's (``registry.services``)."""

from tongxin.people.services.accounts import role_grant, user_create
from tongxin.people.services.authentication import (
    authenticate,
    login_second_factor,
    needs_second_factor,
    token_issue,
    token_user,
    totp_confirm,
    totp_secret,
    totp_setup,
    totp_uri,
    totp_use_step,
)
from tongxin.people.services.throttle import login_lock_lift

__all__ = ["authenticate", "login_lock_lift", "login_second_factor", "needs_second_factor", "role_grant",
           "token_issue", "token_user", "totp_confirm", "totp_secret", "totp_setup", "totp_uri", "totp_use_step",
           "user_create"]
