"""Signed ids for links and forms: a value nobody can forge or guess, optionally expiring."""

from django.core import signing


class SignedId:
    """Turn an integer id into a signed token and back, for one purpose (the salt)."""

    def __init__(self, salt: str, *, max_age_seconds: int | None = None) -> None:
        self.salt, self.max_age = salt, max_age_seconds

    def token(self, value: int) -> str:
        return signing.dumps(value, salt=self.salt, compress=True)

    def value(self, token: str | None) -> int | None:
        """The id, or None for a missing, forged or (if it expires) too old token."""
        if not token:
            return None
        try:
            value = signing.loads(token, salt=self.salt, max_age=self.max_age)
        except signing.BadSignature:
            return None
        return value if isinstance(value, int) and not isinstance(value, bool) else None
