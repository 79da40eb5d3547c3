"""People: users, their role assignments, and what those let them see and do."""

from .scope import acting_roles, can_see, holds, role_region
from .tokens import issue_token, revoke_tokens, token_actor
from .users import (
    Actor, Grant, ImportReport, actor, add_user, authenticate, get_user, import_users,
    password_fingerprint, sign_in,
)

__all__ = ["Actor", "Grant", "ImportReport", "actor", "acting_roles", "add_user", "authenticate",
           "can_see", "get_user", "holds", "import_users", "issue_token", "password_fingerprint",
           "revoke_tokens", "role_region", "sign_in", "token_actor"]
