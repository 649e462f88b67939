"""Writes about people, by use: ``accounts`` (creating accounts, granting and revoking roles,
the account lifecycle) and ``authentication`` (logins with lockout and the second factor, API
tokens and web sessions). A resident account's link to its household is the registry's
(``registry.services``)."""

from tongxin.people.services.accounts import (
    account_get,
    password_change,
    password_reset,
    role_grant,
    role_grant_check,
    role_revoke,
    second_factor_reset,
    user_create,
    user_in_reach,
    user_set_active,
    username_clean,
)
from tongxin.people.services.authentication import (
    authenticate,
    login_second_factor,
    needs_second_factor,
    presenting_token_digest,
    session_end,
    session_id,
    sessions_end_all,
    sessions_of,
    token_issue,
    token_logout,
    token_revoke,
    token_user,
    tokens_of,
    tokens_revoke_all,
    totp_confirm,
    totp_secret,
    totp_setup,
    totp_uri,
    totp_use_step,
)
from tongxin.people.services.throttle import login_lock_lift

__all__ = ["account_get", "authenticate", "login_lock_lift", "login_second_factor", "needs_second_factor",
           "password_change", "password_reset", "presenting_token_digest", "role_grant", "role_grant_check",
           "role_revoke", "second_factor_reset", "session_end", "session_id", "sessions_end_all", "sessions_of",
           "token_issue", "token_logout", "token_revoke", "token_user", "tokens_of", "tokens_revoke_all",
           "totp_confirm", "totp_secret", "totp_setup", "totp_uri", "totp_use_step", "user_create",
           "user_in_reach", "user_set_active", "username_clean"]
