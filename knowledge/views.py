"""The public knowledge-base portal: readable without JavaScript, on any screen."""

import secrets

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext, gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from helpdesk.ratelimit import client_address, count_hit
from helpdesk.text import search_text
from knowledge import selectors, services
from knowledge.models import Article, SearchSource
from knowledge.tracking import search_id_from_token, search_token
from tickets.roles import is_staff_member

VOTER_SESSION_KEY = "kb_voter"


class FeedbackForm(forms.Form):
    helpful = forms.TypedChoiceField(
        choices=[("yes", "Yes"), ("no", "No")],
        coerce=lambda v: v == "yes",
        error_messages={
            "required": gettext_lazy("Choose yes or no."),
            "invalid_choice": gettext_lazy("Choose yes or no."),
        },
    )
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea)
    search = forms.CharField(required=False, max_length=200)  # the search that led here


def _staff(request: HttpRequest) -> bool:
    return is_staff_member(request.user)


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    language = get_language()
    context = selectors.portal_home(include_agent_only=_staff(request), language=language)
    selectors.articles_in_language([*context["popular"], *context["recent"]], language)
    return render(request, "kb/home.html", context)


@require_safe
def category(request: HttpRequest, category_slug: str) -> HttpResponse:
    current = selectors.category_for_reader(slug=category_slug, include_agent_only=_staff(request))
    if current is None:
        raise Http404
    children = list(current.children.all())
    articles = selectors.readable_articles(include_agent_only=_staff(request)).filter(
        category__in=[current, *children]
    )
    selectors.categories_in_language([current, current.parent, *children], get_language())
    return render(
        request,
        "kb/category.html",
        {
            "category": current,
            "articles": selectors.articles_in_language(
                list(articles.order_by("title")), get_language()
            ),
            "children": children,
        },
    )


def _article_or_404(request: HttpRequest, category_slug: str, slug: str) -> Article:
    found = selectors.article_for_reader(slug=slug, include_agent_only=_staff(request))
    if found is None or found.category.slug != category_slug:
        raise Http404
    return found


def _article_page(
    request: HttpRequest, found: Article, *, token: str | None, form: FeedbackForm, status: int
) -> HttpResponse:
    related = selectors.related_articles(found, include_agent_only=_staff(request))
    # The reader's language where the article is translated (read only, never saved).
    selectors.articles_in_language([found, *related], get_language())
    selectors.categories_in_language([found.category], get_language())
    context = {
        "article": found,
        "search_token": token if search_id_from_token(token) is not None else "",
        "related": related,
        "form": form,
    }
    return render(request, "kb/article.html", context, status=status)


@require_safe
def article(request: HttpRequest, category_slug: str, slug: str) -> HttpResponse:
    found = selectors.article_for_reader(slug=slug, include_agent_only=_staff(request))
    if found is None:
        raise Http404
    if (found.category.slug, found.slug) != (category_slug, slug):
        # Moved to another topic, or given another address: links sent before lead here.
        url = reverse("kb-article", args=[found.category.slug, found.slug])
        query = request.META.get("QUERY_STRING", "")
        return redirect(f"{url}?{query}" if query else url)
    if "voted" not in request.GET:  # back from "Was this helpful?": not a second reading
        services.article_record_view(article=found, reader=_reader(request))
    token = request.GET.get("search")
    services.search_record_click(search_id=search_id_from_token(token), article=found)
    return _article_page(request, found, token=token, form=FeedbackForm(), status=200)


def _reader(request: HttpRequest) -> str:
    """Who reads, without a cookie for it: the signed-in person, else the browser as its
    address and User-Agent tell it (readers behind one address with one browser count
    once)."""
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"address:{client_address(request)}:{request.META.get('HTTP_USER_AGENT', '')}"


def _voter(request: HttpRequest) -> str:
    """Who answers "Was this helpful?": the signed-in person, else this browser (a random
    id kept in its session), so that answering again changes the answer."""
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    visitor = request.session.get(VOTER_SESSION_KEY)
    if not isinstance(visitor, str) or not visitor:
        visitor = request.session[VOTER_SESSION_KEY] = secrets.token_hex(16)
    return f"visitor:{visitor}"


@require_http_methods(["GET", "HEAD", "POST"])
def feedback(request: HttpRequest, category_slug: str, slug: str) -> HttpResponse:
    found = _article_or_404(request, category_slug, slug)
    url = reverse("kb-article", args=[found.category.slug, found.slug])
    if request.method != "POST":  # e.g. the language switch on a refused answer's page
        return redirect(url)
    form = FeedbackForm(request.POST)
    if not form.is_valid():  # the page again, with what the reader wrote
        token = form.data.get("search")
        return _article_page(request, found, token=token, form=form, status=400)
    address = client_address(request)
    # One reader answers once per article (a second answer changes the first); the limit per
    # address stops a script that drops its cookies to answer again and again.
    votes = count_hit(f"kb-vote:ip:{address}", window_seconds=3600)
    if votes > settings.HELPDESK_KB_VOTES_PER_HOUR:
        messages.error(
            request, gettext("Too many answers from your network just now. Please try later.")
        )
        return redirect(f"{url}?voted=1")
    services.article_record_feedback(
        article=found,
        helpful=form.cleaned_data["helpful"],
        comment=form.cleaned_data["comment"],
        voter=_voter(request),
        search_id=search_id_from_token(form.cleaned_data["search"]),
    )
    messages.success(request, gettext("Thank you for your feedback."))
    return redirect(f"{url}?voted=1")


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    query = search_text(request.GET.get("q", ""))
    if not query:
        return render(request, "kb/search.html", {"query": query, "hits": []})
    staff = _staff(request)
    hits = selectors.article_answers(query, include_agent_only=staff, language=get_language())
    logged = services.search_record(
        query=query, source=SearchSource.PORTAL, results_count=len(hits), by_agent=staff
    )
    context = {"query": query, "hits": hits, "search_token": search_token(logged.pk)}
    return render(request, "kb/search.html", context)
