"""Reports for admins, shown inside the Django admin's frame."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tickets.reports import self_service_report
from tickets.roles import is_admin

PERIODS = [(7, "Last 7 days"), (30, "Last 30 days"), (90, "Last 90 days"), (365, "Last year")]


class PeriodForm(forms.Form):
    days = forms.TypedChoiceField(choices=PERIODS, coerce=int, initial=30, label="Period")


def self_service(request: HttpRequest) -> HttpResponse:
    if not is_admin(request.user):
        raise PermissionDenied
    form = PeriodForm(request.GET or {"days": 30})
    days = form.cleaned_data["days"] if form.is_valid() else 30
    report = self_service_report(days=days, now=timezone.now())
    context = {
        **admin.site.each_context(request),
        "title": "Self-service and deflection",
        "form": form,
        "report": report,
    }
    return render(request, "admin/reports/self_service.html", context)
