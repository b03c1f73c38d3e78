"""The customer's chat page (/support/chat/), also shown in the embeddable widget's iframe."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET


@require_GET
@xframe_options_exempt  # the widget shows this page in an iframe on customers' websites
def chat_page(request: HttpRequest) -> HttpResponse:
    embedded = request.GET.get("embed") == "1"
    return render(request, "support/chat.html", {"embedded": embedded})
