from __future__ import annotations

from django.urls import path

from quietroom.realtime.consumers import EventsConsumer

websocket_urlpatterns = [
    path("ws/events", EventsConsumer.as_asgi()),
]
