"""Admin pages. Ticket state changes go through the services (admin actions), never raw edits."""

import copy
from datetime import date
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms.models import construct_instance
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from knowledge import services as kb_services
from knowledge.models import Category
from tickets import selectors, services
from tickets.errors import DomainError
from tickets.models import (
    AgentProfile,
    ApiToken,
    Attachment,
    BusinessCalendar,
    CallDirection,
    Channel,
    ChatSession,
    ContactPoint,
    Customer,
    CustomerNotice,
    CustomerNoticeTranslation,
    CustomHoliday,
    Macro,
    Message,
    Notification,
    OpeningHours,
    Organization,
    OrganizationDomain,
    Priority,
    SecurityEvent,
    SignInPolicy,
    SLAAction,
    SLAPolicy,
    Tag,
    Ticket,
    TicketEvent,
    TicketStatus,
    Tier,
)
from tickets.services import sla_clocks


class CallLogForm(forms.Form):
    phone_number = forms.CharField(max_length=40)
    direction = forms.ChoiceField(choices=CallDirection.choices)
    duration_seconds = forms.IntegerField(min_value=0, max_value=24 * 3600, label="Duration (s)")
    notes = forms.CharField(widget=forms.Textarea)


class DraftArticleForm(forms.Form):
    title = forms.CharField(max_length=200)
    category = forms.ModelChoiceField(queryset=Category.objects.order_by("name"))


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record of what happened: listed and read, never added, edited or deleted."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrganizationDomainInline(admin.TabularInline):
    model = OrganizationDomain
    extra = 0
    readonly_fields = ["domain"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Domains are checked (format, public mail services, owner) by the service: they are
        # added on the organization's workspace page.
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "sla_policy", "created_at"]
    search_fields = ["name", "domains__domain"]
    list_select_related = ["sla_policy"]
    fields = ["name", "sla_policy", "notes"]
    inlines = [OrganizationDomainInline]

    def save_model(self, request: HttpRequest, obj: Organization, form: Any, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        # A new plan applies to the organization's open tickets: through the service.
        services.organization_update(
            organization=obj, name=obj.name, notes=obj.notes, sla_policy=obj.sla_policy
        )

    def view_on_site(self, obj: Organization) -> str:
        return reverse("agent:organization", args=[obj.pk])


class ContactPointInline(admin.TabularInline):
    model = ContactPoint
    extra = 0
    readonly_fields = ["kind", "value", "created_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # New contact points are normalised and checked by the service (API).
        return False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["__str__", "organization", "created_at", "merged_into"]
    list_filter = ["organization"]
    search_fields = ["name", "contact_points__value"]
    list_select_related = ["organization", "merged_into"]
    readonly_fields = ["merged_into", "created_at", "updated_at"]
    raw_id_fields = ["user"]
    inlines = [ContactPointInline]

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        organization = obj.organization
        if change and "organization" in form.changed_data:
            obj.organization_id = form.initial.get("organization")
            super().save_model(request, obj, form, change)
            services.customer_set_organization(customer=obj, organization=organization)
            return
        super().save_model(request, obj, form, change)


@admin.register(ContactPoint)
class ContactPointAdmin(admin.ModelAdmin):
    list_display = ["value", "kind", "customer", "created_at"]
    list_filter = ["kind"]
    search_fields = ["value", "customer__name"]
    list_select_related = ["customer"]
    readonly_fields = ["kind", "value", "customer", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ["level", "name", "assignment_mode", "handoff_after_minutes"]
    list_editable = ["assignment_mode"]
    ordering = ["level"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The four levels are fixed; their names and descriptions are the admin's to word.
        return ["level"] if obj else []


class AgentAddForm(forms.ModelForm):
    """Adding an agent is one form: the person's account (staff, in the Agents or Admins
    group) and their profile, made together by services.agent_add."""

    username = forms.CharField(max_length=150)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(help_text="Where their notifications and sign-in help go.")
    is_admin = forms.BooleanField(
        required=False, label="Admin", help_text="Also configures the help desk."
    )
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to email them a link to choose their own.",
    )

    class Meta:
        model = AgentProfile
        fields = ["tiers", "max_chats", "is_available"]

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("This username is taken.")
        return username

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if password:
            from django.contrib.auth.password_validation import validate_password

            validate_password(password)
        return password

    def save(self, commit: bool = True) -> AgentProfile:
        data = self.cleaned_data
        profile = services.agent_add(
            username=data["username"], email=data["email"], first_name=data["first_name"],
            last_name=data["last_name"], tier_ids=[t.pk for t in data["tiers"]],
            is_admin=data["is_admin"], password=data["password"],
        )  # fmt: skip
        profile.max_chats, profile.is_available = data["max_chats"], data["is_available"]
        profile.save(update_fields=["max_chats", "is_available"])
        self.instance = profile
        return profile

    def save_m2m(self) -> None:  # the tiers are set by agent_add
        pass


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["__str__", "tier_list", "is_available", "max_chats", "last_seen_at"]
    list_filter = ["tiers", "is_available"]
    list_editable = ["is_available", "max_chats"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    filter_horizontal = ["tiers"]
    exclude = ["notification_settings"]  # the agent's own (My settings)
    actions = ["release_tickets"]

    def get_form(
        self, request: HttpRequest, obj: Any | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:  # adding: the person's account and profile in one form
            kwargs["form"] = AgentAddForm
            kwargs["fields"] = None
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [
                ("The person", {"fields": ["username", "first_name", "last_name", "email",
                                            "password", "is_admin"]}),
                ("Their work", {"fields": ["tiers", "max_chats", "is_available"]}),
            ]  # fmt: skip
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["user"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
        # Adding: AgentAddForm.save made the account and the profile.

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if change:
            super().save_related(request, form, formsets, change)

    @admin.action(description="Mark unavailable and return their open tickets to the queues")
    def release_tickets(self, request: HttpRequest, queryset: QuerySet[AgentProfile]) -> None:
        released = 0
        for profile in queryset.select_related("user"):
            profile.is_available = False
            profile.save(update_fields=["is_available"])
            released += services.agent_release_tickets(
                agent=profile.user,
                actor=_user(request),
                reason=f"{profile} is unavailable; returned to the queue by an admin",
            )
        messages.success(request, f"{released} ticket(s) returned to their queues.")

    def get_queryset(self, request: HttpRequest) -> QuerySet[AgentProfile]:
        return super().get_queryset(request).select_related("user").prefetch_related("tiers")

    @admin.display(description="Tiers")
    def tier_list(self, profile: AgentProfile) -> str:
        return ", ".join(str(tier.level) for tier in profile.tiers.all())


class MessageInline(admin.StackedInline):
    model = Message
    extra = 0
    can_delete = False
    fields = ("kind", "channel", "author_user", "author_customer", "body_text", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "actor", "actor_label", "data")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # the admin only serves signed-in staff
    return user


def _bulk(request: HttpRequest, tickets: QuerySet[Ticket], action: Any, done: str) -> None:
    changed, failures = 0, []
    for ticket in tickets:
        try:
            action(ticket)
            changed += 1
        except DomainError as error:
            failures.append(error.message)
    if changed:
        messages.success(request, f"{done}: {changed} ticket(s).")
    for failure in failures:
        messages.error(request, failure)


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "subject",
        "customer",
        "status",
        "priority",
        "tier",
        "assignee",
        "channel",
        "sla_due_at",
        "created_at",
    ]
    list_filter = ["status", "priority", "tier", "channel", "assignee"]
    search_fields = ["subject", "customer__name", "customer__contact_points__value"]
    list_select_related = ["customer", "tier", "assignee"]
    date_hierarchy = "created_at"
    # Status, tier and assignee change through the services (actions and the API),
    # so that every change is checked and recorded.
    readonly_fields = [
        "reference",
        "customer",
        "channel",
        "status",
        "priority",
        "tier",
        "assignee",
        "merged_into",
        "first_response_due_at",
        "next_response_due_at",
        "resolution_due_at",
        "sla_due_at",
        "first_responded_at",
        "last_message_at",
        "resolved_at",
        "closed_at",
        "satisfaction",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [*readonly_fields, "sla_clocks"]
    fields = ["reference", "subject", *readonly_fields[1:]]
    inlines = [MessageInline, TicketEventInline]
    actions = ["assign_to_me", "resolve", "close"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # Tickets come from channels and the API, which find the customer.

    @admin.display(description="SLA clocks")
    def sla_clocks(self, ticket: Ticket) -> str:
        """Each clock explained: target, state, business time elapsed, due."""
        now = timezone.now()
        lines = []
        for clock in ticket.clocks.select_related("policy__calendar").order_by("kind", "cycle"):
            state = sla_clocks.explain(clock, now)
            if state is None:
                continue
            due = (
                timezone.localtime(state.due_at).strftime("%a %d %b %H:%M") if state.due_at else "-"
            )
            lines.append(
                f"{clock.get_kind_display()}: {state.state}, {state.elapsed_minutes:.0f} of "
                f"{state.target_minutes} business minutes, due {due}"
                + (f" ({len(clock.pauses)} pause(s))" if clock.pauses else "")
            )
        return "\n".join(lines) or "No SLA policy applies."

    def get_urls(self) -> list[Any]:
        log_call = self.admin_site.admin_view(self.log_call_view)
        return [
            path("<int:ticket_id>/log-call/", log_call, name="tickets_ticket_log_call"),
            path(
                "<int:ticket_id>/draft-article/",
                self.admin_site.admin_view(self.draft_article_view),
                name="tickets_ticket_draft_article",
            ),
            *super().get_urls(),
        ]

    def log_call_view(self, request: HttpRequest, ticket_id: int) -> HttpResponse:
        ticket = get_object_or_404(Ticket, pk=ticket_id)
        if not self.has_change_permission(request, ticket):
            raise PermissionDenied
        form = CallLogForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.ticket_log_call(ticket=ticket, actor=_user(request), **form.cleaned_data)
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, "Call logged.")
                return redirect("admin:tickets_ticket_change", ticket.pk)
        context = {**self.admin_site.each_context(request), "ticket": ticket, "form": form}
        return render(request, "admin/tickets/ticket/log_call.html", context)

    def draft_article_view(self, request: HttpRequest, ticket_id: int) -> HttpResponse:
        """Turn a solved ticket into a draft knowledge-base article, for editing."""
        ticket = get_object_or_404(Ticket.objects.select_related("customer"), pk=ticket_id)
        if not request.user.has_perm("knowledge.add_article"):
            raise PermissionDenied
        if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            messages.error(request, "Only a resolved or closed ticket can become an article.")
            return redirect("admin:tickets_ticket_change", ticket.pk)
        material = selectors.ticket_article_material(ticket)
        form = DraftArticleForm(request.POST or None, initial={"title": material.title})
        if request.method == "POST" and form.is_valid():
            article = kb_services.article_draft(
                title=form.cleaned_data["title"],
                problem=material.problem,
                solution=material.solution,
                category=form.cleaned_data["category"],
                actor=_user(request),
            )
            messages.success(
                request, f"Draft article written from {ticket.reference}: edit it, then publish."
            )
            return redirect("admin:knowledge_article_change", article.pk)
        context = {
            **self.admin_site.each_context(request),
            "ticket": ticket,
            "form": form,
            "material": material,
            "title": f"Draft an article from {ticket.reference}",
        }
        return render(request, "admin/tickets/ticket/draft_article.html", context)

    def save_model(self, request: HttpRequest, obj: Ticket, form: Any, change: bool) -> None:
        if change and "subject" in form.changed_data:
            services.ticket_change_subject(
                ticket=obj, subject=form.cleaned_data["subject"], actor=_user(request)
            )

    @admin.action(description="Assign to me")
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        _bulk(
            request,
            queryset,
            lambda t: services.ticket_assign(
                ticket=t, assignee=_user(request), actor=_user(request)
            ),
            "Assigned to you",
        )

    @admin.action(description="Resolve")
    def resolve(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        _bulk(
            request,
            queryset,
            lambda t: services.ticket_change_status(
                ticket=t, status=TicketStatus.RESOLVED, actor=_user(request)
            ),
            "Resolved",
        )

    @admin.action(description="Close")
    def close(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        _bulk(
            request,
            queryset,
            lambda t: services.ticket_change_status(
                ticket=t, status=TicketStatus.CLOSED, actor=_user(request)
            ),
            "Closed",
        )


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["filename", "content_type", "size", "message", "created_at"]
    readonly_fields = ["message", "file", "filename", "content_type", "size", "content_id"]
    search_fields = ["filename"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    """History is append-only: readable here, never edited or deleted."""

    list_display = ["created_at", "ticket", "kind", "actor", "actor_label"]
    list_filter = ["kind"]
    list_select_related = ["ticket", "actor"]
    raw_id_fields = ["ticket"]


class OpeningHoursFormSet(forms.BaseInlineFormSet):
    """The calendar's hours, checked with the calendar as the SLA clocks would count in it,
    and for every SLA policy counting in it (tickets.services.sla_clocks.calendar_problem):
    the calendar as typed, its zone, holidays and hours, before anything is saved."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        hours = [(data["weekday"], data["start"], data["end"]) for data in kept]
        problem = sla_clocks.calendar_problem(
            self.instance, hours, self._holidays_sent(), now=timezone.now()
        )
        if problem:
            raise forms.ValidationError(problem)

    def _holidays_sent(self) -> list[date]:
        """The custom holidays sent with these hours (the page's other inline): none when
        they are not valid, as the page is then refused for them."""
        sent = _CustomHolidays(self.data, self.files, instance=self.instance)
        if not sent.is_valid():
            return []
        return [
            form.cleaned_data["date"]
            for form in sent.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]


_CustomHolidays = forms.inlineformset_factory(
    BusinessCalendar, CustomHoliday, fields=["date", "name"], can_delete=True
)


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    formset = OpeningHoursFormSet
    extra = 0


class CustomHolidayInline(admin.TabularInline):
    model = CustomHoliday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "always_open", "holiday_country"]
    inlines = [OpeningHoursInline, CustomHolidayInline]


class SLAPolicyChecked(forms.ModelForm):
    """The policy as it would be saved, asked whether its clocks can be timed: on its change
    page and in the list's quick edits (position, active) alike."""

    class Meta:  # the list's quick edits name their own fields
        model = SLAPolicy
        fields = ["position", "is_active"]

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if not self.errors:
            posted = construct_instance(self, copy.copy(self.instance), self._meta.fields)
            problem = sla_clocks.policy_problem(posted, timezone.now())
            if problem:
                raise forms.ValidationError(problem)
        return cleaned


class SLAPolicyForm(SLAPolicyChecked):
    """Conditions and actions as checkboxes; stored as lists on the policy."""

    priorities = forms.MultipleChoiceField(
        choices=Priority.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: any priority.",
    )
    tier_levels = forms.TypedMultipleChoiceField(
        choices=[(level, f"Tier {level}") for level in range(4)],
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: any tier.",
    )
    channels = forms.MultipleChoiceField(
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: any channel.",
    )
    warning_actions = forms.MultipleChoiceField(
        choices=SLAAction.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    breach_actions = forms.MultipleChoiceField(
        choices=SLAAction.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = SLAPolicy
        fields = [
            "name",
            "position",
            "is_active",
            "is_default",
            "priorities",
            "tier_levels",
            "channels",
            "organization",
            "first_response_minutes",
            "next_response_minutes",
            "resolution_minutes",
            "calendar",
            "pause_on_hold",
            "warning_percent",
            "warning_actions",
            "breach_actions",
        ]


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    form = SLAPolicyForm
    list_display = [
        "name",
        "position",
        "is_active",
        "is_default",
        "first_response_minutes",
        "next_response_minutes",
        "resolution_minutes",
        "calendar",
    ]
    list_editable = ["position", "is_active"]
    fieldsets = [
        (None, {"fields": ["name", "position", "is_active", "is_default"]}),
        ("Matches", {"fields": ["priorities", "tier_levels", "channels", "organization"]}),
        (
            "Targets (business minutes)",
            {"fields": ["first_response_minutes", "next_response_minutes", "resolution_minutes"]},
        ),
        ("Time", {"fields": ["calendar", "pause_on_hold", "warning_percent"]}),
        ("Actions", {"fields": ["warning_actions", "breach_actions"]}),
    ]

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> Any:
        # The quick edits are checked as the change page checks the policy.
        return super().get_changelist_form(request, form=SLAPolicyChecked, **kwargs)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "text", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    raw_id_fields = ["user", "ticket"]


class CustomerNoticeTranslationInline(admin.StackedInline):
    """The notice for customers who read another language (README "Languages")."""

    model = CustomerNoticeTranslation
    extra = 0


@admin.register(CustomerNotice)
class CustomerNoticeAdmin(admin.ModelAdmin):
    list_display = ["kind", "enabled", "subject"]
    list_editable = ["enabled"]
    readonly_fields = ["kind"]
    inlines = [CustomerNoticeTranslationInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one notice per kind, created by migration


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    list_display = ["name", "set_status", "set_priority", "set_tier", "is_active", "position"]
    list_filter = ["is_active", "set_status", "set_tier"]
    list_editable = ["is_active", "position"]
    search_fields = ["name", "body"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(ChatSession)
class ChatSessionAdmin(admin.ModelAdmin):
    """Chats are worked in the workspace (/agent/chats/); here they are looked up."""

    list_display = ["__str__", "ticket", "tier", "status", "agent", "created_at", "rating"]
    list_filter = ["status", "tier", "rating"]
    search_fields = ["name", "email"]
    list_select_related = ["ticket", "tier", "agent"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    """The security log, read-only: nobody edits or deletes what happened."""

    list_display = ("at", "kind", "username", "staff", "address", "path", "user_agent")
    list_filter = ("kind", "staff")
    search_fields = ("username", "address")
    date_hierarchy = "at"
    list_select_related = ("user",)


@admin.register(SignInPolicy)
class SignInPolicyAdmin(admin.ModelAdmin):
    """One policy: opened from the list, never a second one, never deleted."""

    list_display = ("second_factor",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not SignInPolicy.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"second_factor": settings.HELPDESK_MFA_REQUIRED}


# The products catalog's pages (their own module: this one holds the tickets' side).
from tickets import admin_catalog  # noqa: E402

# Their services on a customer's and an organization's page.
CustomerAdmin.inlines = [*CustomerAdmin.inlines, admin_catalog.OwnServicesInline]
OrganizationAdmin.inlines = [*OrganizationAdmin.inlines, admin_catalog.OwnServicesInline]

# The audit log and the retention rules (tickets.privacy); custom ticket fields and the forms
# that group them; the branding page (its own module with the rest of the brand).
from tickets import admin_fields, admin_privacy  # noqa: E402, F401
from tickets.branding import admin as branding_admin  # noqa: E402, F401

# API tokens (rest_framework.authtoken): the README's way to give a person their token.
# DRF's own pages list every key in full; here a key is shown once, when it is made, and by
# its first characters everywhere after (tickets.models.ApiToken).
admin.site.unregister(TokenProxy)


@admin.register(ApiToken)
class ApiTokenAdmin(TokenAdmin):
    list_display = ("__str__", "user", "created")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email", "user__first_name", "user__last_name")
    search_help_text = _("The owner's username, email or name")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # A token stays with the person it was given to: a new owner gets a new token.
        return ("user",) if obj is not None else ()

    @method_decorator(never_cache)
    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: str | None = None
    ) -> HttpResponse:
        """The one page that shows the whole key, to hand to its owner."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("API token created"),
            "token": obj,
            "key": obj.key,
            "owner": obj.user.get_full_name() or obj.user.get_username(),
        }
        return render(request, "admin/tickets/apitoken/created.html", context)
