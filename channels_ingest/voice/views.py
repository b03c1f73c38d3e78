"""Twilio's voice webhooks: the number's voice URL (a greeting, then a voicemail), the
voicemail's recording, and the call status callback (a finished call becomes a message on
the caller's ticket)."""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.twiml.voice_response import VoiceResponse

from channels_ingest import pipeline
from channels_ingest.errors import Rejected
from channels_ingest.sms.parse import phone_number
from channels_ingest.sms.twilio_webhook import empty_twiml, forbidden, is_signed_by_twilio
from channels_ingest.voice.parse import has_recording, voicemail_key
from helpdesk.languages import default_language

logger = logging.getLogger(__name__)

VOICEMAIL_SOURCE = "twilio-voicemail"
# The longest voicemail a caller may leave, in seconds (Twilio's own default is an hour).
VOICEMAIL_MAX_SECONDS = 180
# The voice Twilio reads the desk's language in.
_SPOKEN = {"de": "de-DE", "en": "en-US"}


@csrf_exempt
@require_POST
def twilio_incoming_call(request: HttpRequest) -> HttpResponse:
    """The number's voice URL: a greeting, then the caller's voicemail (<Record>, whose
    action brings it to twilio_voicemail). A caller whose number is withheld is told how
    to reach us instead: nobody could answer their voicemail."""
    if not is_signed_by_twilio(request):
        return forbidden()
    language = default_language()
    response = VoiceResponse()
    with translation.override(language):
        if _can_be_called_back(request.POST.get("From", "")):
            _say(
                response,
                gettext(
                    "Thank you for calling support. Please leave your message after the tone; "
                    "we will answer you as soon as we can."
                ),
                language,
            )
            response.record(
                action=settings.PUBLIC_BASE_URL + reverse("voice-twilio-voicemail"),
                max_length=VOICEMAIL_MAX_SECONDS,
                play_beep=True,
            )
            # Reached only when the caller said nothing (no action request then).
            _say(response, gettext("We did not hear a message. Goodbye."), language)
        else:
            _say(
                response,
                gettext(
                    "Your number is withheld, so we could not call you back. Please call again "
                    "showing your number, or write to us."
                ),
                language,
            )
    response.hangup()
    return _twiml(response)


@csrf_exempt
@require_POST
def twilio_voicemail(request: HttpRequest) -> HttpResponse:
    """<Record>'s action: the caller's voicemail, stored once per call, becomes a message
    on their ticket (processed after the answer). A caller who hung up at the tone left
    nothing to store."""
    body = request.body  # read before request.POST, which would consume the stream
    if not is_signed_by_twilio(request):
        return forbidden()
    sid = request.POST.get("CallSid", "").strip()
    if not sid:
        return HttpResponse("CallSid is required.", status=400, content_type="text/plain")
    response = VoiceResponse()
    if has_recording(request.POST):
        pipeline.receive(
            channel="phone",
            source=VOICEMAIL_SOURCE,
            key=voicemail_key(sid),
            payload=body,
            content_type=request.content_type or "application/x-www-form-urlencoded",
        )
        language = default_language()
        with translation.override(language):
            _say(response, gettext("Thank you, we have your message. Goodbye."), language)
    response.hangup()
    return _twiml(response)


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


def _can_be_called_back(caller: str) -> bool:
    try:
        phone_number(caller, role="caller")
    except Rejected:
        return False
    return True


def _say(response: VoiceResponse, text: str, language: str) -> None:
    response.say(text, language=_SPOKEN.get(language, "en-US"))


def _twiml(response: VoiceResponse) -> HttpResponse:
    return HttpResponse(response.to_xml(), content_type="text/xml")
