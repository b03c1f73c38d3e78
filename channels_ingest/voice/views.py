"""Twilio's call status callback: a finished call becomes a message on the caller's ticket."""

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from channels_ingest import pipeline
from channels_ingest.sms.twilio_webhook import empty_twiml, forbidden, is_signed_by_twilio

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def twilio_call_status(request: HttpRequest) -> HttpResponse:
    """Stores a completed call once per CallSid; other statuses are acknowledged only.

    Configure it as the number's call *status callback*, not as its voice URL: the empty
    TwiML answer would hang up a ringing call.
    """
    body = request.body  # read before request.POST, which would consume the stream
    if not is_signed_by_twilio(request):
        return forbidden()
    sid = request.POST.get("CallSid", "").strip()
    if not sid:
        logger.info("Twilio call callback without CallSid ignored")
        return HttpResponse("CallSid is required.", status=400, content_type="text/plain")
    if request.POST.get("CallStatus", "").strip().lower() != "completed":
        return empty_twiml()
    pipeline.receive(
        channel="phone",
        source="twilio",
        key=sid,
        payload=body,
        content_type=request.content_type or "application/x-www-form-urlencoded",
    )
    return empty_twiml()
