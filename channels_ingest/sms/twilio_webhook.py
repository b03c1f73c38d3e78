"""What every Twilio webhook shares: the signature check and the empty TwiML answer.

Used by the SMS and the voice views. Twilio signs the public URL it called plus the sorted
POST parameters with the account's Auth Token (HMAC-SHA1, header X-Twilio-Signature).
"""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from twilio.request_validator import SIGNATURE_HEADER, RequestValidator

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def public_url(request: HttpRequest) -> str:
    """The URL Twilio called: behind a proxy, request.build_absolute_uri() would differ."""
    return settings.PUBLIC_BASE_URL + request.get_full_path()


def is_signed_by_twilio(request: HttpRequest) -> bool:
    """True when the request carries a valid signature; logs why at warning when not."""
    token = settings.TWILIO_AUTH_TOKEN
    if not token:
        logger.warning("Twilio webhook %s refused: TWILIO_AUTH_TOKEN is not set", request.path)
        return False
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature:
        logger.warning("Twilio webhook %s refused: no %s header", request.path, SIGNATURE_HEADER)
        return False
    url = public_url(request)
    if not RequestValidator(token).validate(url, request.POST, signature):
        logger.warning(
            "Twilio webhook refused: bad signature for %s (is PUBLIC_BASE_URL the address "
            "Twilio calls?)",
            url,
        )
        return False
    return True


def forbidden() -> HttpResponse:
    return HttpResponse(
        "Invalid or missing Twilio signature.", status=403, content_type="text/plain"
    )


def empty_twiml() -> HttpResponse:
    """A valid TwiML document that tells Twilio to do nothing (no auto-reply)."""
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
