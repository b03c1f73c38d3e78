"""The brand's images and the chat widget's look, served from the kept brand (no query).

Images are served under their content's hash, so browsers and mail readers keep them for
a year; /favicon.ico (asked by browsers of every page that names none) is the brand's
favicon, or the default one shipped in static/.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.http import require_safe

from tickets.branding import current

_YEAR = "public, max-age=31536000, immutable"
DEFAULT_FAVICON = "brand/favicon.png"
DEFAULT_LOGO = "brand/logo.png"


def _image(data: bytes, content_type: str, cache: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Cache-Control"] = cache
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


@require_safe
def logo(request: HttpRequest, version: str) -> HttpResponse:
    look = current()
    if not look.logo:
        return redirect(static(DEFAULT_LOGO))
    if version != look.logo_version:  # an old address: the current logo
        return redirect("brand-logo", look.logo_version)
    return _image(look.logo, look.logo_type, _YEAR)


@require_safe
def favicon(request: HttpRequest, version: str) -> HttpResponse:
    look = current()
    if not look.favicon:
        return redirect(static(DEFAULT_FAVICON))
    if version != look.favicon_version:
        return redirect("brand-favicon", look.favicon_version)
    return _image(look.favicon, look.favicon_type, _YEAR)


@require_safe
def favicon_ico(request: HttpRequest) -> HttpResponse:
    look = current()
    if not look.favicon:
        return redirect(static(DEFAULT_FAVICON))
    return _image(look.favicon, look.favicon_type, "public, max-age=3600")


@require_safe
def widget_look(request: HttpRequest) -> JsonResponse:
    """What the embeddable chat widget (static/chat/widget.js) wears on another site: public,
    so any origin may read it. `lang`: the host page's language, for the button's label."""
    look = current()
    language = request.GET.get("lang", "")
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    with translation.override(language):
        label = (
            gettext("Chat with %(company)s") % {"company": look.company_name}
            if look.company_name
            else gettext("Chat with support")
        )
    response = JsonResponse(
        {
            "name": look.name,
            "label": label,
            "primary": look.primary,
            "primary_ink": look.primary_ink,
            "primary_hover": look.primary_hover,
        }
    )
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=300"
    return response
