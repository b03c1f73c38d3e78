"""The public knowledge-base portal: readable without JavaScript, on any screen."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_POST, require_safe

from helpdesk.text import search_text
from knowledge import selectors, services
from knowledge.models import SearchSource
from knowledge.tracking import search_id_from_token, search_token
from tickets.roles import is_staff_member


class FeedbackForm(forms.Form):
    helpful = forms.TypedChoiceField(
        choices=[("yes", "Yes"), ("no", "No")], coerce=lambda v: v == "yes"
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


@require_safe
def article(request: HttpRequest, category_slug: str, slug: str) -> HttpResponse:
    found = selectors.article_for_reader(slug=slug, include_agent_only=_staff(request))
    if found is None or found.category.slug != category_slug:
        raise Http404
    if "voted" not in request.GET:  # back from "Was this helpful?": not a second reading
        services.article_record_view(article=found)
    token = request.GET.get("search")
    services.search_record_click(search_id=search_id_from_token(token), article=found)
    related = selectors.related_articles(found, include_agent_only=_staff(request))
    # The reader's language where the article is translated (read only, never saved).
    selectors.articles_in_language([found, *related], get_language())
    selectors.categories_in_language([found.category], get_language())
    return render(
        request,
        "kb/article.html",
        {
            "article": found,
            "search_token": token if search_id_from_token(token) is not None else "",
            "related": related,
            "form": FeedbackForm(),
        },
    )


@require_POST
def feedback(request: HttpRequest, category_slug: str, slug: str) -> HttpResponse:
    found = selectors.article_for_reader(slug=slug, include_agent_only=_staff(request))
    if found is None:
        raise Http404
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Choose yes or no."))
    else:
        services.article_record_feedback(
            article=found,
            helpful=form.cleaned_data["helpful"],
            comment=form.cleaned_data["comment"],
            search_id=search_id_from_token(form.cleaned_data["search"]),
        )
        messages.success(request, gettext("Thank you for your feedback."))
    url = reverse("kb-article", args=[found.category.slug, found.slug])
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
