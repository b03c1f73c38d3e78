"""API v1 views: parse input, call one service or selector, shape the output."""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets import selectors, services
from tickets.api import serializers as s
from tickets.api.errors import error_responses
from tickets.catalog.services import ticket_set_about
from tickets.downloads import attachment_response
from tickets.errors import InvalidInput
from tickets.fields.selectors import FieldCondition
from tickets.fields.services import ticket_set_fields
from tickets.ids import id_from
from tickets.inbound import InboundMessage, IngestOutcome
from tickets.models import (
    ACTIVE_STATUSES,
    Attachment,
    ContactKind,
    Customer,
    Message,
    Product,
    Service,
    Tag,
    Ticket,
)


def _actor(request: Request) -> User:
    """The signed-in agent or admin (the default permission class guarantees one)."""
    user = request.user
    assert isinstance(user, User)
    return user


def _ticket_or_404(ticket_id: int) -> Ticket:
    ticket = Ticket.objects.select_related("tier", "customer").filter(pk=ticket_id).first()
    if ticket is None:
        raise Http404
    return ticket


def _customer_or_404(customer_id: int) -> Customer:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise Http404
    return customer


def _ticket_detail_response(ticket_id: int, status_code: int = status.HTTP_200_OK) -> Response:
    ticket = selectors.ticket_detail(ticket_id)
    return Response(s.TicketDetailSerializer(ticket).data, status=status_code)


def _field_condition(params: dict[str, Any]) -> FieldCondition | None:
    """A custom field's condition, named as the queue's filter names it (cf, cf_op, ...)."""
    if not params.get("cf"):
        return None
    low, high = params.get("cf_min", ""), params.get("cf_max", "")
    return FieldCondition(
        key=params["cf"],
        op=params.get("cf_op") or ("between" if low or high else "is"),
        value=params.get("cf_value", ""),
        low=low,
        high=high,
    )


class TicketListCreateView(generics.GenericAPIView):
    serializer_class = s.TicketSerializer

    def get_queryset(self) -> Any:
        query = s.TicketListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        statuses = tuple(params.get("status", ()))
        if "active" in statuses:
            statuses = tuple({*statuses, *ACTIVE_STATUSES} - {"active"})
        assignee = params.get("assignee")
        tickets = selectors.ticket_list(
            selectors.TicketFilters(
                statuses=statuses,
                tier_levels=tuple(params.get("tier", ())),
                priorities=tuple(params.get("priority", ())),
                channels=tuple(params.get("channel", ())),
                assignee_id=self.request.user.pk if assignee == "me" else id_from(assignee),
                unassigned=assignee == "none",
                customer_id=params.get("customer"),
                text=params.get("q", ""),
                tags=tuple(params.get("tag", ())),
                problem_id=params.get("problem"),
                field=_field_condition(params),
            )
        ).select_related(*selectors.TICKET_ABOUT)
        return tickets.prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))

    @extend_schema(
        parameters=[s.TicketListQuerySerializer],
        responses={200: s.TicketSerializer(many=True), **error_responses(400)},
        summary="List tickets",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        context = s.field_context(page or [])
        return self.get_paginated_response(
            s.TicketSerializer(page, many=True, context=context).data
        )

    @extend_schema(
        request=s.TicketCreateSerializer,
        responses={
            201: s.TicketDetailSerializer,
            200: s.TicketDetailSerializer,
            **error_responses(400, 404),  # 404: no such customer
        },
        summary="Open a ticket for a customer",
        description="201 with the new ticket; 200 with the existing one when `external_id` "
        "was already used.",
    )
    def post(self, request: Request) -> Response:
        data = _valid(s.TicketCreateSerializer, request)
        sender_kind, sender, name = _requester(data)
        with transaction.atomic():  # the ticket and its fields, or nothing
            result = services.ticket_open(
                inbound=InboundMessage(
                    channel=data["channel"],
                    sender_kind=sender_kind,
                    sender=sender,
                    sender_name=name,
                    subject=data["subject"],
                    text=data["text"],
                    html=data["html"],
                    external_id=data.get("external_id"),
                ),
                priority=data["priority"],
                tier_level=data["tier"],
                actor=_actor(request),
            )
            created = result.outcome == IngestOutcome.NEW
            if created and data.get("custom_fields"):
                ticket_set_fields(
                    ticket=result.ticket, values=data["custom_fields"], actor=_actor(request)
                )
        return _ticket_detail_response(
            result.ticket.pk, status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


def _valid(serializer_class: type, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _requester(data: dict[str, Any]) -> tuple[ContactKind, str, str]:
    """(contact kind, address or number, name) of the customer the ticket is for."""
    if requester := data.get("requester"):
        if requester.get("email"):
            return ContactKind.EMAIL, requester["email"], requester["name"]
        return ContactKind.PHONE, requester["phone"], requester["name"]
    customer = _customer_or_404(data["customer"])
    while customer.merged_into_id is not None:  # old ids keep working after a merge
        customer = _customer_or_404(customer.merged_into_id)
    contacts = {c.kind: c.value for c in customer.contact_points.all()}
    for kind in (ContactKind.EMAIL, ContactKind.PHONE):
        if kind in contacts:
            return ContactKind(kind), contacts[kind], customer.name
    raise InvalidInput(_("This customer has no email address or phone number."), code="no_contact")


class TicketDetailView(APIView):
    @extend_schema(
        responses={200: s.TicketDetailSerializer, **error_responses(404)},
        summary="A ticket with its messages and history",
    )
    def get(self, request: Request, ticket_id: int) -> Response:
        ticket = selectors.ticket_detail(ticket_id)
        if ticket is None:
            raise Http404
        return Response(s.TicketDetailSerializer(ticket).data)

    @extend_schema(
        request=s.TicketUpdateSerializer,
        responses={200: s.TicketDetailSerializer, **error_responses(400, 404, 409)},
        summary="Change subject, status, priority, assignee, tags, product, service or fields",
    )
    def patch(self, request: Request, ticket_id: int) -> Response:
        ticket = _ticket_or_404(ticket_id)
        data = _valid(s.TicketUpdateSerializer, request)
        actor = _actor(request)
        # All asked-for changes happen together or not at all.
        with transaction.atomic():
            if "custom_fields" in data:  # first: a status change may need them
                ticket_set_fields(ticket=ticket, values=data["custom_fields"], actor=actor)
            if "subject" in data:
                services.ticket_change_subject(ticket=ticket, subject=data["subject"], actor=actor)
            if "priority" in data:
                services.ticket_change_priority(
                    ticket=ticket, priority=data["priority"], actor=actor
                )
            if "assignee" in data:
                if data["assignee"] is None:
                    services.ticket_unassign(ticket=ticket, actor=actor)
                else:
                    services.ticket_assign(
                        ticket=ticket,
                        assignee=services.assignee_by_id(data["assignee"]),
                        actor=actor,
                    )
            if "tags" in data:
                names = services.parse_tags(",".join(data["tags"]))
                services.ticket_set_tags(ticket=ticket, names=names, actor=actor)
            if "product" in data or "service" in data:
                product, service = _about(ticket, data)
                ticket_set_about(ticket=ticket, product=product, service=service, actor=actor)
            # Last: once closed, the ticket takes no other change (tickets.policy).
            if "status" in data:
                services.ticket_change_status(ticket=ticket, status=data["status"], actor=actor)
        return _ticket_detail_response(ticket.pk)


def _about(ticket: Ticket, data: dict[str, Any]) -> tuple[Product | None, Service | None]:
    """(product, service) for ticket_set_about from a PATCH that may name one or both: a
    service alone sets its product; a product alone keeps the service if it is of it; null
    for the service alone keeps the product."""
    if "service" in data:
        service = data["service"]
        if "product" in data:
            return data["product"], service
        return (None if service is not None else ticket.product), service
    product = data["product"]
    kept = ticket.service
    if kept is not None and product is not None and kept.product_id == product.pk:
        return product, kept
    return product, None


# A client's key for one reply or note: the same request sent again (a retry after a lost
# answer) is the message already written, answered as the first time.
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Up to 40 characters of the client's choosing (a UUID, say): a request sent "
    "again with the same key writes nothing new and returns the message written first.",
)


def _idempotency_key(request: Request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 40 or not key.isascii() or not key.isprintable():
        raise InvalidInput(
            _("An Idempotency-Key is up to 40 printable ASCII characters."),
            code="invalid_idempotency_key",
        )
    return key


class TicketReplyView(APIView):
    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=s.ReplyCreateSerializer,
        responses={201: s.MessageSerializer, **error_responses(400, 404, 409)},
        summary="Reply to the customer",
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = _ticket_or_404(ticket_id)
        data = _valid(s.ReplyCreateSerializer, request)
        message = services.ticket_reply(
            ticket=ticket,
            actor=_actor(request),
            text=data["text"],
            html=data["html"],
            channel=data.get("channel"),
            status=data.get("status"),
            form_key=_idempotency_key(request),
        )
        return Response(s.MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class TicketNoteView(APIView):
    light_agents_write = True  # light agents write internal notes (tickets.policy)

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=s.NoteCreateSerializer,
        responses={201: s.MessageSerializer, **error_responses(400, 404)},
        summary="Add an internal note (agents only, never sent)",
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = _ticket_or_404(ticket_id)
        data = _valid(s.NoteCreateSerializer, request)
        message = services.ticket_add_note(
            ticket=ticket,
            actor=_actor(request),
            text=data["text"],
            form_key=_idempotency_key(request),
        )
        return Response(s.MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class TicketTierView(APIView):
    @extend_schema(
        request=s.TierMoveSerializer,
        responses={200: s.TicketDetailSerializer, **error_responses(400, 404, 409)},
        summary="Escalate or de-escalate to another tier, with a hand-off note",
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = _ticket_or_404(ticket_id)
        data = _valid(s.TierMoveSerializer, request)
        services.ticket_move_tier(
            ticket=ticket,
            tier_level=data["tier"],
            reason=data["reason"],
            handoff_note=data["handoff_note"],
            actor=_actor(request),
        )
        return _ticket_detail_response(ticket.pk)


class TicketMergeView(APIView):
    @extend_schema(
        request=s.MergeSerializer,
        responses={200: s.TicketDetailSerializer, **error_responses(400, 404, 409)},
        summary="Merge this ticket into another; returns the ticket that was kept",
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        source = _ticket_or_404(ticket_id)
        data = _valid(s.MergeSerializer, request)
        target = services.ticket_merge(
            source=source, target=_ticket_or_404(data["into"]), actor=_actor(request)
        )
        return _ticket_detail_response(target.pk)


class CallLogView(APIView):
    @extend_schema(
        request=s.CallLogCreateSerializer,
        responses={201: s.TicketDetailSerializer, **error_responses(400, 404, 409)},
        summary="Log a phone call, on a ticket or as a new phone ticket",
    )
    def post(self, request: Request) -> Response:
        data = _valid(s.CallLogCreateSerializer, request)
        ticket = _ticket_or_404(data["ticket"]) if data.get("ticket") else None
        message = services.ticket_log_call(
            actor=_actor(request),
            ticket=ticket,
            phone_number=data["phone_number"],
            direction=data["direction"],
            duration_seconds=data["duration_seconds"],
            notes=data["notes"],
            subject=data.get("subject", ""),
        )
        return _ticket_detail_response(message.ticket_id, status.HTTP_201_CREATED)


class AttachmentDownloadView(APIView):
    @extend_schema(
        responses={(200, "application/octet-stream"): bytes, **error_responses(404)},
        summary="Download an attachment",
    )
    def get(self, request: Request, attachment_id: int) -> FileResponse:
        return attachment_response(Attachment.objects.filter(pk=attachment_id).first())


class MessageOriginalView(APIView):
    @extend_schema(
        responses={(200, "message/rfc822"): bytes, **error_responses(404)},
        summary="The message exactly as received (e.g. an email's full source)",
    )
    def get(self, request: Request, message_id: int) -> FileResponse:
        message = Message.objects.filter(pk=message_id).first()
        if message is None or not message.original:
            raise Http404
        return FileResponse(
            message.original.open("rb"),
            as_attachment=True,
            filename=f"message-{message.pk}.eml",
            content_type="message/rfc822",
        )


class CustomerListCreateView(generics.GenericAPIView):
    serializer_class = s.CustomerSerializer

    def get_queryset(self) -> Any:
        query = s.CustomerListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.customer_list(text=query.validated_data.get("q", ""))

    @extend_schema(
        parameters=[s.CustomerListQuerySerializer],
        responses={200: s.CustomerSerializer(many=True), **error_responses(400)},
        summary="List customers",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.CustomerSerializer(page, many=True).data)

    @extend_schema(
        request=s.CustomerCreateSerializer,
        responses={201: s.CustomerDetailSerializer, **error_responses(400, 409)},
        summary="Create a customer",
    )
    def post(self, request: Request) -> Response:
        data = _valid(s.CustomerCreateSerializer, request)
        contacts = [
            (kind, data[kind]) for kind in (ContactKind.EMAIL, ContactKind.PHONE) if data.get(kind)
        ]
        customer = services.customer_create(name=data["name"], contacts=contacts)
        return Response(
            _customer_data(selectors.customer_detail(customer.pk)),
            status=status.HTTP_201_CREATED,
        )


class CustomerDetailView(APIView):
    @extend_schema(
        responses={200: s.CustomerDetailSerializer, **error_responses(404)},
        summary="A customer with contact points and their latest tickets",
    )
    def get(self, request: Request, customer_id: int) -> Response:
        customer = selectors.customer_detail(customer_id)
        if customer is None:
            raise Http404
        return Response(_customer_data(customer))


class CustomerContactPointView(APIView):
    @extend_schema(
        request=s.ContactPointCreateSerializer,
        responses={201: s.ContactPointSerializer, **error_responses(400, 404, 409)},
        summary="Add an email address or phone number to a customer",
    )
    def post(self, request: Request, customer_id: int) -> Response:
        customer = _customer_or_404(customer_id)
        data = _valid(s.ContactPointCreateSerializer, request)
        contact = services.customer_add_contact_point(
            customer=customer, kind=data["kind"], value=data["value"]
        )
        return Response(s.ContactPointSerializer(contact).data, status=status.HTTP_201_CREATED)


class ContactPointUndeliverableView(APIView):
    @extend_schema(
        request=None,
        responses={200: s.ContactPointSerializer, **error_responses(403, 404)},
        summary="Clear an email address's bounce or spam flag: automatic notices go again",
    )
    def delete(self, request: Request, customer_id: int, contact_id: int) -> Response:
        customer = _customer_or_404(customer_id)
        if not customer.contact_points.filter(pk=contact_id).exists():
            raise Http404
        contact = services.contact_point_clear_flag(
            customer=customer, contact_id=contact_id, actor=_actor(request)
        )
        return Response(s.ContactPointSerializer(contact).data)


class CustomerMergeView(APIView):
    @extend_schema(
        request=s.MergeSerializer,
        responses={200: s.CustomerDetailSerializer, **error_responses(400, 404, 409)},
        summary="Merge this customer into another; tickets and contact points move",
    )
    def post(self, request: Request, customer_id: int) -> Response:
        source = _customer_or_404(customer_id)
        data = _valid(s.MergeSerializer, request)
        target = services.customer_merge(
            source=source, target=_customer_or_404(data["into"]), actor=_actor(request)
        )
        return Response(_customer_data(selectors.customer_detail(target.pk)))


def _customer_data(customer: Customer | None) -> Any:
    """A customer with their latest tickets, whose custom fields are read at once."""
    tickets = list(getattr(customer, "latest_tickets", []))
    return s.CustomerDetailSerializer(customer, context=s.field_context(tickets)).data


class TierListView(generics.ListAPIView):
    serializer_class = s.TierWithAgentsSerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        return selectors.tier_list()

    @extend_schema(
        responses={200: s.TierWithAgentsSerializer(many=True), **error_responses()},
        summary="The support tiers and their agents",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
