"""WebSocket routes (the ASGI app checks the Origin and loads the session's user first)."""

from typing import Any

from django.urls import path

from channels_ingest.chat.consumers import CustomerChatConsumer
from tickets.consumers import AgentConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/agent/", AgentConsumer.as_asgi()),
    path("ws/chat/", CustomerChatConsumer.as_asgi()),
]
