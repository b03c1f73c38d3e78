"""The languages customers read (settings.LANGUAGES) and how we tell which one a customer
writes: the browser says it (Accept-Language, read by Django's LocaleMiddleware), an email
may say it (Content-Language), else the text itself tells (a stop-word count below).

The detector knows the desk's languages only (English and German): it counts the short
everyday words each language cannot do without and answers only when one clearly
outnumbers the other; measured in tests/i18n/test_detection.py.
"""

import re

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import get_supported_language_variant

# The most common words of each language, leaving out those both use ("an", "in", "so",
# "was"): a few dozen each is enough.
_ENGLISH = """
    the and is are were be been have has had not this that with for you your my me
    we our they it its of to from but can cannot could would should will what when why
    how which there their please thanks thank hello hi any some just get got does did do
    dont doesnt didnt cant isnt still after about if or on at by into
"""

_GERMAN = """
    der die das und ist sind war waren nicht ich mich mir mein meine meinen meiner wir
    uns unser sie ihr ihre ihnen es ein eine einen einem einer mit für von zu zum zur
    auf aus bei nach über wie warum wann wo kann können konnte würde sollte wird werden
    wurde bitte danke hallo guten tag noch schon auch aber oder wenn dass den dem des
    kein keine keinen habe haben hat hatte geht funktioniert leider sehr gerne nur
"""

_STOP_WORDS = {
    "en": frozenset(_ENGLISH.split()),
    "de": frozenset(_GERMAN.split()),
}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# How many stop words the text must hold, and how far ahead the winner must be.
_MIN_HITS = 2
_LEAD = 2.0


def supported_language(code: str | None) -> str:
    """The desk's language for a language code ("de-DE", "de_at", "EN") or "" if none."""
    if not code:
        return ""
    code = code.strip().replace("_", "-").lower()
    try:
        return get_supported_language_variant(code)
    except LookupError:
        return ""


def language_of_text(text: str) -> str:
    """The desk's language `text` is written in, or "" when it cannot tell."""
    counts = dict.fromkeys(_STOP_WORDS, 0)
    for match in _WORD.finditer(text[:5000].lower()):
        word = match.group().replace("'", "")
        for language, words in _STOP_WORDS.items():
            if word in words:
                counts[language] += 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    (best, hits), (_other, other_hits) = ranked[0], ranked[1]
    if hits < _MIN_HITS or hits < _LEAD * other_hits:
        return ""
    return supported_language(best)


def language_of_message(*, text: str, content_language: str = "") -> str:
    """The language an inbound message is written in: its Content-Language header when it
    names one of the desk's languages, else what its text tells ("" when unsure)."""
    for code in content_language.split(","):
        language = supported_language(code)
        if language:
            return language
    return language_of_text(text)


def language_of_browser(*, accept_language: str, chosen: str = "") -> str:
    """The desk's language a browser asks for: the switcher's choice (its cookie), else
    the first of its Accept-Language it supports, by weight ("" when it names none)."""
    if supported_language(chosen):
        return supported_language(chosen)
    ranked = []
    for position, part in enumerate(accept_language.split(",")):
        code, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if code and code != "*" and weight > 0:
            ranked.append((-weight, position, code))
    for _weight, _position, code in sorted(ranked):
        language = supported_language(code)
        if language:
            return language
    return ""


def language_of_request(request: HttpRequest) -> str:
    """The language a visitor's browser told this request (what LocaleMiddleware chose
    from it), or "" when it told none."""
    return language_of_browser(
        accept_language=request.META.get("HTTP_ACCEPT_LANGUAGE", ""),
        chosen=request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, ""),
    )


def default_language() -> str:
    return supported_language(settings.LANGUAGE_CODE) or "en"
