"""Input and output shapes of the problems and known issues API, kept apart."""

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tickets.api.serializers import (
    ProductBriefSerializer,
    StrictInput,
    TicketBriefSerializer,
    UserBriefSerializer,
)
from tickets.models import (
    KnownIssue,
    Problem,
    ProblemEvent,
    ProblemSource,
    ProblemStatus,
    Product,
)
from tickets.problems.services import MOST_LINKED_AT_ONCE
from tickets.roles import is_staff_member

# --- Outputs -------------------------------------------------------------------------------


class KnownIssueSerializer(serializers.ModelSerializer):
    products = ProductBriefSerializer(many=True)
    regions = serializers.ListField(child=serializers.CharField(), help_text="None: all.")
    is_current = serializers.BooleanField(help_text="Shown to customers now.")

    class Meta:
        model = KnownIssue
        fields = [
            "id",
            "title",
            "summary",
            "products",
            "regions",
            "expected_fix_at",
            "published_at",
            "ended_at",
            "is_current",
        ]


class ProblemSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(help_text="PRB-<id>.")
    owner = UserBriefSerializer(allow_null=True)
    product = ProductBriefSerializer(allow_null=True)
    linked_tickets = serializers.IntegerField(source="linked", help_text="Tickets linked.")
    open_tickets = serializers.IntegerField(
        source="open_linked", help_text="Linked tickets still open: those solving answers."
    )
    known_issue_published = serializers.SerializerMethodField(
        help_text="Whether customers are told of it now (a current known issue)."
    )

    class Meta:
        model = Problem
        fields = [
            "id",
            "reference",
            "title",
            "status",
            "source",
            "external_key",
            "owner",
            "product",
            "region",
            "linked_tickets",
            "open_tickets",
            "known_issue_published",
            "created_at",
            "updated_at",
            "solved_at",
        ]

    def get_known_issue_published(self, problem: Problem) -> bool:
        issue = getattr(problem, "known_issue", None)  # joined by the selectors
        return issue is not None and issue.is_current


class ProblemEventSerializer(serializers.ModelSerializer):
    actor = UserBriefSerializer(allow_null=True)

    class Meta:
        model = ProblemEvent
        fields = ["id", "kind", "actor", "text", "data", "created_at"]


class ProblemDetailSerializer(ProblemSerializer):
    solved_by = UserBriefSerializer(allow_null=True)
    known_issue = serializers.SerializerMethodField(
        help_text="What customers are (or were last) told of it; null if never published."
    )
    tickets = serializers.SerializerMethodField(
        help_text="The latest 50 linked tickets, newest first (all of them: "
        "GET /api/v1/tickets/?problem=<id>)."
    )
    events = serializers.SerializerMethodField(help_text="Notes and history, oldest first.")

    class Meta(ProblemSerializer.Meta):
        fields = [
            *ProblemSerializer.Meta.fields,
            "public_explanation",
            "solution",
            "solved_by",
            "known_issue",
            "tickets",
            "events",
        ]

    @extend_schema_field(KnownIssueSerializer(allow_null=True))
    def get_known_issue(self, problem: Problem) -> dict[str, Any] | None:
        issue = getattr(problem, "known_issue", None)
        return KnownIssueSerializer(issue).data if issue is not None else None

    @extend_schema_field(TicketBriefSerializer(many=True))
    def get_tickets(self, problem: Problem) -> list[dict[str, Any]]:
        return list(TicketBriefSerializer(self.context["tickets"], many=True).data)

    @extend_schema_field(ProblemEventSerializer(many=True))
    def get_events(self, problem: Problem) -> list[dict[str, Any]]:
        return list(ProblemEventSerializer(self.context["events"], many=True).data)


class TicketRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()


class LinkOutcomeSerializer(serializers.Serializer):
    linked = TicketRefSerializer(many=True, help_text="Tickets linked now.")
    already = serializers.IntegerField(help_text="Tickets that were linked to it already.")
    refused = serializers.DictField(
        child=serializers.CharField(),
        help_text="Ticket reference -> why it was not linked (closed, merged).",
    )
    missing = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of no ticket: nothing linked for them."
    )


class PublicKnownIssueSerializer(serializers.Serializer):
    """A current known issue as customers may read it."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    summary = serializers.CharField()
    products = serializers.ListField(
        child=serializers.CharField(),
        source="product_names",
        help_text="The products affected (none: any).",
    )
    regions = serializers.ListField(child=serializers.CharField(), help_text="None: all.")
    expected_fix_at = serializers.DateTimeField(allow_null=True)
    published_at = serializers.DateTimeField()


# --- Inputs --------------------------------------------------------------------------------

_LIST_PARAMETERS = frozenset({"cursor", "page_size", "format"})
# The list's status filter, and the statuses a change may set (solving sets solved).
STATUS_FILTERS = ["open", *ProblemStatus.values, "all"]
STATUS_CHANGES = [ProblemStatus.INVESTIGATING.value, ProblemStatus.IDENTIFIED.value]


class ProblemListQuerySerializer(StrictInput):
    also_allowed = _LIST_PARAMETERS
    status = serializers.ChoiceField(
        choices=STATUS_FILTERS,
        default="all",
        help_text="'open' means investigating or identified.",
    )
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=ProblemSource.choices, required=False, help_text="Who opened it."
    )

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "getlist"):  # an empty parameter (`?status=`) means no filter
            data = {key: value for key, value in data.items() if value != ""}
        return super().to_internal_value(data)


def _active_users() -> Any:
    return User.objects.filter(is_active=True)


class ProblemWriteFields(StrictInput):
    title = serializers.CharField(max_length=200)
    public_explanation = serializers.CharField(
        required=False, allow_blank=True, help_text="What customers may read of it."
    )
    product = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(), required=False, allow_null=True
    )
    region = serializers.CharField(required=False, allow_blank=True, max_length=100)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=_active_users(), required=False, allow_null=True, help_text="An agent's user id."
    )

    def validate_owner(self, owner: User | None) -> User | None:
        if owner is not None and not is_staff_member(owner):
            raise serializers.ValidationError("The owner must be an agent or an admin.")
        return owner


class ProblemCreateSerializer(ProblemWriteFields):
    tickets = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=MOST_LINKED_AT_ONCE,
        help_text="Ids of tickets to link (closed and merged ones are left out).",
    )
    note = serializers.CharField(required=False, allow_blank=True, help_text="A first note.")


class ProblemUpdateSerializer(ProblemWriteFields):
    title = serializers.CharField(max_length=200, required=False)
    status = serializers.ChoiceField(
        choices=STATUS_CHANGES,
        required=False,
        help_text="Solve it with POST …/solve/.",
    )


class ProblemNoteSerializer(StrictInput):
    text = serializers.CharField()


class ProblemLinkSerializer(StrictInput):
    tickets = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=MOST_LINKED_AT_ONCE,
        help_text="Ids of the tickets to link (moved from another open problem if linked).",
    )


class ProblemSolveSerializer(StrictInput):
    answer = serializers.CharField(
        help_text="The answer every linked customer still waiting gets, on their channel "
        "(placeholders such as {{ customer.first_name }} are filled for each)."
    )


class KnownIssuePublishSerializer(StrictInput):
    title = serializers.CharField(max_length=200)
    summary = serializers.CharField(help_text="What customers should know.")
    products = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(),
        many=True,
        required=False,
        help_text="Product ids affected (none: any).",
    )
    regions = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        max_length=100,
        help_text="Regions affected, as services name them (none: all).",
    )
    expected_fix_at = serializers.DateTimeField(required=False, allow_null=True)
