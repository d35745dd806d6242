"""ASGI entry point: HTTP goes to Django, WebSockets to Channels (served by uvicorn)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quietroom.settings")

from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402 - needs the app registry ready
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from quietroom.core.body_limit import BodySizeLimit  # noqa: E402
from quietroom.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodySizeLimit(django_asgi_app, settings.MAX_REQUEST_BYTES),
        # Only pages from the public origin may open a socket: this refuses cross-site
        # WebSocket hijacking (WS-01), including from other ports on the same host.
        "websocket": OriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns)), [settings.CONFIG.public_url]
        ),
    }
)
