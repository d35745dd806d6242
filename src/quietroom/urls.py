from __future__ import annotations

from django.urls import include, path

from quietroom.api import api
from quietroom.core import views
from quietroom.messaging import views as messaging_views

urlpatterns = [
    path("api/", api.urls),
    # Sign-in, MFA and session management: allauth's headless API for the browser client.
    path("_allauth/", include("quietroom.accounts.urls")),
    # Quick exit's neutral landing page: plain HTML, not the web client (no script at all).
    path("exit", messaging_views.exit_page),
    *[path(route.lstrip("/"), views.spa) for route in sorted(views.SPA_ROUTES)],
]

handler400 = "quietroom.core.views.bad_request"
handler403 = "quietroom.core.views.forbidden"
handler404 = "quietroom.core.views.not_found"
handler500 = "quietroom.core.views.server_error"
