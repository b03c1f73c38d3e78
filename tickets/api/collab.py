"""API v1 for working together on a ticket (staff only, as every API door): followers,
related tickets and side conversations. Notes @mention through the note endpoint, whose
service reads the mentions."""

from typing import Any

from django.http import FileResponse, Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.uploads import MAX_FILES
from tickets.api.errors import error_responses
from tickets.api.serializers import StrictInput
from tickets.api.views import _actor, _ticket_or_404, _valid
from tickets.collab import selectors as collab_selectors
from tickets.collab import services as collab
from tickets.downloads import attachment_response
from tickets.inbound import InboundAttachment
from tickets.models import SideAttachment, SideConversation, SideMessage


class FollowerSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()


class RelatedTicketSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    reference = serializers.CharField()
    subject = serializers.CharField()
    status = serializers.CharField()


class LinkSerializer(StrictInput):
    ticket = serializers.IntegerField(min_value=1, help_text="Id of the related ticket.")


class SideAttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = SideAttachment
        fields = ["id", "filename", "content_type", "size", "content_id", "url"]

    def get_url(self, attachment: SideAttachment) -> str:
        return reverse("api:side-attachment-download", args=[attachment.pk])


class SideMessageSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    attachments = SideAttachmentSerializer(many=True)

    class Meta:
        model = SideMessage
        fields = ["id", "kind", "author", "sender", "body_text", "delivery_status",
                  "delivery_error", "attachments", "created_at"]  # fmt: skip

    def get_author(self, message: SideMessage) -> str:
        user = message.author_user
        return (user.get_full_name() or user.username) if user is not None else ""


class SideConversationSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="conversation.pk")
    subject = serializers.CharField(source="conversation.subject")
    counterpart = serializers.EmailField(source="conversation.counterpart")
    status = serializers.CharField(source="conversation.status")
    created_at = serializers.DateTimeField(source="conversation.created_at")
    messages = SideMessageSerializer(many=True)


def _files_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.FileField(),
        required=False,
        max_length=MAX_FILES,
        help_text=f"Files to attach to the email (multipart/form-data; up to {MAX_FILES}, each "
        "within the attachment size limit).",
    )


class SideStartSerializer(StrictInput):
    to = serializers.CharField(max_length=320, help_text="The third party's email address.")
    subject = serializers.CharField(max_length=255)
    text = serializers.CharField()
    attachments = _files_field()


class SideReplySerializer(StrictInput):
    text = serializers.CharField()
    attachments = _files_field()


def _files(data: dict[str, Any]) -> tuple[InboundAttachment, ...]:
    return tuple(
        InboundAttachment(upload.name, upload.content_type or "", upload.read())
        for upload in data.get("attachments", [])
    )


class TicketFollowView(APIView):
    light_agents_write = True  # following changes no ticket: light agents follow too

    @extend_schema(
        responses={200: FollowerSerializer(many=True), **error_responses(404)},
        summary="The ticket's followers",
    )
    def get(self, request: Request, ticket_id: int) -> Response:
        ticket = _ticket_or_404(ticket_id)
        _, followers = collab_selectors.people_on_ticket(ticket.pk, ticket.tier_id)
        return Response(FollowerSerializer(followers, many=True).data)

    @extend_schema(
        request=None,
        responses={200: FollowerSerializer(many=True), **error_responses(404)},
        summary="Follow the ticket (hear of its customer messages, status changes and notes)",
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = _ticket_or_404(ticket_id)
        collab.ticket_follow(ticket=ticket, actor=_actor(request))
        return self.get(request, ticket_id)

    @extend_schema(
        request=None,
        responses={200: FollowerSerializer(many=True), **error_responses(404)},
        summary="Stop following the ticket",
    )
    def delete(self, request: Request, ticket_id: int) -> Response:
        ticket = _ticket_or_404(ticket_id)
        collab.ticket_unfollow(ticket=ticket, actor=_actor(request))
        return self.get(request, ticket_id)


class RelatedTicketsView(APIView):
    @extend_schema(
        responses={200: RelatedTicketSerializer(many=True), **error_responses(404)},
        summary="Tickets related to this one",
    )
    def get(self, request: Request, ticket_id: int) -> Response:
        ticket = _ticket_or_404(ticket_id)
        related = collab_selectors.related_tickets(ticket.pk)
        return Response(RelatedTicketSerializer(related, many=True).data)

    @extend_schema(
        request=LinkSerializer,
        responses={201: RelatedTicketSerializer(many=True), **error_responses(400, 404, 409)},
        summary="Link another ticket as related (shown on both)",
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = _ticket_or_404(ticket_id)
        other = _ticket_or_404(_valid(LinkSerializer, request)["ticket"])
        collab.ticket_link(ticket=ticket, other=other, actor=_actor(request))
        related = collab_selectors.related_tickets(ticket.pk)
        return Response(
            RelatedTicketSerializer(related, many=True).data, status=status.HTTP_201_CREATED
        )


class RelatedTicketView(APIView):
    @extend_schema(
        request=None,
        responses={204: None, **error_responses(404, 409)},
        summary="Unlink a related ticket",
    )
    def delete(self, request: Request, ticket_id: int, other_id: int) -> Response:
        ticket, other = _ticket_or_404(ticket_id), _ticket_or_404(other_id)
        collab.ticket_unlink(ticket=ticket, other=other, actor=_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SideConversationsView(APIView):
    @extend_schema(
        responses={200: SideConversationSerializer(many=True), **error_responses(404)},
        summary="The ticket's side conversations with third parties (staff only)",
    )
    def get(self, request: Request, ticket_id: int) -> Response:
        ticket = _ticket_or_404(ticket_id)
        threads = collab_selectors.side_threads(ticket.pk)
        return Response(SideConversationSerializer(threads, many=True).data)

    @extend_schema(
        request=SideStartSerializer,
        responses={201: SideConversationSerializer, **error_responses(400, 404, 409)},
        summary="Email a third party about the ticket in a side conversation",
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = _ticket_or_404(ticket_id)
        data = _valid(SideStartSerializer, request)
        conversation = collab.side_conversation_start(
            ticket=ticket, to=data["to"], subject=data["subject"], text=data["text"],
            attachments=_files(data), actor=_actor(request),
        )  # fmt: skip
        return Response(_thread(conversation), status=status.HTTP_201_CREATED)


def _thread(conversation: SideConversation) -> Any:
    thread = collab_selectors.SideThread(
        conversation,
        list(conversation.messages.select_related("author_user").prefetch_related("attachments")),
    )
    return SideConversationSerializer(thread).data


def _conversation_or_404(ticket_id: int, side_id: int) -> SideConversation:
    # The ticket is compared here, not in the query: Django keeps a number past the column's
    # range out of a primary-key lookup, not out of a foreign key's (SQLite then overflows).
    conversation = SideConversation.objects.select_related("ticket").filter(pk=side_id).first()
    if conversation is None or conversation.ticket_id != ticket_id:
        raise Http404
    return conversation


class SideReplyView(APIView):
    @extend_schema(
        request=SideReplySerializer,
        responses={201: SideConversationSerializer, **error_responses(400, 404, 409)},
        summary="Write again to the third party of a side conversation",
    )
    def post(self, request: Request, ticket_id: int, side_id: int) -> Response:
        conversation = _conversation_or_404(ticket_id, side_id)
        data = _valid(SideReplySerializer, request)
        collab.side_conversation_reply(
            conversation=conversation, text=data["text"], attachments=_files(data),
            actor=_actor(request),
        )  # fmt: skip
        return Response(_thread(conversation), status=status.HTTP_201_CREATED)


class SideCloseView(APIView):
    @extend_schema(
        request=None,
        responses={200: SideConversationSerializer, **error_responses(404)},
        summary="Close a side conversation (a later message opens it again)",
    )
    def post(self, request: Request, ticket_id: int, side_id: int) -> Response:
        conversation = _conversation_or_404(ticket_id, side_id)
        conversation = collab.side_conversation_close(
            conversation=conversation, actor=_actor(request)
        )
        return Response(_thread(conversation))


class SideAttachmentDownloadView(APIView):
    @extend_schema(
        responses={(200, "application/octet-stream"): bytes, **error_responses(404)},
        summary="Download a file of a side conversation (staff only, never customers)",
    )
    def get(self, request: Request, attachment_id: int) -> FileResponse:
        return attachment_response(SideAttachment.objects.filter(pk=attachment_id).first())
