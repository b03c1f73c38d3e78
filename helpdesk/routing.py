"""WebSocket routes. The live agent workspace and chat add their consumers here."""

from typing import Any

websocket_urlpatterns: list[Any] = []
