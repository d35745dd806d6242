from __future__ import annotations

from django.urls import include, path

from quietroom.api import api
from quietroom.core import views

urlpatterns = [
    path("api/", api.urls),
    # Sign-in, MFA and session management: allauth's headless API for the browser client.
    path("_allauth/", include("quietroom.accounts.urls")),
    *[path(route.lstrip("/"), views.spa) for route in sorted(views.SPA_ROUTES)],
]

handler400 = "quietroom.core.views.bad_request"
handler403 = "quietroom.core.views.forbidden"
handler404 = "quietroom.core.views.not_found"
handler500 = "quietroom.core.views.server_error"
