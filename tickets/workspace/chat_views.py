"""The agents' chat console: the waiting queue by tier, one's own chats, and one chat.

Talking happens over the workspace socket (static/js/agent_chat.js); taking, passing on,
escalating and ending a chat are forms here, each one checked service call.
"""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from knowledge.selectors import article_answers
from tickets import policy, selectors
from tickets.errors import DomainError
from tickets.ids import id_from
from tickets.models import ChatSession, ChatStatus, Macro, MessageKind, Ticket
from tickets.services import assignee_by_id, macro_render
from tickets.services import chat as chats
from tickets.workspace import sidebar
from tickets.workspace.access import agent_required
from tickets.workspace.forms import NoteForm, TierMoveForm
from tickets.workspace.views import _sidebar, _user


def _lists(request: HttpRequest) -> dict[str, Any]:
    my_tiers = sidebar.agent_setup(_user(request)).my_tier_ids
    related = ("ticket", "ticket__customer", "tier", "agent")
    return {
        "waiting": list(
            ChatSession.objects.filter(status=ChatStatus.WAITING, tier_id__in=my_tiers)
            .select_related(*related)
            .order_by("created_at")
        ),
        "mine": list(
            ChatSession.objects.filter(status=ChatStatus.ACTIVE, agent=_user(request))
            .select_related(*related)
            .order_by("accepted_at")
        ),
    }


@agent_required
@require_safe
def chat_list(request: HttpRequest) -> HttpResponse:
    my_tiers = sidebar.agent_setup(_user(request)).my_tier_ids
    team = selectors.team_availability(my_tiers, now=timezone.now())
    me = next((member for member in team if member.user_id == request.user.pk), None)
    context = {**_sidebar(request), **_lists(request), "view": "chats", "team": team, "me": me}
    return render(request, "agent/chats.html", context)


def _chat_or_404(chat_id: int) -> ChatSession:
    chat = ChatSession.objects.select_related("ticket__customer", "tier", "agent").filter(
        pk=chat_id
    )
    found = chat.first()
    if found is None:
        raise Http404("No such chat.")
    return found


def _notes(ticket: Ticket) -> list[Any]:
    return list(
        ticket.messages.filter(kind=MessageKind.NOTE).select_related("author_user").order_by("id")
    )


@agent_required
@require_safe
def chat_console(request: HttpRequest, chat_id: int) -> HttpResponse:
    chat = _chat_or_404(chat_id)
    ticket = chat.ticket
    first = ticket.messages.filter(kind=MessageKind.INBOUND).order_by("id").first()
    context = {
        **_sidebar(request),
        **_lists(request),
        "view": "chats",
        "chat": chat,
        "transcript": chats.chat_messages(chat),
        "notes": _notes(ticket),
        "note_form": NoteForm(),
        "history": Ticket.objects.filter(customer=ticket.customer)
        .exclude(pk=ticket.pk)
        .order_by("-created_at")[:10],
        "contacts": ticket.customer.contact_points.all(),
        "suggestions": article_answers(
            f"{ticket.subject}\n{first.body_text if first else ''}",
            limit=5,
            include_agent_only=True,
        ),
        "macros": [
            (m, macro_render(m, ticket=ticket, agent=_user(request)))
            for m in Macro.objects.filter(is_active=True)
        ],
        # Away colleagues take no chats (tickets.services.chat): not offered.
        "tier_agents": [
            (member.user_id, member.name)
            for member in selectors.team_availability(
                [chat.tier_id], now=timezone.now(), workers_only=True
            )
            if member.user_id != chat.agent_id and member.is_available
        ],
        "escalate_form": TierMoveForm(initial={"tier": min(chat.tier.level + 1, 3)}),
        "holder": policy.holds_chat(_user(request), chat),
        "public_base": settings.PUBLIC_BASE_URL,
    }
    return render(request, "agent/chat.html", context)


def _act(request: HttpRequest, chat_id: int, action: Any, done: str) -> HttpResponse:
    try:
        action()
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("agent:chats")
    messages.success(request, done)
    return redirect("agent:chat", chat_id=chat_id)


@agent_required
@require_POST
def chat_accept(request: HttpRequest, chat_id: int) -> HttpResponse:
    agent = _user(request)
    return _act(
        request,
        chat_id,
        lambda: chats.chat_accept(chat_id=chat_id, agent=agent),
        _("Chat accepted: the customer sees you are here."),
    )


@agent_required
@require_POST
def chat_transfer(request: HttpRequest, chat_id: int) -> HttpResponse:
    agent_id = id_from(request.POST.get("agent", ""))
    if agent_id is None:
        messages.error(request, _("Choose the agent to pass the chat to."))
        return redirect("agent:chat", chat_id=chat_id)
    actor = _user(request)

    def transfer() -> None:
        chats.chat_transfer(chat_id=chat_id, to_agent=assignee_by_id(agent_id), actor=actor)

    return _act(request, chat_id, transfer, _("Chat passed on."))


@agent_required
@require_POST
def chat_escalate(request: HttpRequest, chat_id: int) -> HttpResponse:
    form = TierMoveForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("To escalate, give the target tier, a reason and a hand-off note.")
        )
        return redirect("agent:chat", chat_id=chat_id)
    data, actor = form.cleaned_data, _user(request)
    return _act(
        request,
        chat_id,
        lambda: chats.chat_escalate(
            chat_id=chat_id,
            tier_level=data["tier"],
            reason=data["reason"],
            handoff_note=data["handoff_note"],
            actor=actor,
        ),
        _("Chat escalated to tier %(level)s; it waits in that tier's chat queue.")
        % {"level": data["tier"]},
    )


@agent_required
@require_POST
def chat_end(request: HttpRequest, chat_id: int) -> HttpResponse:
    actor = _user(request)
    return _act(
        request,
        chat_id,
        lambda: chats.chat_end(chat_id=chat_id, by="agent", actor=actor),
        _("Chat ended. The ticket stays open for anything to follow up by email."),
    )
