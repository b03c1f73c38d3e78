from collections.abc import Sequence
from typing import Any
from uuid import uuid4

from django import forms
from django.http import QueryDict
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from helpdesk.uploads import MultipleFileField
from tickets.errors import InvalidInput
from tickets.fields import selectors as field_selectors
from tickets.fields.selectors import FieldCondition, condition_filter
from tickets.ids import MAX_ID, id_from
from tickets.inbound import InboundAttachment
from tickets.models import Channel, Priority, Team, TicketStatus, Tier, ViewSharing
from tickets.queues import ANY_STATUS_VIEW, QueueQuery
from tickets.saved_views import (
    COLUMNS,
    QUEUE_COLUMNS,
    available_columns,
    parse_columns,
    parse_sort,
)


def tier_label(level: int) -> str | Promise:
    """ "Tier 2", in the language of the page that shows it."""
    return format_lazy(_("Tier {level}"), level=level)


# A queue's own orders (tickets.queues.queue_page's); any other sort is by a column.
QUEUE_ORDERS = ("", "due", "newest")


class FieldConditionForm(forms.Form):
    """A custom field's condition, as the queue page filters by it and a view keeps it: its
    key, and a value (equals, or one of a multi-select's choices), a range (numbers,
    dates), or only that it is set."""

    cf = forms.CharField(required=False, max_length=40, label=_("Field"))
    cf_op = forms.ChoiceField(
        required=False,
        label=_("Condition"),
        choices=[
            ("is", _("is")),
            ("between", _("between")),
            ("set", _("is set")),
            ("not_set", _("is empty")),
        ],
    )
    cf_value = forms.CharField(required=False, max_length=500, label=_("Value"))
    cf_min = forms.CharField(required=False, max_length=40, label=_("From"))
    cf_max = forms.CharField(required=False, max_length=40, label=_("To"))

    CONDITION = ("cf", "cf_op", "cf_value", "cf_min", "cf_max")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        keys = [(f.key, f.agent_label) for f in field_selectors.active_fields().values()]
        if keys:
            self.fields["cf"] = forms.ChoiceField(
                required=False, label=_("Field"), choices=[("", "-"), *keys]
            )

    def field_condition(self) -> FieldCondition | None:
        data = self.cleaned_data
        if not data.get("cf"):
            return None
        op = data["cf_op"] or ("between" if data["cf_min"] or data["cf_max"] else "is")
        return FieldCondition(
            key=data["cf"], op=op, value=data["cf_value"], low=data["cf_min"], high=data["cf_max"]
        )


class QueueFilterForm(FieldConditionForm):
    """The list page's filters; a saved view stores them as a query string."""

    q = forms.CharField(required=False, max_length=200, label=_("Search"))
    status = forms.MultipleChoiceField(required=False, choices=TicketStatus.choices)
    priority = forms.MultipleChoiceField(required=False, choices=Priority.choices)
    channel = forms.MultipleChoiceField(required=False, choices=Channel.choices)
    tier = forms.TypedMultipleChoiceField(
        required=False, coerce=int, choices=[(n, tier_label(n)) for n in range(4)]
    )
    # An id as a column holds one (the embedded default, SQLite, compares no larger one).
    assignee = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    tag = forms.CharField(required=False, max_length=50)
    # The queue's own orders, or one of its columns' (as its headers' links sort).
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("due", _("Next deadline")),
            ("newest", _("Newest")),
            *(
                (f"{sign}{key}", format_lazy("{}, {}", COLUMNS[key].label, way))
                for key in QUEUE_COLUMNS
                for sign, way in (("", _("ascending")), ("-", _("descending")))
                if f"{sign}{key}" != "due"
            ),
        ],
    )

    def to_query(self, view: str) -> QueueQuery:
        data = self.cleaned_data
        return QueueQuery(
            view=view,
            statuses=tuple(data["status"]),
            priorities=tuple(data["priority"]),
            channels=tuple(data["channel"]),
            tier_levels=tuple(data["tier"]),
            assignee_id=data["assignee"],
            tag=data["tag"].strip().lower(),
            text=data["q"],
            sort=data["sort"] if data["sort"] in QUEUE_ORDERS else "due",
            field=self.field_condition(),
        )

    def column_sort(self) -> tuple[str, bool] | None:
        """The column the page is sorted by, (key, descending); None: the queue's own order
        (the next deadline first, or the newest)."""
        chosen = self.cleaned_data.get("sort") or ""
        return None if chosen in QUEUE_ORDERS else parse_sort(chosen, QUEUE_COLUMNS)


def filter_query_string(data: QueryDict) -> str:
    """The filters of a request, without paging: what a saved view remembers."""
    kept = data.copy()
    for key in ("after", "csrfmiddlewaretoken", "name"):
        kept.pop(key, None)
    return kept.urlencode()


class SideSelect(forms.Form):
    """One select of the ticket page's side panel (status, priority, assignee), posted on
    its own as `value`; rendered by the project's form renderer, without a template loop."""

    value = forms.ChoiceField(required=False)

    def __init__(
        self, *, control_id: str, choices: Sequence[tuple[Any, str | Promise]], selected: object
    ) -> None:
        super().__init__(initial={"value": selected}, auto_id=False)
        field = self.fields["value"]
        field.choices = choices  # type: ignore[attr-defined]
        field.widget.attrs["id"] = control_id


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=80)
    view = forms.CharField(max_length=20)
    query = forms.CharField(required=False, max_length=1000)


class SentOnceForm(forms.Form):
    """A form of the ticket page that writes a message: it carries a key of its own (new
    each time the page is shown, kept when it comes back with an error), so that sending it
    twice writes the message once (tickets.services.sent_from_form)."""

    once = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("once", uuid4().hex)


class ReplyForm(SentOnceForm):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=50_000)
    channel = forms.ChoiceField(required=False, choices=Channel.choices)
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", _("Keep status")),
            (TicketStatus.PENDING_CUSTOMER, _("Waiting on customer")),
            (TicketStatus.ON_HOLD, _("On hold")),
            (TicketStatus.RESOLVED, _("Resolved")),
        ],
        label=_("Then set status"),
    )
    macro = forms.IntegerField(required=False, widget=forms.HiddenInput)
    attachments = MultipleFileField(
        required=False,
        label=_("Attach files"),
        help_text=_("Sent with email replies."),
        too_large_hint=_("; attach a smaller file (your reply is kept)"),
    )

    def files_to_send(self) -> tuple[InboundAttachment, ...]:
        return files_to_send(self.cleaned_data["attachments"])


def files_to_send(uploads: list[Any]) -> tuple[InboundAttachment, ...]:
    return tuple(
        InboundAttachment(upload.name, upload.content_type or "", upload.read())
        for upload in uploads
    )


def _side_files() -> MultipleFileField:
    return MultipleFileField(
        required=False,
        label=_("Attach files"),
        too_large_hint=_("; attach a smaller file (your message is kept)"),
    )


class SideStartForm(SentOnceForm):
    """Starting a side conversation on the ticket page. The form checks only the files
    (their number and size); what makes a good conversation is the service's to say."""

    to = forms.CharField(required=False, max_length=320)
    subject = forms.CharField(required=False, max_length=255)
    text = forms.CharField(required=False, strip=False, max_length=50_000)
    attachments = _side_files()

    def files_to_send(self) -> tuple[InboundAttachment, ...]:
        return files_to_send(self.cleaned_data["attachments"])


class SideReplyForm(SentOnceForm):
    """Writing again in one side conversation (`conversation_id`: the page shows what was
    typed, and any error, in that conversation's box)."""

    text = forms.CharField(required=False, strip=False, max_length=50_000)
    attachments = _side_files()

    def __init__(self, *args: Any, conversation_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conversation_id = conversation_id

    def files_to_send(self) -> tuple[InboundAttachment, ...]:
        return files_to_send(self.cleaned_data["attachments"])


class NoteForm(SentOnceForm):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=50_000)


class TierMoveForm(forms.Form):
    """A move to another tier (a chat's escalation too); which moves a person may make is
    tickets.policy's to say."""

    tier = forms.TypedChoiceField(coerce=int, choices=[(n, tier_label(n)) for n in range(1, 4)])
    reason = forms.CharField(max_length=500, label=_("Reason"))
    handoff_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), label=_("Hand-off note")
    )


class IdListField(forms.TypedMultipleChoiceField):
    """Ticket ids ticked on the list page; which of them exist is the view's business."""

    def __init__(self) -> None:
        super().__init__(coerce=int, choices=[])

    def valid_value(self, value: object) -> bool:
        return id_from(str(value)) is not None


class BulkForm(forms.Form):
    ACTIONS = [
        ("assign_me", _("Assign to me")),
        ("status", _("Set status")),
        ("priority", _("Set priority")),
        ("tier", _("Move to tier")),
        ("tag", _("Add tags")),
        ("merge", _("Merge into…")),
        ("problem", _("Link to problem…")),
    ]
    tickets = IdListField()
    action = forms.ChoiceField(choices=ACTIONS)
    status = forms.ChoiceField(required=False, choices=[("", "-"), *TicketStatus.choices])
    priority = forms.ChoiceField(required=False, choices=[("", "-"), *Priority.choices])
    tier = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "-"), *((n, tier_label(n)) for n in range(1, 4))],
    )
    tags = forms.CharField(required=False, max_length=500)
    reason = forms.CharField(required=False, max_length=500)
    handoff_note = forms.CharField(required=False, max_length=5000)
    # The ticked ticket the others are merged into, by reference ("HD-12") or number.
    merge_into = forms.CharField(required=False, max_length=40)
    confirm = forms.BooleanField(required=False)
    # The open problem the ticked tickets are linked to.
    problem = forms.IntegerField(required=False, min_value=1)


class ViewEditForm(FieldConditionForm):
    """A saved view as edited in the browser: its name, who sees it, the queue it narrows,
    the filters (as the queue page's, a custom field's condition too), its columns in order
    and its sort."""

    name = forms.CharField(max_length=80, label=_("Name"))
    sharing = forms.ChoiceField(
        choices=ViewSharing.choices, initial=ViewSharing.PERSONAL, label=_("Shared with")
    )
    share_tier = forms.ModelChoiceField(
        queryset=Tier.objects.order_by("level"), required=False, label=_("Tier")
    )
    share_team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"), required=False, label=_("Team")
    )
    queue = forms.ChoiceField(label=_("Tickets of"), initial=ANY_STATUS_VIEW)
    q = forms.CharField(required=False, max_length=200, label=_("Search"))
    status = forms.MultipleChoiceField(
        required=False, choices=TicketStatus.choices, widget=forms.CheckboxSelectMultiple
    )
    priority = forms.MultipleChoiceField(
        required=False, choices=Priority.choices, widget=forms.CheckboxSelectMultiple
    )
    channel = forms.MultipleChoiceField(
        required=False, choices=Channel.choices, widget=forms.CheckboxSelectMultiple
    )
    tier = forms.TypedMultipleChoiceField(
        required=False,
        coerce=int,
        choices=[(n, tier_label(n)) for n in range(4)],
        widget=forms.CheckboxSelectMultiple,
    )
    tag = forms.CharField(required=False, max_length=50)
    # The built-in columns and the active custom fields' (set per form: fields change).
    columns = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Number the shown columns to set their order."),
    )
    sort = forms.ChoiceField(required=False, label=_("Sort by"))

    FILTERS = ("q", "status", "priority", "channel", "tier", "tag", *FieldConditionForm.CONDITION)

    def __init__(self, *args: Any, queues: list[tuple[str, str]], may_share: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["queue"].choices = queues  # type: ignore[attr-defined]
        if not may_share:
            self.fields["sharing"].choices = [  # type: ignore[attr-defined]
                (ViewSharing.PERSONAL, ViewSharing.PERSONAL.label)
            ]
        self.available = available_columns()
        self.fields["columns"].choices = [  # type: ignore[attr-defined]
            (key, column.label) for key, column in self.available.items()
        ]
        sorts: list[tuple[str, str | Promise]] = [("", _("The queue's own order"))]
        for key, column in self.available.items():
            sorts += [
                (key, format_lazy(_("{column}, ascending"), column=column.label)),
                (f"-{key}", format_lazy(_("{column}, descending"), column=column.label)),
            ]
        self.fields["sort"].choices = sorts  # type: ignore[attr-defined]
        for key, column in self.available.items():
            self.fields[f"order_{key}"] = forms.IntegerField(
                required=False,
                min_value=1,
                max_value=99,
                label=format_lazy(_("Position of {column}"), column=column.label),
                widget=forms.NumberInput(
                    attrs={
                        "aria-label": format_lazy(_("Position of {column}"), column=column.label),
                        "size": 3,
                    }
                ),
            )

    def order_fields_by_key(self) -> dict[str, forms.BoundField]:
        return {key: self[f"order_{key}"] for key in self.available}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("sharing") == ViewSharing.TIER and not data.get("share_tier"):
            self.add_error("share_tier", _("Choose the tier to share the view with."))
        if data.get("sharing") == ViewSharing.TEAM and not data.get("share_team"):
            self.add_error("share_team", _("Choose the team to share the view with."))
        if data.get("sort") and data.get("columns") is not None:
            key = data["sort"].lstrip("-")
            if key not in data["columns"]:
                self.add_error("sort", _("Sort by one of the shown columns."))
        condition = self.field_condition() if "cf" in data else None
        if condition is not None:
            try:  # as the queue would read it: a condition that cannot hold is said here
                condition_filter(condition)
            except InvalidInput as error:
                self.add_error("cf", error.message)
        return data

    def ordered_columns(self) -> list[str]:
        """The ticked columns, by their numbers (unnumbered ones after, in the usual order)."""
        keys = list(self.available)
        chosen = self.cleaned_data["columns"]
        return sorted(
            chosen,
            key=lambda k: (self.cleaned_data.get(f"order_{k}") or 100, keys.index(k)),
        )

    def query_string(self) -> str:
        params = QueryDict(mutable=True)
        params["view"] = self.cleaned_data["queue"]
        for name in self.FILTERS:
            value = self.cleaned_data[name]
            if isinstance(value, list):
                params.setlist(name, [str(v) for v in value])
            elif value:
                params[name] = str(value)
        return params.urlencode()

    @classmethod
    def initial_for(cls, view: Any) -> dict[str, Any]:
        """The form's initial values from a saved view."""
        params = QueryDict(view.query)
        columns = parse_columns(view.columns)
        initial: dict[str, Any] = {
            "name": view.name,
            "sharing": view.sharing,
            "share_tier": view.tier_id,
            "share_team": view.team_id,
            "queue": params.get("view", ANY_STATUS_VIEW),
            "q": params.get("q", ""),
            "tag": params.get("tag", ""),
            **{name: params.get(name, "") for name in FieldConditionForm.CONDITION},
            "status": params.getlist("status"),
            "priority": params.getlist("priority"),
            "channel": params.getlist("channel"),
            "tier": params.getlist("tier"),
            "columns": columns,
            "sort": view.sort,
        }
        initial.update({f"order_{key}": i + 1 for i, key in enumerate(columns)})
        return initial
