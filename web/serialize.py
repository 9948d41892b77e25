"""JSON for the whole app: ISO 8601 times (UTC) and the JSON provider.

The API's shapes are declared in ``web/api/schemas.py``; ``user_json`` lends the User shape to
web/auth, whose views build their answers by hand.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache

from flask.json.provider import DefaultJSONProvider

from engine import UserInfo


def iso(value: datetime | None) -> str | None:
    """The engine keeps naive UTC; say so in the string."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat().replace("+00:00", "Z")


class JSONProvider(DefaultJSONProvider):
    """Chinese text unescaped; datetimes inside process data as ISO 8601 too."""

    ensure_ascii = False
    sort_keys = False

    @staticmethod
    def default(o):
        if isinstance(o, datetime):
            return iso(o)
        if isinstance(o, date):
            return o.isoformat()
        if isinstance(o, (set, frozenset, tuple)):
            return list(o)
        return str(o)  # process data may hold values JSON cannot; never fail a response on them


@cache
def _user_schema():
    from .api.schemas import User  # web.api imports web.auth, which imports this module

    return User()


def user_json(u: UserInfo) -> dict:
    return _user_schema().dump(u)
