"""My settings: an agent's own availability, signatures, notifications, time zone and
language (tickets.services.agent_settings), and the quick available / away switch."""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from tickets.errors import DomainError
from tickets.models import AgentProfile
from tickets.services import agent_settings, notification_prefs
from tickets.services.agent_settings import (
    CHAT_SIGNATURE_MAX,
    SIGNATURE_MAX,
    AgentSettings,
    agent_set_availability,
    agent_settings_update,
)
from tickets.services.signatures import SMS_SIGNATURE_MAX
from tickets.workspace.access import agent_required
from tickets.workspace.preferences import remember
from tickets.workspace.views import _sidebar, _user

_CODE_FIELD = {
    "invalid_time_zone": "time_zone",
    "invalid_language": "language",
}


class MySettingsForm(forms.Form):
    availability = forms.ChoiceField(
        choices=[("available", _("Available")), ("away", _("Away"))],
        widget=forms.RadioSelect,
        label=_("Availability"),
        help_text=_(
            "Away: no tickets are assigned to you automatically and no chats are offered to you."
        ),
    )
    signature = forms.CharField(
        label=_("Email signature"), required=False, max_length=SIGNATURE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip
    sms_signature = forms.CharField(
        label=_("SMS signature"), required=False, max_length=SMS_SIGNATURE_MAX,
        help_text=format_lazy(
            _("Short: at most {limit} characters, added after one space."), limit=SMS_SIGNATURE_MAX
        ),
    )  # fmt: skip
    chat_signature = forms.CharField(
        label=_("Chat signature"), required=False, max_length=CHAT_SIGNATURE_MAX,
        help_text=_("Under replies sent from the ticket page while the customer is in a chat."),
    )  # fmt: skip
    web_signature = forms.CharField(
        label=_("Web signature"), required=False, max_length=SIGNATURE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Under answers to web-form tickets; empty: the email signature."),
    )  # fmt: skip
    email_notifications = forms.BooleanField(
        label=_("Email me notifications"), required=False,
        help_text=_("Then the kinds ticked under Email below are mailed to you."),
    )  # fmt: skip
    time_zone = forms.ChoiceField(required=False, label=_("Time zone"))
    language = forms.ChoiceField(required=False, label=_("Language"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zone, language = self.fields["time_zone"], self.fields["language"]
        assert isinstance(zone, forms.ChoiceField) and isinstance(language, forms.ChoiceField)
        zone.choices = [("", _("The server's time zone"))] + [
            (zone, zone) for zone in agent_settings.time_zones()
        ]
        language.choices = [("", _("My browser's language"))] + [
            (code, f"{name} ({code})") for code, name in agent_settings.languages()
        ]
        for kind, label in notification_prefs.KINDS.items():
            for medium in notification_prefs.MEDIA:
                self.fields[f"notify_{kind}_{medium}"] = forms.BooleanField(
                    required=False,
                    label=(
                        _("%(kind)s: in the workspace")
                        if medium == "app"
                        else _("%(kind)s: by email")
                    )
                    % {"kind": label},
                )

    @staticmethod
    def initial_for(profile: AgentProfile) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "availability": "available" if profile.is_available else "away",
            "signature": profile.signature,
            "sms_signature": profile.sms_signature,
            "chat_signature": profile.chat_signature,
            "web_signature": profile.web_signature,
            "email_notifications": profile.email_notifications,
            "time_zone": profile.time_zone,
            "language": profile.language,
        }
        prefs = notification_prefs.prefs_of(profile.user_id)
        for kind, media in prefs.items():
            for medium, value in media.items():
                initial[f"notify_{kind}_{medium}"] = value
        return initial

    def notification_rows(self) -> list[tuple[str | Promise, Any, Any]]:
        return [
            (label, self[f"notify_{kind}_app"], self[f"notify_{kind}_email"])
            for kind, label in notification_prefs.KINDS.items()
        ]

    def to_settings(self) -> AgentSettings:
        data = self.cleaned_data
        return AgentSettings(
            is_available=data["availability"] == "available",
            signature=data["signature"],
            sms_signature=data["sms_signature"],
            chat_signature=data["chat_signature"],
            web_signature=data["web_signature"],
            email_notifications=data["email_notifications"],
            notifications={
                kind: {m: data[f"notify_{kind}_{m}"] for m in notification_prefs.MEDIA}
                for kind in notification_prefs.KINDS
            },
            time_zone=data["time_zone"],
            language=data["language"],
        )


def _profile(request: HttpRequest) -> AgentProfile | None:
    return AgentProfile.objects.filter(user=_user(request)).first()


@agent_required
@require_http_methods(["GET", "HEAD", "POST"])
def my_settings(request: HttpRequest) -> HttpResponse:
    profile = _profile(request)
    status = 200
    if profile is None:  # an admin without an agent profile
        form = None
    elif request.method == "POST":
        form = MySettingsForm(request.POST)
        if form.is_valid():
            try:
                saved = agent_settings_update(
                    agent=_user(request), data=form.to_settings(), actor=_user(request)
                )
            except DomainError as error:
                form.add_error(_CODE_FIELD.get(error.code), error.message)
            else:
                remember(request, time_zone=saved.time_zone, language=saved.language)
                messages.success(request, _("Your settings are saved."))
                return redirect("agent:my-settings")
        status = 400
    else:
        form = MySettingsForm(initial=MySettingsForm.initial_for(profile))
    context = {**_sidebar(request), "form": form, "profile": profile, "view": "my-settings"}
    return render(request, "agent/my_settings.html", context, status=status)


@agent_required
@require_POST
def my_availability(request: HttpRequest) -> HttpResponse:
    """The quick switch (the chat page): available or away."""
    available = request.POST.get("availability") == "available"
    try:
        agent_set_availability(agent=_user(request), available=available, actor=_user(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("You are available.") if available else _("You are away."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    return redirect(back or "agent:my-settings")
