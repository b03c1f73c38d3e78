"""Reports for admins, shown inside the Django admin's frame."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from helpdesk.text import search_text
from knowledge import services as kb
from knowledge.models import Article
from tickets.reports import self_service_report
from tickets.roles import is_admin

PERIODS = [
    (7, gettext_lazy("Last 7 days")),
    (30, gettext_lazy("Last 30 days")),
    (90, gettext_lazy("Last 90 days")),
    (365, gettext_lazy("Last year")),
]


class PeriodForm(forms.Form):
    days = forms.TypedChoiceField(
        choices=PERIODS, coerce=int, initial=30, label=gettext_lazy("Period")
    )


def self_service(request: HttpRequest) -> HttpResponse:
    if not is_admin(request.user):
        raise PermissionDenied
    form = PeriodForm(request.GET or {"days": 30})
    days = form.cleaned_data["days"] if form.is_valid() else 30
    report = self_service_report(days=days, now=timezone.now())
    context = {
        **admin.site.each_context(request),
        "title": _("Self-service and deflection"),
        "form": form,
        "report": report,
        # Offered as the article's address; the most read first (any other can be typed).
        "articles": Article.objects.filter(status="published")
        .order_by("-view_count", "title")
        .only("slug", "title")[:500],
    }
    return render(request, "admin/reports/self_service.html", context)


class SynonymForm(forms.Form):
    query = forms.CharField(max_length=200)
    means = forms.CharField(max_length=200, label=gettext_lazy("Means the same as"))


class SearchWordsForm(forms.Form):
    query = forms.CharField(max_length=200)
    article = forms.ModelChoiceField(
        queryset=Article.objects.filter(status="published"), to_field_name="slug"
    )


def _back(request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse('report-self-service')}#failed-searches")


@require_POST
def failed_search_as_synonym(request: HttpRequest) -> HttpResponse:
    """One click from a failed search: its words mean the same as words articles use."""
    if not is_admin(request.user):
        raise PermissionDenied
    form = SynonymForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say which words the search means, e.g. “wireless network”."))
        return _back(request)
    try:
        group = kb.synonym_add(words=form.cleaned_data["query"], means=form.cleaned_data["means"])
    except ValidationError as refused:
        query, means = form.cleaned_data["query"], form.cleaned_data["means"]
        messages.error(
            request,
            _("“%(query)s” and “%(means)s”: %(why)s")
            % {"query": query, "means": means, "why": " ".join(refused.messages)},
        )
        return _back(request)
    messages.success(
        request, _("Synonyms now: %(words)s. Articles are re-indexed.") % {"words": group.words}
    )
    return _back(request)


@require_POST
def failed_search_to_article(request: HttpRequest) -> HttpResponse:
    """One click from a failed search: the article answers it; searching so finds it."""
    if not is_admin(request.user):
        raise PermissionDenied
    form = SearchWordsForm(request.POST)
    if not form.is_valid():
        typed = search_text(request.POST.get("article", ""), 220)
        messages.error(
            request,
            _(
                "No published article has the address “%(typed)s”: choose the article that "
                "answers this search from the list (its address, as in the help center's link)."
            )
            % {"typed": typed},
        )
        return _back(request)
    article = kb.article_add_search_words(
        article=form.cleaned_data["article"],
        words=form.cleaned_data["query"],
        actor=request.user if request.user.is_authenticated else None,
    )
    messages.success(
        request,
        _("“%(query)s” now finds “%(article)s”.")
        % {"query": form.cleaned_data["query"], "article": article.title},
    )
    return _back(request)
