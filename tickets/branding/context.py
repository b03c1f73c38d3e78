"""The brand for every template (a context processor): lazy, and read from the kept brand,
so a page asks the database nothing for it."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from tickets.branding import current


def brand(request: HttpRequest) -> dict[str, Any]:
    return {"brand": SimpleLazyObject(current)}
