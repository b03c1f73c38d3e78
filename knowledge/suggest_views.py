"""The contact form's live suggestions (HTMX) and its "this solved my problem" button."""

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_POST, require_safe

from helpdesk.ratelimit import client_address, count_hit
from helpdesk.text import search_text
from knowledge import selectors, services
from knowledge.tracking import search_id_from_token, search_token
from tickets.ids import id_from

SUGGESTIONS_SHOWN = 3


# The contact form's fields kept when a suggestion answered the customer (and their limits).
CONTACT_DRAFT = "contact_draft"
_DRAFT_FIELDS = (
    ("name", 200), ("email", 254), ("about", 30), ("subject", 200), ("description", 20_000),
    ("urgency", 10),
)  # fmt: skip


class SolvedItForm(forms.Form):
    article = forms.IntegerField()
    subject = forms.CharField(required=False, max_length=200)
    suggestion_search = forms.CharField(required=False, max_length=200)


def _form_text(request: HttpRequest) -> tuple[str, str]:
    data = request.GET if request.method in ("GET", "HEAD") else request.POST
    return search_text(data.get("subject", "")), search_text(data.get("description", ""), 20_000)


@require_safe
def suggest(request: HttpRequest) -> HttpResponse:
    """Articles for what the customer has typed so far, as an HTML fragment for the form."""
    # Unmetered while the cache is down: the customer typing is still answered.
    asked = count_hit(f"kb-suggest:ip:{client_address(request)}", window_seconds=60)
    if asked > settings.HELPDESK_KB_SUGGESTIONS_PER_MINUTE:
        return HttpResponse(status=429)
    subject, description = _form_text(request)
    token = request.GET.get("suggestion_search", "")
    if not (subject or description):  # the form is empty again: nothing to look up
        return render(request, "support/_suggestions.html", {"hits": [], "search_token": token})
    hits = selectors.article_answers(
        f"{subject}\n{description}",
        limit=SUGGESTIONS_SHOWN,
        confident=True,
        language=get_language(),
    )
    logged = services.search_revise(
        search_id=search_id_from_token(token),
        query=subject or description[:200],
        results_count=len(hits),
    )
    token = search_token(logged.pk)
    return render(request, "support/_suggestions.html", {"hits": hits, "search_token": token})


@require_POST
def solved_it(request: HttpRequest) -> HttpResponse:
    """The customer found the answer in a suggestion: record it, open no ticket."""
    form = SolvedItForm(request.POST)
    article = None
    if form.is_valid():
        article = selectors.article_for_reader(
            include_agent_only=False, pk=form.cleaned_data["article"]
        )
    if article is None:
        error = gettext("That article is not available. Please send your request instead.")
        return render(request, "support/deflected.html", {"error": error}, status=400)
    address = client_address(request)
    # Past the limit the customer sees the same page; the report's deflections stop counting.
    solved = count_hit(f"kb-solved:ip:{address}", window_seconds=3600)
    if solved <= settings.HELPDESK_KB_SOLVED_PER_HOUR:
        services.deflection_record(
            article=article,
            query=form.cleaned_data["subject"],
            search_id=search_id_from_token(form.cleaned_data["suggestion_search"]),
        )
    # "I still need help" brings the form back as the customer left it (files excepted).
    request.session[CONTACT_DRAFT] = {
        name: search_text(request.POST.get(name, ""), limit) for name, limit in _DRAFT_FIELDS
    }
    selectors.articles_in_language([article], get_language())
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "support/_deflected.html", {"article": article})
    return redirect(f"{reverse('support-deflected')}?article={article.pk}")


@require_safe
def deflected(request: HttpRequest) -> HttpResponse:
    article_id = id_from(request.GET.get("article", ""))
    article = (
        selectors.article_for_reader(include_agent_only=False, pk=article_id)
        if article_id
        else None
    )
    if article is not None:
        selectors.articles_in_language([article], get_language())
    return render(request, "support/deflected.html", {"article": article})
