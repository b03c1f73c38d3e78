"""Twilio's SMS webhooks: inbound texts and delivery status of the texts we sent."""

import logging

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
    pipeline.receive(
        channel="sms",
        source="twilio",
        key=sid,
        payload=body,
        content_type=request.content_type or "application/x-www-form-urlencoded",
    )
    return empty_twiml()


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
