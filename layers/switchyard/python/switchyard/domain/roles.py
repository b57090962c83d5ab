"""The roles a token carries (README, "Roles"); what each may do is the API's (api/auth.py)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    OPERATOR = "operator"
    USER = "user"
    AUDIENCE_ONLY = "audience_only"
