"""The agent workspace: queues and the ticket page. Each view parses, calls, shapes."""

import json
from typing import Any
from uuid import uuid4

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from helpdesk.text import search_text
from knowledge.selectors import article_answers
from tickets import placeholders, policy, queues, saved_views, selectors, services
from tickets.catalog.selectors import (
    articles_about,
    customer_services,
    offered_products,
    preferring,
)
from tickets.collab import selectors as collab_selectors
from tickets.errors import DomainError, InvalidInput, NotAllowed
from tickets.fields import forms as field_inputs
from tickets.fields import selectors as field_selectors
from tickets.fields.services import ticket_set_fields
from tickets.ids import id_from
from tickets.models import (
    Macro,
    MessageKind,
    Notification,
    Priority,
    SavedView,
    Ticket,
    TicketStatus,
    ViewSharing,
)
from tickets.problems.selectors import open_problems_to_link
from tickets.problems.spikes import NOTIFICATION_KIND as SPIKE_NOTIFICATION
from tickets.services import chat as chats
from tickets.services import desk_setup, sla_clocks
from tickets.services.saved_views import saved_view_save
from tickets.workspace import bulk, sidebar
from tickets.workspace.access import agent_required
from tickets.workspace.forms import (
    NoteForm,
    QueueFilterForm,
    ReplyForm,
    SavedViewForm,
    SideReplyForm,
    SideSelect,
    SideStartForm,
    TierMoveForm,
    filter_query_string,
)
from tickets.workspace.view_views import column_headers

# Events that only repeat a message the timeline already shows.
_MESSAGE_EVENTS = {"message_received", "replied", "note_added", "call_logged"}
# The customer's services (and their organization's) listed beside a ticket.
SERVICES_ON_PAGE = 20
# The fields form's hidden input: the values the page showed (JSON).
SHOWN_FIELDS = "cf-shown"


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _sidebar(request: HttpRequest, also: dict[str, Subquery] | None = None) -> dict[str, Any]:
    return sidebar.sidebar(_user(request), now=timezone.now(), also=also)


@agent_required
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return redirect("agent:queue", view="mine")


@agent_required
@require_safe
def queue(request: HttpRequest, view: str) -> HttpResponse:
    form = QueueFilterForm(request.GET)
    if not form.is_valid():
        context = {**_sidebar(request), "form": form, "view": view, "page": None}
        return render(request, "agent/queue.html", context, status=400)
    user = _user(request)
    try:
        tickets = _queue_tickets(form, view, user)
        if tickets is None:
            raise Http404("No such queue.")
        by_column = form.column_sort()
        cursor = request.GET.get("after", "")
        page: queues.Page | saved_views.Page
        if by_column is None:
            page = queues.queue_page(
                tickets, sort=form.cleaned_data["sort"] or "due", cursor=cursor
            )
        else:
            tickets = saved_views.sorted_by_column(tickets, by_column)
            page = saved_views.column_page(tickets, sort=by_column, cursor=cursor)
    except InvalidInput as error:  # a field condition that cannot hold (tickets.fields)
        form.add_error(None, error.message)
        context = {**_sidebar(request), "form": form, "view": view, "page": None}
        return render(request, "agent/queue.html", context, status=400)
    except (queues.BadCursor, saved_views.BadCursor):
        messages.error(request, _("That page link is not valid any more; here is the first page."))
        return redirect(f"{reverse('agent:queue', args=[view])}?{filter_query_string(request.GET)}")
    field_selectors.attach_shown(page.tickets)  # their custom fields, for all at once
    context = {
        **_sidebar(request),
        "form": form,
        "view": view,
        "page": page,
        "filters": filter_query_string(request.GET),
        "headers": _queue_headers(request, form, by_column),
        "now": timezone.now(),
        "problems_to_link": open_problems_to_link(),
        "works_tickets": sidebar.agent_setup(user).may("work_tickets"),
    }
    return render(request, "agent/queue.html", context)


def _queue_headers(
    request: HttpRequest, form: QueueFilterForm, by_column: tuple[str, bool] | None
) -> list[dict[str, Any]]:
    """The queue's column headers, each a link sorting by it (the filters kept): the next
    deadline first is the queue's own order, shown as that column's."""
    kept = request.GET.copy()
    for name in ("sort", "after"):
        kept.pop(name, None)
    if by_column is None and (form.cleaned_data["sort"] or "due") == "due":
        by_column = ("due", False)
    return column_headers(list(saved_views.QUEUE_COLUMNS), by_column, base=kept.urlencode())


def _column_sort_of(query: str) -> str:
    """A queue page's column sort (sort=-priority, say), for a view saved from it."""
    chosen = QueryDict(query).get("sort", "")
    return chosen if saved_views.parse_sort(chosen, saved_views.QUEUE_COLUMNS) else ""


@agent_required
@require_POST
def save_view(request: HttpRequest) -> HttpResponse:
    """The queue page's "Save these filters": a personal view of this queue and filters."""
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the view a name (up to 80 characters)."))
        return redirect("agent:home")
    data = form.cleaned_data
    user = _user(request)
    why_not = _filters_refused(data["view"], data["query"], user)
    if why_not:  # the queue page shows and saves only filters it can run: a crafted post
        messages.error(request, why_not)
        return redirect("agent:home")
    name = data["name"].strip()
    existing = SavedView.objects.filter(owner=user, name=name).first()
    try:
        saved = saved_view_save(
            view=existing,
            name=name,
            query=f"view={data['view']}&{data['query']}",
            actor=user,
            # A view of that name keeps whom it is shared with: only its filters change.
            sharing=existing.sharing if existing else ViewSharing.PERSONAL,
            tier=existing.tier if existing else None,
            team=existing.team if existing else None,
            columns=existing.columns.split(",") if existing and existing.columns else None,
            sort=existing.sort if existing else _column_sort_of(data["query"]),
        )
    except DomainError as refused:
        messages.error(request, refused.message)
        return redirect(f"{reverse('agent:queue', args=[data['view']])}?{data['query']}")
    messages.success(request, _("Saved view “%(name)s”.") % {"name": saved.name})
    return redirect("agent:saved-view", view_id=saved.pk)


def _queue_tickets(form: QueueFilterForm, view: str, user: User) -> QuerySet[Ticket] | None:
    """The tickets of queue `view` with the form's filters, for `user` (None: no such
    queue); raises InvalidInput for a field condition that cannot hold."""
    return queues.queue_tickets(
        form.to_query(view),
        user=user,
        now=timezone.now(),
        my_tier_ids=sidebar.agent_setup(user).my_tier_ids,
    )


def _filters_refused(view: str, query: str, user: User) -> str:
    """Why a queue's filters cannot be saved as a view (as the queue page would refuse
    them), or "" when they can."""
    filters = QueueFilterForm(QueryDict(query))
    if not filters.is_valid():
        reasons = [str(e) for errors in filters.errors.values() for e in errors]
        return _("These filters cannot be saved: %(reason)s") % {"reason": " ".join(reasons)}
    try:
        tickets = _queue_tickets(filters, view, user)
    except InvalidInput as error:
        return _("These filters cannot be saved: %(reason)s") % {"reason": error.message}
    return "" if tickets is not None else _("There is no such queue to save a view of.")


@agent_required
@require_POST
def bulk_action(request: HttpRequest) -> HttpResponse:
    outcome = bulk.apply(request.POST, actor=_user(request))
    back = request.POST.get("next", "")
    back = back if back.startswith("/agent/") else reverse("agent:home")
    if outcome.to_confirm is not None:
        context = {**_sidebar(request), **outcome.to_confirm, "next": back}
        return render(request, "agent/merge_confirm.html", context)
    if outcome.done:
        done = outcome.done
        messages.success(
            request,
            ngettext("Done for %(count)d ticket.", "Done for %(count)d tickets.", done)
            % {"count": done},
        )
    for said in outcome.said:
        messages.success(request, said)
    for error in outcome.errors:
        messages.error(request, error)
    return redirect(back)


def _ticket_or_404(ticket_id: int) -> Ticket:
    ticket = selectors.ticket_detail(ticket_id, for_page=True)
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


def _timeline(timeline: selectors.Timeline) -> list[dict[str, Any]]:
    # Whom each note mentioned, from its event: the note highlights their names.
    mentioned = {
        e["data"].get("message"): e["data"]["mentions"]
        for e in timeline.events
        if e["kind"] == "note_added" and (e["data"] or {}).get("mentions")
    }
    items: list[dict[str, Any]] = [
        {
            "at": m["created_at"],
            "kind": "message",
            "message": {**m, "mentions": mentioned.get(m["id"])},
        }
        for m in timeline.messages
    ]
    items += [
        {"at": e["created_at"], "kind": "event", "event": e}
        for e in timeline.events
        if e["kind"] not in _MESSAGE_EVENTS
    ]
    return sorted(items, key=lambda item: item["at"])


def _reply_channels(ticket: Ticket, last_inbound: str | None) -> list[tuple[str, str]]:
    """The channels this customer can be answered on, the one they last used first."""
    kinds = {point.kind for point in ticket.customer.contact_points.all()}
    available = [("email", _("Email"))] if "email" in kinds else []
    if "phone" in kinds:
        available.append(("sms", _("SMS")))
    if chats.live_chat_of(ticket) is not None:
        available.append(("chat", _("Live chat")))
    last = last_inbound or ticket.channel
    available.sort(key=lambda choice: choice[0] != last)
    return available


def _clocks(ticket: Ticket) -> list[dict[str, Any]]:
    now = timezone.now()
    rows = []
    # The policies and their calendars (built once) from the desk's set-up: one query.
    policies = desk_setup.current().policies
    for clock in ticket.clocks.order_by("kind", "cycle"):
        state = sla_clocks.explain(clock, now, shared=policies)
        if state is not None:
            rows.append({"clock": clock, "state": state})
    return rows


def _suggestions(ticket: Ticket) -> list[Any]:
    first = ticket.messages.filter(kind=MessageKind.INBOUND).only("body_text").first()
    text = f"{ticket.subject}\n{first.body_text if first else ''}"
    # Articles about the customer's products (and the ticket's) first.
    products = {s.product_id for s in customer_services(ticket.customer)}
    if ticket.product_id is not None:
        products.add(ticket.product_id)
    hits = article_answers(text, limit=5, include_agent_only=True)
    return preferring(hits, articles_about(products))


_NEXT_TICKET_VIEWS = ("mine", "unassigned")


def _next_ticket_lookups(request: HttpRequest, ticket: Ticket) -> dict[str, Subquery]:
    """The ticket to work after this one: my most urgent, else the most urgent unassigned,
    as the queues order them; one single-value lookup per queue, read with the sidebar."""
    user = _user(request)
    lookups = {}
    for view in _NEXT_TICKET_VIEWS:
        tickets = queues.queue_tickets(
            queues.QueueQuery(view=view),
            user=user,
            now=timezone.now(),
            my_tier_ids=sidebar.agent_setup(user).my_tier_ids,
        )
        if tickets is not None:
            # Only its id is shown (a link): no joins, no tags.
            first = tickets.exclude(pk=ticket.pk).select_related(None).prefetch_related(None)
            lookups[f"next_{view}"] = Subquery(first.values("pk")[:1])
    return lookups


def _next_ticket(found: dict[str, int | None]) -> Ticket | None:
    for view in _NEXT_TICKET_VIEWS:
        if found.get(f"next_{view}") is not None:
            return Ticket(pk=found[f"next_{view}"])
    return None


def _abilities(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    """What this agent may do to the ticket (tickets.policy), from their kept set-up: the
    page shows a control only when its action would be allowed."""
    user = _user(request)
    setup = sidebar.agent_setup(user)
    staff = policy.Staff(user.pk, setup.my_tier_ids, setup.is_admin, setup.role)
    level = ticket.tier.level
    # A closed ticket is final: its priority, assignee and tier are shown, not offered.
    final = policy.is_final(ticket)
    moves = [] if final else policy.tier_moves(staff, ticket)
    works_tickets = setup.may("work_tickets")
    return {
        "staff": staff,
        "works_on": policy.works_on(staff, ticket) and not final,
        # Replies, status, tags, macros, what it is about: not for light agents.
        "works_tickets": works_tickets,
        # Tags, fields, what it is about: not once the ticket is closed (final).
        "edits_tickets": works_tickets and not final,
        "may_take": works_tickets
        and not final
        and ticket.tier_id in setup.my_tier_ids
        and ticket.assignee_id != user.pk,
        # (level, label, whether it is the one offered first: the next tier up, if any)
        "tier_moves": [
            (
                n,
                (_("Tier %(level)s (escalate)") if n > level else _("Tier %(level)s (de-escalate)"))
                % {"level": n},
                n == level + 1,
            )
            for n in moves
        ],
    }


def _about(ticket: Ticket) -> dict[str, Any]:
    """What the ticket is about and its problem, with what the agent may choose instead."""
    services_had = list(customer_services(ticket.customer)[:SERVICES_ON_PAGE])
    chosen = ""
    if ticket.service_id:
        chosen = f"service:{ticket.service_id}"
    elif ticket.product_id:
        chosen = f"product:{ticket.product_id}"
    choices = [("", _("Nothing in particular"))]
    choices += [
        (f"service:{s.pk}", _("%(service)s (the customer's)") % {"service": s})
        for s in services_had
    ]
    choices += [(f"product:{p.pk}", p.name) for p in offered_products()]
    return {
        "customer_services": services_had,
        "about_select": SideSelect(control_id="side-about", choices=choices, selected=chosen),
        "problems_to_link": [] if ticket.problem_id else open_problems_to_link(),
    }


def _fields_form(ticket: Ticket, data: Any = None) -> forms.Form:
    """The ticket's custom fields as one form, filled with their values."""
    definitions = field_selectors.active_fields()
    values = field_selectors.values_of([ticket.pk]).get(ticket.pk, {}) if definitions else {}
    current = field_selectors.api_values(definitions, values)
    form = forms.Form(data, prefix="cf")
    field_inputs.add_inputs(form, list(definitions.values()), for_customer=False, initial=current)
    if policy.is_final(ticket):  # shown, not edited: a closed ticket is final
        for field in form.fields.values():
            field.disabled = True
    # What the page shows, sent back with the form (as sent, when it comes back refused):
    # saving writes only what the agent changed (ticket_set_fields, `shown`).
    form.shown = (  # type: ignore[attr-defined]
        data.get(SHOWN_FIELDS, "")
        if data is not None
        else json.dumps(current, cls=DjangoJSONEncoder)
    )
    return form


def _shown_fields(data: QueryDict) -> dict[str, Any] | None:
    """The fields' values the page showed (None: a form that does not say, or garbled)."""
    try:
        shown = json.loads(data.get(SHOWN_FIELDS, ""))
    except ValueError:
        return None
    return shown if isinstance(shown, dict) else None


def _ticket_page(
    request: HttpRequest,
    ticket: Ticket,
    *,
    reply: ReplyForm | None = None,
    fields_form: forms.Form | None = None,
    side_start: SideStartForm | None = None,
    side_reply: SideReplyForm | None = None,
    tier_move: TierMoveForm | None = None,
    status: int = 200,
) -> HttpResponse:
    timeline = selectors.ticket_timeline(ticket.pk)
    inbound = [m["channel"] for m in timeline.messages if m["kind"] == MessageKind.INBOUND]
    channels = _reply_channels(ticket, inbound[-1] if inbound else None)
    reply = reply or ReplyForm(initial={"channel": channels[0][0] if channels else ""})
    reply.fields["channel"].choices = channels  # type: ignore[attr-defined]
    abilities = _abilities(request, ticket)
    macros = [
        m
        for m in desk_setup.current().macros
        if policy.may_apply_macro(abilities["staff"], ticket, m)
    ]
    history = ticket.customer.history  # type: ignore[attr-defined]
    side = _sidebar(request, also=_next_ticket_lookups(request, ticket))
    together = collab_selectors.collaboration(ticket)
    context = {
        **side,
        "ticket": ticket,
        "timeline": _timeline(timeline),
        "clocks": _clocks(ticket),
        "reply_form": reply,
        "note_form": NoteForm(),
        "reply_placeholders": placeholders.listing(placeholders.IN_REPLIES),
        **abilities,
        "macros": [
            (m, services.macro_render(m, ticket=ticket, agent=_user(request))) for m in macros
        ],
        "status_select": SideSelect(
            control_id="side-status", choices=TicketStatus.choices, selected=ticket.status
        ),
        "priority_select": SideSelect(
            control_id="side-priority", choices=Priority.choices, selected=ticket.priority
        ),
        "assignee_select": SideSelect(
            control_id="side-assignee",
            choices=[("", _("Unassigned")), *together.tier_agents],
            selected=ticket.assignee_id or "",
        ),
        "tags": ", ".join(tag.name for tag in ticket.tags.all()),
        "fields_form": fields_form or _fields_form(ticket),
        **_about(ticket),
        "other_tickets": history[: selectors.OTHER_TICKETS_ON_PAGE],
        "more_other_tickets": len(history) > selectors.OTHER_TICKETS_ON_PAGE,
        "public_base": settings.PUBLIC_BASE_URL,
        "next_ticket": _next_ticket(side["also"]),
        "collab": together,
        # A side conversation's box as sent, when it came back with an error.
        "side_form": side_start or SideStartForm(),
        "side_reply_form": side_reply,
        # Each side conversation's reply box's key (SentOnceForm's), this page's and its id.
        "side_form_key": uuid4().hex,
        # The move to another tier as sent, when it came back refused.
        "tier_move_form": tier_move,
        "following": together.follows(_user(request).pk),
        # The reply box warns of them (a reply is still sent: the agent may know better).
        "undeliverable_contacts": [
            point for point in ticket.customer.contact_points.all() if point.undeliverable
        ],
        "now": timezone.now(),
    }
    return render(request, "agent/ticket.html", context, status=status)


@agent_required
@require_safe
def ticket_page(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _ticket_page(request, _ticket_or_404(ticket_id))


def _back(ticket_id: int) -> HttpResponse:
    return redirect("agent:ticket", ticket_id=ticket_id)


def _sent(ticket_id: int, box: str) -> HttpResponse:
    """Back to the ticket, telling its page which box's text went (the browser then drops
    the draft it kept: static/js/agent.js)."""
    return redirect(reverse("agent:ticket", args=[ticket_id]) + f"#sent-{box}")


@agent_required
@require_POST
def reply(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_404(ticket_id)
    form = ReplyForm(request.POST, request.FILES)
    channels = _reply_channels(ticket, services.last_inbound_channel(ticket))
    form.fields["channel"].choices = channels  # type: ignore[attr-defined]
    if not form.is_valid():
        return _ticket_page(request, ticket, reply=form, status=400)
    data = form.cleaned_data
    macro = (
        Macro.objects.filter(pk=data["macro"], is_active=True).first() if data["macro"] else None
    )
    if data["macro"] and macro is None:  # switched off (or deleted) since the page was loaded
        form.add_error(
            None,
            _(
                "That canned response is not in use any more: nothing was sent. Send the "
                "text without it, or choose another one."
            ),
        )
        sent = request.POST.copy()
        sent["macro"] = ""  # sent again as it stands, it is a plain reply
        form.data = sent
        return _ticket_page(request, ticket, reply=form, status=400)
    try:
        if macro is not None:
            services.ticket_apply_macro(
                ticket=ticket, macro=macro, actor=_user(request), text=data["text"],
                channel=data["channel"] or None, attachments=form.files_to_send(),
                form_key=data["once"],
            )  # fmt: skip
        else:
            services.ticket_reply(
                ticket=ticket, actor=_user(request), text=data["text"],
                channel=data["channel"] or None, status=data["status"] or None,
                attachments=form.files_to_send(), form_key=data["once"],
            )  # fmt: skip
    except DomainError as error:
        form.add_error(None, error.message)
        return _ticket_page(request, ticket, reply=form, status=400)
    messages.success(request, _("Reply sent."))
    return _sent(ticket.pk, "reply")


def _act(request: HttpRequest, ticket_id: int, action: Any, done: str) -> HttpResponse:
    """Run one service on the ticket; a refusal comes back as an error message."""
    ticket = get_object_or_404(Ticket, pk=ticket_id)
    try:
        action(ticket)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return _back(ticket_id)


@agent_required
@require_POST
def note(request: HttpRequest, ticket_id: int) -> HttpResponse:
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A note needs some text."))
        return _back(ticket_id)
    ticket = get_object_or_404(Ticket, pk=ticket_id)
    try:
        services.ticket_add_note(
            ticket=ticket,
            actor=_user(request),
            text=form.cleaned_data["text"],
            form_key=form.cleaned_data["once"],
        )
    except DomainError as error:
        messages.error(request, error.message)
        return _back(ticket_id)
    messages.success(request, _("Note added."))
    back = request.POST.get("next", "")
    # Back to where the note was written (the chat console), never off the workspace.
    return (
        redirect(back)
        if back.startswith("/agent/") and "//" not in back
        else _sent(ticket_id, "note")
    )


@agent_required
@require_POST
def change(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Status, priority, assignee or tags: one field at a time from the ticket's side panel."""
    field, value, actor = request.POST.get("field"), request.POST.get("value", ""), _user(request)
    actions = {
        "status": lambda t: services.ticket_change_status(ticket=t, status=value, actor=actor),
        "priority": lambda t: services.ticket_change_priority(
            ticket=t, priority=value, actor=actor
        ),
        "assignee": lambda t: _assign(t, value, actor),
        "tags": lambda t: services.ticket_set_tags(
            ticket=t, names=services.parse_tags(value), actor=actor, shown=_shown_tags(request)
        ),
    }
    if field not in actions:
        messages.error(request, _("Nothing to change."))
        return _back(ticket_id)
    return _act(request, ticket_id, actions[field], _("Saved."))


@agent_required
@require_POST
def set_fields(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The ticket's custom fields, all at once from its side panel (only changes are
    written, each in the history)."""
    ticket = _ticket_or_404(ticket_id)
    form = _fields_form(ticket, request.POST)
    if not form.is_valid():
        messages.error(request, _("Some fields were not saved: correct them below."))
        return _ticket_page(request, ticket, fields_form=form, status=400)
    try:
        changed = ticket_set_fields(
            ticket=ticket,
            values=field_inputs.submitted(form),
            actor=_user(request),
            shown=_shown_fields(request.POST),
        )
    except DomainError as error:
        messages.error(request, error.message)
        return _back(ticket.pk)
    messages.success(request, _("Fields saved.") if changed else _("Nothing changed."))
    return _back(ticket.pk)


def _shown_tags(request: HttpRequest) -> list[str] | None:
    """The tags the page showed when the agent edited them (None: a form that does not say)."""
    if "shown" not in request.POST:
        return None
    return [name.strip().lower() for name in request.POST["shown"].split(",") if name.strip()]


def _assign(ticket: Ticket, value: str, actor: User) -> None:
    if value == "":
        services.ticket_unassign(ticket=ticket, actor=actor)
    elif value == "me":
        services.ticket_assign(ticket=ticket, assignee=actor, actor=actor)
    elif (agent_id := id_from(value)) is not None:
        services.ticket_assign(
            ticket=ticket, assignee=services.assignee_by_id(agent_id), actor=actor
        )
    else:
        raise InvalidInput(_("Choose an agent."))


@agent_required
@require_POST
def move_tier(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Escalate or de-escalate, with a reason and a hand-off note (tickets.policy says who
    may move which ticket); a refused move comes back with what was typed and why."""
    ticket = _ticket_or_404(ticket_id)
    form = TierMoveForm(request.POST)
    if not form.is_valid():
        form.add_error(
            None, _("To move the ticket, give the target tier, a reason and a hand-off note.")
        )
        return _ticket_page(request, ticket, tier_move=form, status=400)
    data = form.cleaned_data
    before = ticket.tier.level
    try:
        services.ticket_move_tier(
            ticket=ticket,
            tier_level=data["tier"],
            reason=data["reason"],
            handoff_note=data["handoff_note"],
            actor=_user(request),
        )
    except NotAllowed as error:  # not theirs to move: the page offers them no move
        messages.error(request, error.message)
        return _back(ticket_id)
    except DomainError as error:
        form.add_error(None, error.message)
        return _ticket_page(request, _ticket_or_404(ticket_id), tier_move=form, status=400)
    said = (
        _("Escalated to tier %(level)s.")
        if data["tier"] > before
        else _("De-escalated to tier %(level)s.")
    )
    messages.success(request, said % {"level": data["tier"]})
    return _back(ticket_id)


@agent_required
@require_safe
def kb_suggestions(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The ticket page's knowledge-base suggestions (an HTMX fragment the page loads after
    it is shown: the search is the slowest part of the page and nothing waits for it)."""
    ticket = get_object_or_404(Ticket.objects.select_related("customer"), pk=ticket_id)
    context = {"hits": _suggestions(ticket), "public_base": settings.PUBLIC_BASE_URL}
    return render(request, "agent/_kb_hits.html", context)


@agent_required
@require_safe
def kb_search(request: HttpRequest) -> HttpResponse:
    """Articles for the ticket page's search box (an HTMX fragment), agent-only ones included."""
    query = search_text(request.GET.get("q", ""))
    hits = article_answers(query, include_agent_only=True, limit=8) if query else []
    context = {"hits": hits, "query": query, "public_base": settings.PUBLIC_BASE_URL}
    return render(request, "agent/_kb_hits.html", context)


@agent_required
@require_safe
def notifications(request: HttpRequest) -> HttpResponse:
    latest = Notification.objects.filter(user=_user(request)).select_related("ticket")[:100]
    context = {**_sidebar(request), "notifications": latest, "view": "notifications"}
    return render(request, "agent/notifications.html", context)


@agent_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    """Mark one notification (and go to its ticket) or all of them as read."""
    mine = Notification.objects.filter(user=_user(request), read_at__isnull=True)
    notification_id = request.POST.get("notification", "")
    if notification_id:
        notification = get_object_or_404(
            Notification, pk=id_from(notification_id) or 0, user=_user(request)
        )
        mine.filter(pk=notification.pk).update(read_at=timezone.now())
        if notification.kind == SPIKE_NOTIFICATION:
            return redirect(f"{reverse('agent:problems')}#spikes-title")
        if notification.ticket_id:
            return redirect("agent:ticket", ticket_id=notification.ticket_id)
        return redirect("agent:notifications")
    mine.update(read_at=timezone.now())
    return redirect("agent:notifications")
