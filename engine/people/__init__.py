"""People: users, their role assignments, and what those let them see and do."""

from .scope import acting_roles, can_see, holds, role_region
from .sessions import (SessionPolicy, end_session, end_sessions, live_session, resume_session,
                       touch_session)
from .throttle import Limits
from .tokens import issue_token, revoke_tokens, token_actor
from .importing import ImportReport, import_users
from .passwords import password_problem
from .users import (EMAIL_PREFERENCES, Actor, Grant, actor, add_user, authenticate, email_problem,
                    get_user, set_active, set_email, sign_in)

__all__ = ["EMAIL_PREFERENCES", "Actor", "Grant", "ImportReport", "Limits", "SessionPolicy",
           "actor", "acting_roles", "add_user", "authenticate", "can_see", "email_problem",
           "end_session", "end_sessions", "get_user", "holds", "import_users", "issue_token",
           "live_session", "password_problem", "resume_session", "revoke_tokens", "role_region",
           "set_active", "set_email", "sign_in", "token_actor", "touch_session"]
