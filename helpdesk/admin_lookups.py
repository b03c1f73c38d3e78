"""The admin's lookups as one types (its autocomplete), for every model at once."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse


def autocomplete(request: HttpRequest) -> HttpResponse:
    """Django's autocomplete, with a NUL character in what was typed passed over: PostgreSQL
    cannot compare one (it was a server error). The lists' own search boxes refuse it."""
    term = request.GET.get("term", "")
    if "\x00" in term:
        query = request.GET.copy()
        query["term"] = term.replace("\x00", "")
        request.GET = query  # type: ignore[assignment]  # a copy: Django's stays read-only
    return admin.site.autocomplete_view(request)


# Signed in as staff, as every admin page (the site's own wrapper).
autocomplete_view = admin.site.admin_view(autocomplete)
