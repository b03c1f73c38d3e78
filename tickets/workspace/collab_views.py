"""Working a ticket together from its page: follow it, relate it to another, write to a
third party in a side conversation; and the colleagues the note box's @ offers."""

import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from tickets.collab import selectors as collab_selectors
from tickets.collab import services as collab
from tickets.errors import DomainError, InvalidInput
from tickets.models import SideConversation, Ticket
from tickets.workspace.access import agent_required
from tickets.workspace.forms import SideReplyForm, SideStartForm
from tickets.workspace.views import _ticket_or_404, _ticket_page


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _back(ticket_id: int, anchor: str = "") -> HttpResponse:
    response = redirect("agent:ticket", ticket_id=ticket_id)
    if anchor:
        response["Location"] += f"#{anchor}"
    return response


def _act(
    request: HttpRequest, ticket_id: int, action: Callable[[], Any], done: str, anchor: str = ""
) -> HttpResponse:
    """Run one service; a refusal comes back as an error message on the ticket page."""
    try:
        action()
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return _back(ticket_id, anchor)


@agent_required
@require_POST
def follow(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = get_object_or_404(Ticket, pk=ticket_id)
    if request.POST.get("follow") == "0":
        collab.ticket_unfollow(ticket=ticket, actor=_user(request))
        messages.success(
            request, _("You no longer follow %(reference)s.") % {"reference": ticket.reference}
        )
    else:
        collab.ticket_follow(ticket=ticket, actor=_user(request))
        messages.success(
            request,
            _("You follow %(reference)s: you will hear of its news.")
            % {"reference": ticket.reference},
        )
    return _back(ticket_id, "followers-title")


_REFERENCE = re.compile(rf"^\s*(?:#|{re.escape(settings.HELPDESK_TICKET_PREFIX)}-)?(\d+)\s*$", re.I)


def _other_ticket(raw: str) -> Ticket:
    match = _REFERENCE.match(raw)
    other = Ticket.objects.filter(pk=int(match.group(1))).first() if match else None
    if other is None:
        raise InvalidInput(
            _("No ticket %(given)r: give its reference, like HD-42.") % {"given": raw.strip()}
        )
    return other


@agent_required
@require_POST
def link(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = get_object_or_404(Ticket, pk=ticket_id)
    actor = _user(request)
    raw = request.POST.get("other", "")

    def act() -> None:
        other = _other_ticket(raw)
        if request.POST.get("unlink"):
            collab.ticket_unlink(ticket=ticket, other=other, actor=actor)
        else:
            collab.ticket_link(ticket=ticket, other=other, actor=actor)

    done = _("Unlinked.") if request.POST.get("unlink") else _("Linked as related.")
    return _act(request, ticket_id, act, done, "related-title")


@agent_required
@require_POST
def side_start(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Start one with its files; a refusal shows the page again with what was typed."""
    ticket = _ticket_or_404(ticket_id)
    form = SideStartForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            collab.side_conversation_start(
                ticket=ticket, to=data["to"], subject=data["subject"], text=data["text"],
                attachments=form.files_to_send(), actor=_user(request),
                form_key=data["once"],
            )  # fmt: skip
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Side conversation started: the email is on its way."))
            return _back(ticket_id, "side-title")
    _not_sent(request, form)
    return _ticket_page(request, ticket, side_start=form, status=400)


def _conversation(ticket_id: int, side_id: int) -> SideConversation:
    return get_object_or_404(
        SideConversation.objects.select_related("ticket"), pk=side_id, ticket_id=ticket_id
    )


@agent_required
@require_POST
def side_reply(request: HttpRequest, ticket_id: int, side_id: int) -> HttpResponse:
    """Write again with files; a refusal shows the page again with what was typed."""
    conversation = _conversation(ticket_id, side_id)
    form = SideReplyForm(request.POST, request.FILES, conversation_id=conversation.pk)
    if form.is_valid():
        try:
            collab.side_conversation_reply(
                conversation=conversation, text=form.cleaned_data["text"],
                attachments=form.files_to_send(), actor=_user(request),
                form_key=form.cleaned_data["once"],
            )  # fmt: skip
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Sent to the side conversation."))
            return _back(ticket_id, f"side-{side_id}")
    _not_sent(request, form)
    return _ticket_page(request, _ticket_or_404(ticket_id), side_reply=form, status=400)


def _not_sent(request: HttpRequest, form: forms.Form) -> None:
    """Said at the top of the page too: the box with the errors may be far below."""
    said = " ".join(str(error) for errors in form.errors.values() for error in errors)
    messages.error(request, _("Nothing was sent: %(why)s") % {"why": said})


@agent_required
@require_POST
def side_close(request: HttpRequest, ticket_id: int, side_id: int) -> HttpResponse:
    conversation = _conversation(ticket_id, side_id)
    return _act(
        request,
        ticket_id,
        lambda: collab.side_conversation_close(conversation=conversation, actor=_user(request)),
        _("Side conversation closed."),
        f"side-{side_id}",
    )


@agent_required
@require_safe
def mention_choices(request: HttpRequest) -> JsonResponse:
    """The colleagues a note can mention, for what was typed after @ (the note box's list)."""
    return JsonResponse(
        {"results": collab_selectors.mention_choices(request.GET.get("q", "")[:150])}
    )
