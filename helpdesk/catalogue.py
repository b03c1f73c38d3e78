"""The scripts' strings in one language (Django's JavaScriptCatalog), built once per
language and version and kept: the agent workspace's (`/agent/jsi18n/`, where My settings
applies) and the customer pages' (`/jsi18n/`, the chat).

Pages link the catalogue of their language at a URL that names the language and the
catalogue's version (`/agent/jsi18n/de/?v=…`), so a browser keeps it for a year and the
server builds it once into the cache: the same for every reader of that language. A
deploy with other translations (or another Django) is another version, so another URL and
another cache entry, never the old catalogue. The unnamed URLs (the language of the
request) are still served, from the same cache, not kept.
"""

import gettext
import hashlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import django
from django.apps import apps
from django.conf import settings
from django.core.cache import cache as shared_cache
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.views.i18n import JavaScriptCatalog, get_formats

from helpdesk.languages import supported_language

DOMAIN = "djangojs"
KEPT_SECONDS = 365 * 24 * 3600


def catalogue_url(language: str, url_name: str = "agent:javascript-catalog-language") -> str:
    """The URL of the catalogue in `language` (one of settings.LANGUAGES), as pages link it:
    the workspace's, or the customer pages' under `url_name`."""
    url = reverse(url_name, args=[language])
    return f"{url}?v={catalogue_version(language)}"


def page_language() -> str:
    """The language of the page being made, as one of settings.LANGUAGES."""
    return supported_language(translation.get_language()) or settings.LANGUAGE_CODE


def catalogue_version(language: str) -> str:
    """Changes whenever the catalogue may: a digest of what it is built from, the compiled
    translation files, the language's date and number formats and Django's version (the
    same on every server of one release).

    Read once per process (process_version): a process reads each translation file once too
    (gettext keeps it), so a version read later could name a catalogue the process cannot
    build. Under the development server (DEBUG), which reloads translations when they are
    compiled again, it is read every time."""
    return _version(language) if settings.DEBUG else process_version(language)


def _version(language: str) -> str:
    digest = hashlib.sha256(django.get_version().encode())
    for path in _translation_files(language):
        digest.update(path.read_bytes())
    with translation.override(language):
        digest.update(repr(sorted(get_formats().items())).encode())
    return digest.hexdigest()[:12]


process_version = cache(_version)


def _translation_files(language: str) -> list[Path]:
    """The djangojs files a catalogue in `language` is made of, where Django's translation
    looks for them (its own, the apps', LOCALE_PATHS), with the default language's (the
    fallback for strings not translated)."""
    folders = [
        Path(django.__file__).parent / "conf" / "locale",
        *(Path(app.path) / "locale" for app in apps.get_app_configs()),
        *(Path(folder) for folder in settings.LOCALE_PATHS),
    ]
    codes = [translation.to_locale(code) for code in sorted({language, settings.LANGUAGE_CODE})]
    return [
        Path(path)
        for folder in folders
        if folder.is_dir()
        for path in gettext.find(DOMAIN, str(folder), languages=codes, all=True)
    ]


class ScriptCatalogue(JavaScriptCatalog):
    """The catalogue in the URL's language (else the page's), from the cache when it was
    built before; kept by browsers for a year when asked for by its current version."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        named = kwargs.pop("language", "")
        if named and named not in dict(settings.LANGUAGES):
            raise Http404
        language = named or page_language()
        version = catalogue_version(language)
        key = f"jsi18n:{language}:{version}"
        content = shared_cache.get(key)
        if content is None:
            with translation.override(language):
                content = super().get(request, *args, **kwargs).content
            shared_cache.set(key, content, KEPT_SECONDS)
        response = HttpResponse(content, content_type='text/javascript; charset="utf-8"')
        response["Content-Language"] = language
        if named and request.GET.get("v") == version:
            patch_cache_control(response, public=True, max_age=KEPT_SECONDS, immutable=True)
            # The URL names all it depends on: not the cookies or Accept-Language that the
            # session and locale middleware would add to Vary (KeptWhole removes them).
            response.kept_whole = True  # type: ignore[attr-defined]
        return response


class KeptWhole:
    """Drops Vary from a response its view marked `kept_whole` (a versioned URL naming its
    language), which the session and locale middleware inside this one added: a browser
    keeps it whatever cookies come and go. Place it before SessionMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(response, "kept_whole", False) and response.has_header("Vary"):
            del response["Vary"]
        return response
