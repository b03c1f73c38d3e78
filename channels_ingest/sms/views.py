"""Twilio's SMS webhooks: inbound texts and delivery status of the texts we sent."""

import logging
from functools import partial

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from channels_ingest import delivery, pipeline
from channels_ingest.sms.backends import OPTED_OUT, twilio_error
from channels_ingest.sms.twilio_webhook import empty_twiml, forbidden, is_signed_by_twilio
from tickets import services
from tickets.contacts import normalize_phone
from tickets.errors import InvalidInput
from tickets.models import DeliveryStatus, Message

logger = logging.getLogger(__name__)

# Seconds after an MMS is stored that its media are fetched: it is processed by then.
MEDIA_FETCH_AFTER = 10
# Twilio's MessageStatus -> ours. queued, accepted, scheduled and sending say nothing new.
_STATUS = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.DELIVERED,  # WhatsApp and RCS
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}


@csrf_exempt
@require_POST
def twilio_sms(request: HttpRequest) -> HttpResponse:
    """An inbound text: stored once per MessageSid, processed after the answer."""
    body = request.body  # read before request.POST, which would consume the stream
    if not is_signed_by_twilio(request):
        return forbidden()
    sid = request.POST.get("MessageSid", "").strip()
    if not sid:
        logger.info("Twilio SMS webhook without MessageSid ignored")
        return HttpResponse("MessageSid is required.", status=400, content_type="text/plain")
    item, new = pipeline.receive(
        channel="sms",
        source="twilio",
        key=sid,
        payload=body,
        content_type=request.content_type or "application/x-www-form-urlencoded",
    )
    if new and _has_media(request):
        transaction.on_commit(partial(_fetch_media_later, item.pk))
    return empty_twiml()


def _has_media(request: HttpRequest) -> bool:
    return request.POST.get("NumMedia", "0").strip() not in ("", "0")


def _fetch_media_later(item_id: int) -> None:
    """The MMS's media are fetched once the text is on its ticket (a task of its own)."""
    from channels_ingest.tasks import fetch_sms_media

    try:
        fetch_sms_media.apply_async((item_id,), countdown=MEDIA_FETCH_AFTER)
    except Exception:  # the broker is down: the links in the text are kept
        logger.warning("could not queue the media fetch of inbound item %s", item_id)


@csrf_exempt
@require_POST
def twilio_sms_status(request: HttpRequest) -> HttpResponse:
    """A status callback for a text we sent; unknown message ids are acknowledged and ignored."""
    if not is_signed_by_twilio(request):
        return forbidden()
    sid = request.POST.get("MessageSid", "").strip()
    status = _STATUS.get(request.POST.get("MessageStatus", "").strip().lower())
    if not sid:
        return HttpResponse("MessageSid is required.", status=400, content_type="text/plain")
    if status is None:
        return HttpResponse(status=204)
    code = request.POST.get("ErrorCode", "").strip() if status == DeliveryStatus.FAILED else ""
    error = ""
    if status == DeliveryStatus.FAILED:
        error = twilio_error(code) if code else f"Twilio: {request.POST['MessageStatus']}"
    delivery.record_reported(sid)
    message = services.message_record_delivery(provider_id=sid, status=status, error=error)
    if message is None:
        logger.info("Twilio status %s for an unknown message ignored", status)
    elif code == str(OPTED_OUT):
        _record_opted_out(message, request.POST.get("To", ""))
    return HttpResponse(status=204)


def _record_opted_out(message: Message, to: str) -> None:
    """Twilio refused the text because its recipient texted STOP: no more texts to them."""
    try:
        number = normalize_phone(to)
    except InvalidInput:
        return
    services.phone_record_opted_out(message=message, number=number, at=timezone.now())
