"""Mailgun's webhooks through anymail's own views, with the two checks Mailgun's guide
("Securing Webhooks") leaves to the receiver and anymail does not make.

Mailgun signs only a timestamp and a random token, not the message: anyone who captured
one signed request could post any other message with its signature, at any later time.
So a signature is refused when its timestamp is outside HELPDESK_WEBHOOK_MAX_AGE_MINUTES
of now, or when its token was used before within that time (kept in the cache). The window
covers Mailgun's retries (up to 8 hours after a failed delivery). A request that fails
after the checks gives its token back, so Mailgun's retry of it is taken.
"""

import json
import time
from typing import Any

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.webhooks.mailgun import MailgunInboundWebhookView, MailgunTrackingWebhookView
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

# A sender's clock a little ahead of ours is not an attack.
FUTURE_SKEW_SECONDS = 300


class FreshSignatureMixin:
    """Refuses stale and replayed Mailgun signatures (after anymail's own checks)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.run_validators(request)  # type: ignore[attr-defined]  # anymail's: auth, HMAC
        token, timestamp = _signature_fields(request)
        max_age = settings.HELPDESK_WEBHOOK_MAX_AGE_MINUTES * 60
        age = time.time() - timestamp
        if age > max_age or age < -FUTURE_SKEW_SECONDS:
            raise AnymailWebhookValidationFailure(
                f"Mailgun webhook signed {int(age)} s ago, outside the allowed window"
            )
        key = f"mailgun-token:{token}"
        if not cache.add(key, 1, timeout=max_age + FUTURE_SKEW_SECONDS):
            raise AnymailWebhookValidationFailure("Mailgun webhook token used before (replay)")
        try:
            return super().post(request, *args, **kwargs)  # type: ignore[misc]
        except Exception:
            cache.delete(key)  # not taken: Mailgun's retry of this request is welcome
            raise


def _signature_fields(request: HttpRequest) -> tuple[str, float]:
    """The token and timestamp anymail has just verified the signature of."""
    try:
        if request.content_type == "application/json":
            block = json.loads(request.body.decode("utf-8"))["signature"]
            return str(block["token"]), float(block["timestamp"])
        return request.POST["token"], float(request.POST["timestamp"])
    except (KeyError, ValueError, TypeError) as error:
        raise AnymailWebhookValidationFailure("Mailgun webhook without a timestamp") from error


class MailgunInboundView(FreshSignatureMixin, MailgunInboundWebhookView):
    pass


class MailgunTrackingView(FreshSignatureMixin, MailgunTrackingWebhookView):
    pass
