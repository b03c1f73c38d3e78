"""Malformed JSON posted to a provider's inbound webhook is a 400, not a server error.

anymail's JSON webhooks (Postmark's, say) parse the body after checking who sent it, and
a body that is not JSON, or not a JSON object, raised there: a 500, which the provider
retries for days. What cannot be read is answered 400 (nothing stored); any other error
stays a 500, so that a fault of ours is retried and nothing is lost.
"""

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest


class MalformedWebhookJSON:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # Only a JSON body can be malformed JSON: any other error stays a 500, retried.
        if not request.path.startswith("/anymail/") or request.content_type != "application/json":
            return None
        if isinstance(exception, json.JSONDecodeError):
            return HttpResponseBadRequest("Malformed JSON.")
        if isinstance(exception, AttributeError | TypeError) and not _json_object(request):
            return HttpResponseBadRequest("Expected a JSON object.")
        return None


def _json_object(request: HttpRequest) -> bool:
    try:
        return isinstance(json.loads(request.body), dict)
    except ValueError:
        return False
